"""Flow pictures: the visualizer and its hook (mmseg registries)."""
from .flow_local_visualizer import (FlowLocalVisualizer,  # noqa: F401
                                    error_to_rgb, flow_to_rgb)
from .flow_visualization_hook import FlowVisualizationHook  # noqa: F401
