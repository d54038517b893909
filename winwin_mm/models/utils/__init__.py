from .temperature import (NoTemperatureError, Temperature, TemperatureMixin,
                          collect_temperature_modules)

__all__ = ['NoTemperatureError', 'Temperature', 'TemperatureMixin',
           'collect_temperature_modules']
