
from .rope_vit import RoPEVisionTransformer  # noqa: F401
