from .convnext_head import ConvNeXtHead
from .win_dpt_head import WinDPTHead
from .depth_heads import (ConvNeXtDepthHead, DepthHeadMixin,  # noqa: E402
                          WinDPTDepthHead)

__all__ = ['ConvNeXtHead', 'WinDPTHead', 'ConvNeXtDepthHead',
           'DepthHeadMixin', 'WinDPTDepthHead']
