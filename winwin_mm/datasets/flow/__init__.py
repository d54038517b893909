"""Optical flow data: file formats and the standard datasets' layouts."""
from .base import BaseFlowDataset  # noqa: F401
from .chairs import FlyingChairsDataset  # noqa: F401
from .io import FlowReadError, read_flow, write_flow, write_pfm  # noqa: F401
from .kitti import KITTIFlowDataset  # noqa: F401
from .sintel import SintelDataset  # noqa: F401
from .spring import SpringDataset  # noqa: F401
from .tartanair import TartanAirDataset  # noqa: F401
from .things import FlyingThings3DDataset  # noqa: F401
