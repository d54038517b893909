from .convnext_head import ConvNeXtHead
from .token_linear_head import TokenLinearHead
from .win_dpt_head import WinDPTHead
from .depth_heads import (ConvNeXtDepthHead, DepthHeadMixin,  # noqa: E402
                          WinDPTDepthHead)

__all__ = ['ConvNeXtHead', 'TokenLinearHead', 'WinDPTHead',
           'ConvNeXtDepthHead', 'DepthHeadMixin', 'WinDPTDepthHead']
