from . import (backbones, data_preprocessors, decode_heads,  # noqa: F401
               decoders, layers, losses, necks, pretrainers, segmentors)
