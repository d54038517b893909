"""winwin_mm: an OpenMMLab plugin (``custom_imports``) for Win-Win training.

``install_requires`` lists what ``import winwin_mm`` needs, as compatible
ranges, and the extras what some configs and tools add;
``requirements.txt`` is the exact, tested set that ``scripts/setup_env.sh``
installs. torch carries a lower bound only: install it first (the build
that matches your CUDA) and pip keeps it. mmcv needs its compiled ops
(the README's installation section: the setup script builds them once).
"""
from setuptools import find_packages, setup

INSTALL_REQUIRES = [
    'torch>=2.5',  # torch.serialization.safe_globals (safe checkpoints)
    'mmengine>=0.10.0,<1.0.0',
    'mmcv>=2.0.0,<2.2.0',  # the range mmsegmentation 1.2 accepts
    'mmsegmentation>=1.2.0,<2.0.0',
    'mmpretrain>=1.2.0,<2.0.0',  # ConvNeXt blocks, layer-wise lr decay
    'numpy>=1.23',
    'opencv-python>=4.5',
    'matplotlib>=3.5',  # temperature-search plots
    'prettytable>=3.0',  # FlowMetric's table
    # mmseg.utils imports its CLIP tokenizer, which needs these two, but
    # mmsegmentation does not declare them.
    'ftfy>=6.0',
    'regex>=2022.1.18',
]

EXTRAS = {
    # the Win-Win backbones inside mmdet detectors (docs/detection.md)
    'mmdet': ['mmdet>=3.0.0,<4.0.0'],
    # Spring's .flo5 optical flow files are HDF5
    'flow': ['h5py>=3.0'],
    # mmseg's Albu transform of the depth configs (NYU and generated rooms)
    'depth': ['albumentations>=1.3'],
    # ONNX export (torch.export -> onnxscript) and ONNX Runtime
    # (winwin_mm.deployment, tools/deployment/pytorch2onnx.py)
    'onnx': ['onnx>=1.16', 'onnxscript>=0.3', 'onnxruntime>=1.18'],
}
EXTRAS['all'] = sorted({r for reqs in EXTRAS.values() for r in reqs})
EXTRAS['tests'] = EXTRAS['all'] + ['pytest>=7.0']

setup(
    name='winwin_mm',
    version='0.1.0',
    description='Win-Win high-resolution ViT training for OpenMMLab',
    packages=find_packages(include=['winwin_mm', 'winwin_mm.*']),
    python_requires='>=3.10',
    install_requires=INSTALL_REQUIRES,
    extras_require=EXTRAS,
)
