from .tokens import TokenLayout, WindowSizes
from .windows import (as_window_list, check_extra_tokens, check_windows,
                      crop_windows, max_window_size)

__all__ = ['TokenLayout', 'WindowSizes', 'as_window_list',
           'check_extra_tokens', 'check_windows',
           'crop_windows', 'max_window_size']
