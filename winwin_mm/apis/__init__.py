from .flow import inference_flow
from .inference import init_model
from .inferencers import (WinWinFlowInferencer, WinWinSegInferencer,
                          flow_to_bgr)

__all__ = ['init_model', 'inference_flow', 'WinWinSegInferencer',
           'WinWinFlowInferencer', 'flow_to_bgr']
