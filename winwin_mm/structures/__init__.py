from .windows import (as_window_list, check_windows, crop_windows,
                      max_window_size)

__all__ = ['as_window_list', 'check_windows', 'crop_windows',
           'max_window_size']
