from .convnext_head import ConvNeXtHead
from .win_dpt_head import (WinDPTHead, convert_croco_dpt_state_dict,
                           croco_dpt_key_map)

__all__ = [
    'ConvNeXtHead', 'WinDPTHead', 'convert_croco_dpt_state_dict',
    'croco_dpt_key_map'
]
from .depth_heads import (ConvNeXtDepthHead, DepthHeadMixin,  # noqa: E402
                          WinDPTDepthHead)

__all__ += ['ConvNeXtDepthHead', 'DepthHeadMixin', 'WinDPTDepthHead']
