from .cross_view_completion import CrossViewCompletion

__all__ = ['CrossViewCompletion']
