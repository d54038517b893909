"""Shared by the end-to-end tests: run the tools as a user would, and shrink
the paper's BDD100K config to a tiny model through --cfg-options."""
import os.path as osp
import subprocess
import sys
from typing import List

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
BDD_CONFIG = osp.join(ROOT, 'configs', 'winwin', 'vitb_2win22_bdd.py')


def run_tool(*args: str, ok: bool = True) -> str:
    """Run ``python ARGS`` from the repository root; return stdout+stderr."""
    proc = subprocess.run([sys.executable, *args], cwd=ROOT, text=True,
                          capture_output=True, timeout=600)
    out = proc.stdout + proc.stderr
    assert (proc.returncode == 0) == ok, out[-4000:]
    return out


def data_options(data_root) -> List[str]:
    """All three dataloaders on ``data_root``, in-process loading."""
    return [f'{split}_dataloader.{key}'
            for split in ('train', 'val', 'test')
            for key in (f'dataset.data_root={data_root}', 'num_workers=0',
                        'persistent_workers=False')]


def tiny_bdd_options(data_root, max_iters: int = 4) -> List[str]:
    """``vitb_2win22_bdd.py`` with a 2-block, 64-dim ViT, 2 windows of 4x4
    tokens and a 4-iteration schedule (checkpoints every 2)."""
    return data_options(data_root) + [
        'model.backbone.init_cfg=None', 'model.backbone.arch=None',
        'model.backbone.embed_dims=64', 'model.backbone.num_layers=2',
        'model.backbone.num_heads=2', 'model.backbone.out_indices=[1]',
        'model.decode_head.in_channels=64', 'model.decode_head.channels=32',
        'model.decode_head.num_convs=1',
        # RandomWindows is step 4 of the train pipeline.
        'train_dataloader.dataset.pipeline.4.window_size=4',
        f'train_cfg.max_iters={max_iters}', 'train_cfg.val_interval=4',
        'default_hooks.checkpoint.interval=2',
        'default_hooks.logger.interval=1', 'param_scheduler.0.end=2',
        'param_scheduler.1.begin=2', 'param_scheduler.1.end=4',
        'randomness.seed=0']


def tiny_nyu_options(data_root) -> List[str]:
    """``vitb_2win14_nyu.py`` with a 2-block, 64-dim ViT, 2 windows of 2x2
    tokens, 3 iterations and temperature tuning on 2 images."""
    return data_options(data_root) + [
        'model.backbone.init_cfg=None', 'model.backbone.arch=None',
        'model.backbone.embed_dims=64', 'model.backbone.num_layers=2',
        'model.backbone.num_heads=2', 'model.backbone.out_indices=[1]',
        'model.decode_head.in_channels=64', 'model.decode_head.channels=32',
        'model.decode_head.num_convs=1',
        # RandomWindows is step 4 of the train pipeline: 2 windows of 2x2
        # tokens out of the 8x6 of a 128x96 image.
        'train_dataloader.dataset.pipeline.4.window_size=2',
        'train_dataloader.batch_size=2', 'train_cfg.max_iters=3',
        'train_cfg.val_interval=3', 'default_hooks.checkpoint.interval=3',
        'default_hooks.logger.interval=1', 'param_scheduler.0.end=1',
        'param_scheduler.1.begin=1', 'param_scheduler.1.end=3',
        'custom_hooks.0.progress=False', 'custom_hooks.0.num_images=2',
        'randomness.seed=0']
