"""Imported by a training run of tests/test_fault_tolerance.py (through
``custom_imports``): kill the process with SIGKILL in the middle of writing
a checkpoint, as a power cut or the OOM killer would."""
import os
import signal

from mmengine.fileio import LocalBackend
from mmengine.hooks import Hook
from mmseg.registry import HOOKS


def _write_half_then_die(backend, obj: bytes, filepath) -> None:
    with open(filepath, 'wb') as f:
        f.write(obj[:len(obj) // 2])
        f.flush()
        os.fsync(f.fileno())
    os.kill(os.getpid(), signal.SIGKILL)


@HOOKS.register_module()
class KillWhileSavingHook(Hook):
    """SIGKILL while the checkpoint of iteration ``at_iter`` is being
    written (half of its bytes are on disk).

    Args:
        at_iter: the iteration whose checkpoint is interrupted.
    """

    def __init__(self, at_iter: int) -> None:
        self.at_iter = at_iter

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if checkpoint['meta']['iter'] == self.at_iter:
            LocalBackend.put = _write_half_then_die
