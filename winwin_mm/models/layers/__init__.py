from .attention import (RoPEAttention, RoPECrossAttention,
                        is_temperature_attention, rope_attention)
from .cross_block import RoPECrossBlock
from .rope import activation_dtype, apply_rope_2d, rope_2d_tables
from .transformer_block import Mlp, RoPEBlock
from .window_attention import (WindowAttentionPlan, plan_window_attention,
                               window_partition, window_unpartition)

__all__ = ['RoPEAttention', 'RoPECrossAttention', 'is_temperature_attention',
           'rope_attention', 'activation_dtype', 'apply_rope_2d',
           'rope_2d_tables', 'Mlp', 'RoPEBlock', 'RoPECrossBlock',
           'WindowAttentionPlan', 'plan_window_attention', 'window_partition',
           'window_unpartition']
