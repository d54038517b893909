from .random_windows import RandomWindows  # noqa: F401
from .load_flow_pair import LoadFlowPair  # noqa: F401
