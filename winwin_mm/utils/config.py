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
