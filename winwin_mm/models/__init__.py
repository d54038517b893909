from . import backbones, decode_heads, layers, segmentors  # noqa: F401
