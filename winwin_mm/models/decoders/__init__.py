from .rope_cross_decoder import RoPECrossDecoder  # noqa: F401
from .matching_readout import MatchingFlowReadout  # noqa: F401
