from .flow import inference_flow

__all__ = ['inference_flow']
