from setuptools import find_packages, setup

setup(
    name='winwin_mm',
    version='0.1.0',
    description='Win-Win high-resolution ViT training for OpenMMLab',
    packages=find_packages(include=['winwin_mm', 'winwin_mm.*']),
    python_requires='>=3.10',
    # The stack is pinned and installed by scripts/setup_env.sh (mmcv needs a
    # compiled build), so no install_requires here: pip must not swap torch.
    install_requires=[],
)
