from .flow_inferencer import WinWinFlowInferencer, flow_to_bgr
from .memory import InferenceMemoryError, estimate_bytes
from .seg_inferencer import WinWinSegInferencer

__all__ = ['WinWinSegInferencer', 'WinWinFlowInferencer', 'flow_to_bgr',
           'InferenceMemoryError', 'estimate_bytes']
