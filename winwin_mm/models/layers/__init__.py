from .attention import RoPEAttention
from .rope import apply_rope_2d, rope_2d_tables
from .transformer_block import Mlp, RoPEBlock

__all__ = ['RoPEAttention', 'apply_rope_2d', 'rope_2d_tables', 'Mlp',
           'RoPEBlock']
