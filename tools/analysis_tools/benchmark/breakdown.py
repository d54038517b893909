"""Where the time of one training step goes, from one ``torch.profiler``
run: attention, MLP, patch embedding, head, optimizer and the rest.

Each part is a ``record_function`` range that ``torch.profiler`` records:
forward hooks open and close it around the module's forward, full backward
hooks around the module's backward (on CPU autograd runs the backward on
the calling thread, so the ranges hold its kernels), and the optimizer
wrapper's ``step`` runs inside ``optimizer``. The patch embedding is the
backbone's ``embed`` method (windows are embedded with ``F.linear`` on the
conv's weights, no module call): its forward runs inside the range, and
its backward, the last of the step's backward, from the moment autograd
reaches ``embed``'s output until the optimizer starts. ``other`` is the profiled
step's wall time minus the parts: data preprocessing, norms, residual
adds, the loss, and the autograd engine between modules.
"""
import time
from typing import Callable, Dict, List, Optional

import torch
from torch.autograd.profiler import record_function

PARTS = ('attention', 'mlp', 'patch_embed', 'head', 'optimizer')


def part_of(name: str, leaf: bool) -> Optional[str]:
    """The part a module belongs to, from its name in ``named_modules``
    (``backbone.layers.3.attn`` -> ``'attention'``), or None.

    Args:
        name: the module's name in the model.
        leaf: whether the module has no children.

    No time counts twice: a block's ``attn`` and ``mlp`` are tagged whole
    (nothing inside them is tagged); the patch embedding and the head are
    tagged at their leaf modules, because mmseg's head runs ``forward``
    from ``loss`` (not through ``__call__``, so its own hooks never fire).
    The head's loss modules are left to ``other``; the patch embedding is
    tagged by ``profile_step`` (see the module doc).
    """
    parts = name.split('.')
    if parts[0] == 'decode_head':
        return 'head' if leaf and 'loss' not in name else None
    if parts[0] != 'backbone' or len(parts) < 2:
        return None
    inside_block = len(parts) >= 4 and parts[-2].isdigit()
    if inside_block and parts[-1] == 'attn':
        return 'attention'
    if inside_block and parts[-1] == 'mlp':
        return 'mlp'
    return None


class _Range:
    """``record_function(part)`` opened and closed from hooks."""

    def __init__(self, part: str) -> None:
        self.part, self.open = part, []

    def enter(self, *_) -> None:
        rf = record_function(self.part)
        rf.__enter__()
        self.open.append(rf)

    def leave(self, *_) -> None:
        if self.open:
            self.open.pop().__exit__(None, None, None)


# Backward ranges open now. Tagged modules never nest, so their backward
# runs one after the other: opening one closes any other still open (a
# module whose backward hook does not fire, e.g. one whose inputs need no
# gradient, would otherwise hold its range open over the rest of the
# backward).
_BACKWARD_OPEN: List[_Range] = []


def _tag(module: torch.nn.Module, part: str) -> List:
    """Hooks that run ``module``'s forward and backward inside a
    ``record_function(part)`` range; returns their handles."""
    fwd, bwd = _Range(part), _Range(part)

    def enter_backward(*_):
        while _BACKWARD_OPEN:
            _BACKWARD_OPEN.pop().leave()
        bwd.enter()
        _BACKWARD_OPEN.append(bwd)

    def leave_backward(*_):
        bwd.leave()
        if bwd in _BACKWARD_OPEN:
            _BACKWARD_OPEN.remove(bwd)

    return [module.register_forward_pre_hook(lambda m, i: fwd.enter()),
            module.register_forward_hook(lambda m, i, o: fwd.leave()),
            module.register_full_backward_pre_hook(
                lambda m, g: enter_backward()),
            module.register_full_backward_hook(
                lambda m, gi, go: leave_backward())]


def group_times(totals_us: Dict[str, float], step_s: float) -> Dict:
    """Seconds per part and ``other`` = step minus the parts.

    Args:
        totals_us: summed CPU time (microseconds) of each part's ranges,
            e.g. from ``prof.key_averages()``.
        step_s: wall time of the profiled step.
    """
    out = {p: totals_us.get(p, 0.) / 1e6 for p in PARTS}
    out['other'] = max(step_s - sum(out.values()), 0.)
    out['step'] = step_s
    return out


def profile_step(step: Callable[[], None]) -> Dict:
    """Run ``step`` (``steps.train_step``'s, which carries ``model`` and
    ``wrapper``) once under ``torch.profiler`` with its parts tagged;
    returns seconds per part (see ``group_times``)."""
    model, wrapper = step.model, step.wrapper
    handles = []
    for name, module in model.named_modules():
        part = part_of(name, not any(True for _ in module.children()))
        if part:
            handles += _tag(module, part)
    inner, embed, backbone = wrapper.step, model.backbone.embed, \
        model.backbone
    patch = _Range('patch_embed')

    def tagged_embed(*args, **kwargs):
        with record_function('patch_embed'):
            x, layout = embed(*args, **kwargs)
        if x.grad_fn is not None:  # its backward: see the module doc
            def enter_patch(*_):
                while _BACKWARD_OPEN:
                    _BACKWARD_OPEN.pop().leave()
                patch.enter()
            x.grad_fn.register_prehook(enter_patch)
        return x, layout

    def tagged_step(*args, **kwargs):
        patch.leave()
        while _BACKWARD_OPEN:
            _BACKWARD_OPEN.pop().leave()
        with record_function('optimizer'):
            return inner(*args, **kwargs)

    wrapper.step, backbone.embed = tagged_step, tagged_embed
    try:
        with torch.profiler.profile(
                activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
            t0 = time.perf_counter()
            step()
            step_s = time.perf_counter() - t0
    finally:
        del wrapper.step  # the class's method again
        del backbone.embed  # the class's method again
        for h in handles:
            h.remove()
    totals = {e.key: e.cpu_time_total for e in prof.key_averages()
              if e.key in PARTS}
    return group_times(totals, step_s)
