"""Distributed training on machines without CUDA (gloo)."""
import datetime
import os

import torch
import torch.distributed as dist
from mmengine.config import Config
from mmengine.logging import print_log


def setup_cpu_distributed(cfg: Config) -> None:
    """Let ``--launcher pytorch`` (``tools/dist_train.sh``, torchrun) run
    without CUDA: the process group is created here with the ``gloo``
    backend (mmengine's ``init_dist`` would call ``torch.cuda.set_device``
    and default to NCCL), and ``MMDistributedDataParallel`` gets no device
    ids (a CPU module takes none). A no-op with CUDA or without a launcher.

    Args:
        cfg: the run's config (``launcher``, ``env_cfg``,
            ``model_wrapper_cfg`` are read and updated).

    Raises:
        RuntimeError: a launcher other than ``pytorch`` on a CPU machine.
    """
    launcher = cfg.get('launcher', 'none')
    if launcher == 'none' or torch.cuda.is_available():
        return
    if launcher != 'pytorch':
        raise RuntimeError(
            f'--launcher {launcher} without CUDA is not supported; on CPU '
            'machines start the processes with torchrun (tools/dist_train.sh, '
            'or srun ... torchrun for Slurm) and --launcher pytorch')
    env_cfg = cfg.get('env_cfg') or {}
    dist_cfg = dict(env_cfg.get('dist_cfg') or {})
    if dist_cfg.get('backend', 'gloo') != 'gloo':
        print_log(f"no CUDA: dist_cfg.backend '{dist_cfg['backend']}' "
                  "replaced by 'gloo'", 'current', 30)
    dist_cfg['backend'] = 'gloo'
    env_cfg['dist_cfg'] = dist_cfg
    cfg.env_cfg = env_cfg
    if not dist.is_initialized():
        timeout = dist_cfg.get('timeout')
        dist.init_process_group(
            backend='gloo', rank=int(os.environ['RANK']),
            world_size=int(os.environ['WORLD_SIZE']),
            **({} if timeout is None else
               dict(timeout=datetime.timedelta(seconds=timeout))))
    wrapper = dict(cfg.get('model_wrapper_cfg') or {})
    wrapper.setdefault('type', 'MMDistributedDataParallel')
    if wrapper['type'].split('.')[-1] == 'MMDistributedDataParallel':
        wrapper['device_ids'] = None
        wrapper.setdefault('broadcast_buffers', False)
        wrapper.setdefault('find_unused_parameters',
                           cfg.get('find_unused_parameters', False))
    cfg.model_wrapper_cfg = wrapper
