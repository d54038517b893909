from .winwin_encoder_decoder import WinWinEncoderDecoder  # noqa: F401
