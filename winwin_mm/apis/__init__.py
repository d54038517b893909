from .flow import inference_flow
from .inference import init_model

__all__ = ['init_model', 'inference_flow']
