from .random_windows import RandomWindows  # noqa: F401
