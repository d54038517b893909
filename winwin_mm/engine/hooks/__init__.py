from .safe_checkpoint_hook import SafeCheckpointHook  # noqa: F401
from .temperature_hook import TemperatureTuningHook  # noqa: F401
from .skipped_samples_hook import SkippedSamplesHook  # noqa: F401
from .train_time_hook import TrainTimeHook  # noqa: F401
