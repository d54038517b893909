from .attention import (RoPEAttention, RoPECrossAttention,
                        is_temperature_attention, rope_attention)
from .cross_block import RoPECrossBlock
from .rope import apply_rope_2d, rope_2d_tables
from .transformer_block import Mlp, RoPEBlock

__all__ = ['RoPEAttention', 'RoPECrossAttention', 'is_temperature_attention',
           'rope_attention', 'apply_rope_2d', 'rope_2d_tables', 'Mlp',
           'RoPEBlock', 'RoPECrossBlock']
