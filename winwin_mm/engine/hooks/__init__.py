from .safe_checkpoint_hook import SafeCheckpointHook  # noqa: F401
