from . import transforms  # noqa: F401
from .generated import (  # noqa: F401
    SyntheticFlowDataset, SyntheticNYUDataset, SyntheticSceneDataset,
    generate_bdd100k_layout, generate_nyu_layout, generate_sintel_layout,
    generate_synthetic_scenes)
from .flow import (  # noqa: F401
    BaseFlowDataset, FlowReadError, FlyingChairsDataset,
    FlyingThings3DDataset, KITTIFlowDataset, SintelDataset, SpringDataset,
    TartanAirDataset, read_flow, write_flow, write_pfm)
from .checked_dataset import (  # noqa: F401
    CheckedDataset, UnreadableSampleError)
