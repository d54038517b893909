from .laplacian_flow_loss import (LaplacianFlowLoss, flow_valid_mask,
                                  laplacian_scale)

__all__ = ['LaplacianFlowLoss', 'flow_valid_mask', 'laplacian_scale']
