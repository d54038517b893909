from .rope_cross_decoder import RoPECrossDecoder  # noqa: F401
