"""Config loading shared by the command-line tools."""
import os.path as osp
from typing import Optional

from mmengine.config import Config


def load_run_config(path: str, cfg_options: Optional[dict] = None,
                    work_dir: Optional[str] = None,
                    launcher: str = 'none') -> Config:
    """Read a config as mmseg's tools do: ``--cfg-options`` merged, the work
    dir from the argument, else the config, else ``work_dirs/<name>``.

    Args:
        path: config file.
        cfg_options: ``--cfg-options`` overrides (already parsed).
        work_dir: ``--work-dir``.
        launcher: ``--launcher``.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'config file {path} does not exist')
    cfg = Config.fromfile(path)
    cfg.launcher = launcher
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(path))[0])
    return cfg


def set_amp(optim_wrapper: dict, cuda: bool) -> None:
    """Switch ``optim_wrapper`` (a config dict, edited in place) to mixed
    precision: mmengine's ``AmpOptimWrapper`` (fp16, dynamic loss scaling)
    on CUDA, ``BF16OptimWrapper`` (bf16 autocast, no scaler) elsewhere,
    where ``AmpOptimWrapper`` refuses to start. A wrapper that is already
    mixed precision is kept."""
    if optim_wrapper.get('type') in ('AmpOptimWrapper', 'BF16OptimWrapper'):
        return
    if cuda:
        optim_wrapper.update(type='AmpOptimWrapper', loss_scale='dynamic')
    else:
        optim_wrapper.update(type='BF16OptimWrapper')
