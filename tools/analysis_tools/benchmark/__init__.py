"""Side-by-side cost benchmark: Win-Win vs full resolution, ViTDet-style
attention, crop training and tiling (``tools/benchmark.py``)."""
from .cases import ALL_BASES, Case, build_cases
from .flops import (convnext_head_flops, decoder_flops, dpt_head_flops,
                    flow_pass_flops, seg_step_flops, vit_flops)
from .runner import run_benchmark

__all__ = ['ALL_BASES', 'Case', 'build_cases', 'convnext_head_flops',
           'decoder_flops', 'dpt_head_flops', 'flow_pass_flops',
           'seg_step_flops', 'vit_flops', 'run_benchmark']
