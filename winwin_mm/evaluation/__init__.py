"""Evaluation: metrics registered in mmseg's METRICS."""
from .metrics import FlowMetric, flow_epe_map, flow_error_sums  # noqa: F401
