from .flow_data_preprocessor import FlowDataPreProcessor

__all__ = ['FlowDataPreProcessor']
