from .winwin_mixin import WinWinMixin  # noqa: F401
from .winwin_encoder_decoder import WinWinEncoderDecoder  # noqa: F401
from .winwin_depth_estimator import WinWinDepthEstimator  # noqa: F401
from .winwin_flow_estimator import WinWinFlowEstimator  # noqa: F401
