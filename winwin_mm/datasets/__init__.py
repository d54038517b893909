from . import transforms  # noqa: F401
from .synthetic_seg import (  # noqa: F401
    SyntheticSceneDataset, generate_bdd100k_layout, generate_synthetic_scenes)
from .synthetic_depth import (  # noqa: F401
    SyntheticNYUDataset, generate_nyu_layout)
from .flow import (  # noqa: F401
    BaseFlowDataset, FlowReadError, FlyingChairsDataset,
    FlyingThings3DDataset, KITTIFlowDataset, SintelDataset, SpringDataset,
    TartanAirDataset, read_flow, write_flow, write_pfm)
from .synthetic_flow import (  # noqa: F401
    SyntheticFlowDataset, generate_sintel_layout)
from .checked_dataset import (  # noqa: F401
    CheckedDataset, UnreadableSampleError)
