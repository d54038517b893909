from .safe_checkpoint_hook import SafeCheckpointHook  # noqa: F401
from .temperature_hook import TemperatureTuningHook  # noqa: F401
