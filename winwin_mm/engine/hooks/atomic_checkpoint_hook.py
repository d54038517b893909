"""Checkpoints that a killed run never leaves half-written."""
import glob
import os
import os.path as osp

from mmengine.dist import is_main_process
from mmengine.fileio import LocalBackend
from mmengine.hooks import CheckpointHook
from mmengine.logging import print_log
from mmseg.registry import HOOKS

TMP_SUFFIX = '.tmp'  # "iter_4.pth.tmp": not matched by "*.pth"


def _fsync(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish(tmp: str, path: str) -> None:
    """Move the complete file ``tmp`` to ``path`` in one step: ``path`` is
    the old file or the new one, never a mix (POSIX ``rename``)."""
    _fsync(tmp)
    os.replace(tmp, path)
    try:  # make the rename itself durable (power loss, not only SIGKILL)
        _fsync(osp.dirname(osp.abspath(path)))
    except OSError:
        pass


def write_text_atomic(path: str, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename."""
    tmp = path + TMP_SUFFIX
    with open(tmp, 'w') as f:
        f.write(text)
    publish(tmp, path)


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """mmengine's ``CheckpointHook`` (same arguments) with crash-safe files.

    Each checkpoint is written to ``NAME.tmp`` and renamed to ``NAME`` once
    complete; ``last_checkpoint`` (what ``--resume`` reads) is then replaced
    the same way, and only after that are checkpoints beyond
    ``max_keep_ckpts`` deleted. So a run killed at any moment, including
    while writing, leaves ``last_checkpoint`` naming a complete file, and a
    half-written one is never picked up by ``--resume``. Leftover ``*.tmp``
    files of a killed run are removed when training starts.

    ``tools/train.py`` puts it in place of ``default_hooks.checkpoint`` of
    type ``CheckpointHook``. Remote ``out_dir`` backends (no rename) and
    ``save_best`` checkpoints are written as mmengine does.
    """

    def before_train(self, runner) -> None:
        super().before_train(runner)
        if self._atomic and is_main_process():
            for tmp in glob.glob(osp.join(self.out_dir, '*' + TMP_SUFFIX)):
                print_log(f'removing {tmp}, left by a run killed while '
                          'writing it', 'current', 30)
                os.remove(tmp)

    @property
    def _atomic(self) -> bool:
        return isinstance(self.file_backend, LocalBackend)

    def _save_checkpoint_with_step(self, runner, step, meta) -> None:
        if not self._atomic:
            return super()._save_checkpoint_with_step(runner, step, meta)
        name = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, name)
        stale = self._update_keep_list(runner, step)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        runner.save_checkpoint(
            self.out_dir, name + TMP_SUFFIX, self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler, meta=meta,
            by_epoch=self.by_epoch, backend_args=self.backend_args,
            **self.args)
        if not is_main_process():  # only the main process writes files
            return
        publish(self.last_ckpt + TMP_SUFFIX, self.last_ckpt)
        write_text_atomic(osp.join(runner.work_dir, 'last_checkpoint'),
                          self.last_ckpt)
        for old in stale:  # only now: the new checkpoint is complete
            path = self.file_backend.join_path(self.out_dir,
                                               self.filename_tmpl.format(old))
            if osp.isfile(path):
                os.remove(path)

    def _update_keep_list(self, runner, step: int) -> list:
        """Record ``step`` among the kept checkpoints; return the steps that
        fall out of ``max_keep_ckpts`` (deleted after the save)."""
        if self.max_keep_ckpts <= 0 or (self.keep_ckpt_ids
                                        and self.keep_ckpt_ids[-1] == step):
            return []
        ids = list(self.keep_ckpt_ids) + [step]
        stale = ids[:-self.max_keep_ckpts]
        self.keep_ckpt_ids.clear()  # a deque, possibly with a maxlen
        self.keep_ckpt_ids.extend(ids[-self.max_keep_ckpts:])
        runner.message_hub.update_info('keep_ckpt_ids',
                                       list(self.keep_ckpt_ids))
        return stale
