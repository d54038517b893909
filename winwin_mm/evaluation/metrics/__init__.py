from .flow_errors import SPEED_BINS, flow_epe_map, flow_error_sums
from .flow_metric import FlowMetric

__all__ = ['FlowMetric', 'SPEED_BINS', 'flow_epe_map', 'flow_error_sums']
