from .flow_inferencer import WinWinFlowInferencer, flow_to_bgr
from .seg_inferencer import WinWinSegInferencer

__all__ = ['WinWinSegInferencer', 'WinWinFlowInferencer', 'flow_to_bgr']
