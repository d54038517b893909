"""Export the one-pass segmentation, depth and flow models to ONNX and run
the result with ONNX Runtime.

The exported graph is :class:`OnePassExportModule`: raw ``[0, 255]`` float32
pixels of any height and width in (normalisation and padding to the patch
multiple happen inside the graph), predictions at the same height and width
out. Height and width are dynamic axes; the batch is fixed at export.
"""
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn as nn

from .export_module import OnePassExportModule

INSTALL_HINT = ('ONNX export and runtime need onnx, onnxscript and '
                'onnxruntime: pip install -e ".[onnx]" (or pip install -r '
                'requirements.txt)')
DEFAULT_OPSET = 18


def _require(*names: str) -> None:
    """Import the named packages or raise an ImportError saying how to
    install them (they are optional for ``import winwin_mm``)."""
    for name in names:
        try:
            __import__(name)
        except ImportError as err:
            raise ImportError(f'{INSTALL_HINT} (missing: {name})') from err


def export_onnx(model: nn.Module,
                task: Optional[str],
                out_file: str,
                example_hw: Tuple[int, int] = (64, 96),
                opset: int = DEFAULT_OPSET,
                batch_size: int = 1) -> str:
    """Write ``model``'s one-pass inference as an ONNX graph.

    The graph (see :class:`OnePassExportModule`) takes

    - seg / depth: ``image`` float32 ``(B, 3, H, W)``;
    - flow: ``frame1`` and ``frame2``, each float32 ``(B, 3, H, W)``;

    raw pixels in ``[0, 255]`` in the channel order of the model's data
    preprocessor input (BGR as mmcv/OpenCV read files, for the shipped
    configs). ``H`` and ``W`` are dynamic (any size from 17 pixels, two
    patches, up) and need not be multiples of the patch size: the graph
    normalises, pads right/bottom to the patch multiple and crops its
    outputs back. The batch ``B`` is fixed to ``batch_size``: the models
    keep per-image Python lists (window sizes), which torch.export
    unrolls for the example's batch. It returns

    - seg: ``logits`` ``(B, num_classes, H, W)``;
    - depth: ``depth`` ``(B, 1, H, W)`` in metres;
    - flow: ``flow`` ``(B, 2, H, W)`` (u, v) in pixels and ``flow_conf``
      ``(B, 1, H, W)``.

    Args:
        model: a built one-pass model (``init_model``), any device.
        task: ``'seg'``, ``'depth'``, ``'flow'`` or None (from the model).
        out_file: the ``.onnx`` file to write (folders are created).
        example_hw: ``(H, W)`` of the random example the exporter traces
            (at least 17 each); the graph is not tied to it.
        opset: ONNX opset version (default 18).
        batch_size: ``B``, the batch the graph takes.

    Returns:
        ``out_file``.

    Raises:
        ImportError: onnx / onnxscript are not installed.
        RuntimeError: the graph would be tied to the example's size.
    """
    _require('onnx', 'onnxscript')
    module = OnePassExportModule(model, task).eval()
    device = next(model.parameters()).device
    H, W = example_hw
    gen = torch.Generator().manual_seed(0)
    args = tuple(
        (torch.rand(batch_size, 3, H, W, generator=gen) * 255).to(device)
        for _ in module.input_names)
    program = torch.onnx.export(
        export_program(module, args), args, dynamo=True,
        opset_version=opset, input_names=list(module.input_names),
        output_names=list(module.output_names), external_data=False,
        verbose=False)
    os.makedirs(osp.dirname(osp.abspath(out_file)), exist_ok=True)
    program.save(out_file)
    return out_file


def export_program(module: OnePassExportModule,
                   args: Tuple[torch.Tensor, ...]
                   ) -> torch.export.ExportedProgram:
    """``torch.export`` of ``module`` with symbolic height and width.

    torch.export traces H and W as symbols, so the padding, the token grid,
    the RoPE tables and the crop are computed from the input's shape inside
    the graph. The TorchScript exporter (``dynamo=False``) records Python
    integers for them, so its graph is right at the example size only; and
    ``torch.onnx.export(dynamo=True)`` on the module itself falls back to
    such a trace when torch.export fails, so torch.export runs here, where
    a failure is an error.

    Raises:
        RuntimeError: the exported graph fixed H or W to the example's.
    """
    dims = {2: torch.export.Dim.AUTO, 3: torch.export.Dim.AUTO}
    with torch.no_grad():
        program = torch.export.export(
            module, args, dynamic_shapes=tuple(dict(dims) for _ in args),
            strict=False)
    # Dim.AUTO keeps a dimension symbolic unless the code needs its value;
    # the batch stays fixed (the model keeps per-image Python lists).
    for node in program.graph.nodes:
        if node.op == 'placeholder' and node.name in module.input_names:
            shape = node.meta['val'].shape
            if any(isinstance(s, int) for s in shape[2:]):
                raise RuntimeError(
                    f'torch.export fixed the size of {node.name} to '
                    f'{tuple(shape)}: the graph would not take other sizes')
    return program


class OnnxRuntimeModel:
    """An exported graph run by ONNX Runtime on numpy arrays.

    Example::

        ort = OnnxRuntimeModel('work_dirs/seg.onnx')
        logits = ort(image)[0]  # image: float32 (1, 3, H, W), 0-255 BGR

    Args:
        path: the ``.onnx`` file written by :func:`export_onnx`.
        providers: ONNX Runtime execution providers (default CPU).
        num_threads: intra-op threads (None = ONNX Runtime's default).
    """

    def __init__(self, path: str,
                 providers: Optional[Sequence[str]] = None,
                 num_threads: Optional[int] = None) -> None:
        _require('onnxruntime')
        import onnxruntime as ort
        options = ort.SessionOptions()
        if num_threads is not None:
            options.intra_op_num_threads = int(num_threads)
        self.path = path
        self.session = ort.InferenceSession(
            path, sess_options=options,
            providers=list(providers or ['CPUExecutionProvider']))
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.output_names = [o.name for o in self.session.get_outputs()]

    def __call__(self, *arrays: np.ndarray) -> List[np.ndarray]:
        """Run the graph on its inputs in order (``image``, or ``frame1,
        frame2``); returns its outputs in order as numpy arrays."""
        if len(arrays) != len(self.input_names):
            raise ValueError(f'{self.path} takes {len(self.input_names)} '
                             f'inputs {self.input_names}, got {len(arrays)}')
        feed = {name: np.ascontiguousarray(a, dtype=np.float32)
                for name, a in zip(self.input_names, arrays)}
        return self.session.run(self.output_names, feed)

    def run_dict(self, *arrays: np.ndarray) -> Dict[str, np.ndarray]:
        """:meth:`__call__` with the outputs by name."""
        return dict(zip(self.output_names, self(*arrays)))


def torch_reference(model: nn.Module, *arrays: Union[np.ndarray,
                                                     torch.Tensor],
                    task: Optional[str] = None) -> List[np.ndarray]:
    """What the exported graph computes, run in PyTorch (for checks)."""
    module = OnePassExportModule(model, task).eval()
    device = next(model.parameters()).device
    with torch.no_grad():
        out = module(*[torch.as_tensor(a, dtype=torch.float32).to(device)
                       for a in arrays])
    out = out if isinstance(out, tuple) else (out, )
    return [o.cpu().numpy() for o in out]
