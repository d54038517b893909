from .random_windows import RandomWindows  # noqa: F401
from .load_flow_pair import LoadFlowPair  # noqa: F401
from .flow_geometric import (FlowRandomCrop, FlowRandomFlip,  # noqa: F401
                             FlowRandomScale)
from .flow_guided_windows import FlowGuidedWindows  # noqa: F401
from .flow_photometric import FlowColorJitter  # noqa: F401
from .flow_resize import resize_flow, resize_sparse_flow  # noqa: F401
from .pack_flow_inputs import PackFlowInputs  # noqa: F401
