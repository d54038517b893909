"""Export of the one-pass models (ONNX) and a runtime wrapper.

onnx / onnxruntime are imported only inside the functions that need them,
so ``import winwin_mm`` works without them (``pip install -e .[onnx]``).
"""
from .export_module import TASKS, OnePassExportModule, infer_task
from .onnx_export import OnnxRuntimeModel, export_onnx

__all__ = ['TASKS', 'OnePassExportModule', 'infer_task', 'export_onnx',
           'OnnxRuntimeModel']
