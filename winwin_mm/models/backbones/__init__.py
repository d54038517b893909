
from .rope_vit import RoPEVisionTransformer  # noqa: F401
from .iwin import IwinTransformer  # noqa: F401
