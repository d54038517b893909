"""mmengine's CheckpointHook with checkpoints that load safely, are never
half-written, and resume with the same random numbers."""
import glob
import os
import os.path as osp
from typing import Callable, Iterator, List, Optional

from mmengine.dist import all_gather_object, is_main_process
from mmengine.fileio import LocalBackend
from mmengine.hooks import CheckpointHook
from mmengine.logging import print_log
from mmengine.runner import IterBasedTrainLoop
from mmseg.registry import HOOKS

from ...utils.checkpoint import (TMP_SUFFIX, publish,  # noqa: F401
                                 restore_history_buffers, to_safe_types,
                                 write_text_atomic)
from ...utils.rng_state import get_rng_states, set_rng_states

RNG_KEY = 'rng_states'  # checkpoint key: one state dict per process


class _RestoreAfter:
    """Iterator proxy that calls ``action`` once, after ``skip`` items were
    taken and before the next one: IterBasedTrainLoop replays the batches a
    resumed run already trained on (consuming random numbers in the data
    pipeline) before fetching the first new one."""

    def __init__(self, iterator: Iterator, skip: int,
                 action: Callable[[], None]) -> None:
        self._iterator, self._left, self._action = iterator, skip, action

    def __iter__(self) -> '_RestoreAfter':
        return self

    def __next__(self):
        if self._left == 0 and self._action is not None:
            self._action()
            self._action = None
        self._left -= 1
        return next(self._iterator)

    def __getattr__(self, name: str):
        return getattr(self._iterator, name)


@HOOKS.register_module()
class SafeCheckpointHook(CheckpointHook):
    """mmengine's ``CheckpointHook`` (same arguments) whose checkpoints

    - load with a plain ``torch.load(path)`` (``weights_only=True``, no
      allow-list): the message hub's ``HistoryBuffer`` objects and numpy
      values are stored as plain containers, and the buffers are rebuilt in
      ``after_load_checkpoint``, before mmengine's ``Runner.resume`` hands
      the message hub state over;
    - are never half-written: each file is written to ``NAME.tmp`` and
      renamed to ``NAME`` once complete; ``last_checkpoint`` (what
      ``--resume`` reads) is replaced the same way afterwards, and only then
      are checkpoints beyond ``max_keep_ckpts`` deleted. Leftover ``*.tmp``
      files of a killed run are removed when training starts;
    - hold every process's random-number-generator states (python, numpy,
      torch, CUDA), restored on resume right before the first new batch is
      fetched (after mmengine's own seeding and its replay of the trained
      batches), so a resumed run with random layers (drop-path) continues
      bit-identically. Validation runs between a snapshot and a restore of
      the states, so it never shifts the training's random numbers.

    ``configs/_base_/default_runtime.py`` declares it as
    ``default_hooks.checkpoint``, so any runner that reads the config
    (``tools/train.py``, ``mim train mmseg``) uses it. Remote ``out_dir``
    backends (no rename) are written as mmengine does.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._resume_states: Optional[dict] = None  # iter, states
        self._val_states: Optional[dict] = None
        self._all_states: Optional[List[dict]] = None  # gathered, per rank

    # -- safe contents, random states ------------------------------------
    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        for key in ('message_hub', 'meta'):
            if key in checkpoint:
                checkpoint[key] = to_safe_types(checkpoint[key])
        # Only the main process gets here (Runner.save_checkpoint is
        # master_only): the states of all ranks were gathered before.
        checkpoint[RNG_KEY] = self._all_states or [self._training_states()]

    def _training_states(self) -> dict:
        """This process's states; inside validation (a best checkpoint),
        the snapshot taken before it."""
        return self._val_states or get_rng_states()

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if 'message_hub' in checkpoint:
            restore_history_buffers(checkpoint['message_hub'])
        states = checkpoint.get(RNG_KEY)
        meta = checkpoint.get('meta') or {}
        self._resume_states = None
        if states:
            self._resume_states = dict(iter=meta.get('iter'), states=states)

    def before_val(self, runner) -> None:
        self._val_states = get_rng_states()

    def after_val(self, runner) -> None:
        if self._val_states is not None:
            set_rng_states(self._val_states)
            self._val_states = None

    def _restore_rng(self, runner) -> None:
        """On resume (the loop is at the checkpoint's iteration), put back
        this process's states before the first new batch is fetched."""
        found, self._resume_states = self._resume_states, None
        if found is None or runner.iter == 0 or found['iter'] != runner.iter:
            return  # not a resume (load_from, or a checkpoint without them)
        states: List[dict] = found['states']
        if len(states) != runner.world_size:
            print_log(f'the checkpoint holds the random states of '
                      f'{len(states)} processes, this run has '
                      f'{runner.world_size}: they are not restored',
                      'current', 30)
            return

        def restore() -> None:
            set_rng_states(states[runner.rank])

        loop = runner.train_loop
        if isinstance(loop, IterBasedTrainLoop) and loop.iter > 0:
            loop.dataloader_iterator = _RestoreAfter(
                loop.dataloader_iterator, loop.iter, restore)
        else:
            restore()

    # -- atomic files ------------------------------------------------------
    def before_train(self, runner) -> None:
        super().before_train(runner)
        if self._atomic and is_main_process():
            for tmp in glob.glob(osp.join(self.out_dir, '*' + TMP_SUFFIX)):
                print_log(f'removing {tmp}, left by a run killed while '
                          'writing it', 'current', 30)
                os.remove(tmp)
        self._restore_rng(runner)

    @property
    def _atomic(self) -> bool:
        return isinstance(self.file_backend, LocalBackend)

    def _save_checkpoint_with_step(self, runner, step, meta) -> None:
        # Called on every rank: gather the random states for the checkpoint.
        self._all_states = all_gather_object(self._training_states())
        try:
            self._save_atomic(runner, step, meta)
        finally:
            self._all_states = None

    def _save_atomic(self, runner, step, meta) -> None:
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
