"""Time and memory of one case, each in a fresh process.

A fresh process per case makes the CPU peak resident size (``ru_maxrss``)
that case's own, and keeps CUDA allocator caches from leaking between
cases. The parent runs ``python -m analysis_tools.benchmark.worker`` with
the case and options as JSON (``worker.py``); the child
prints progress on stderr and its result as one JSON line on stdout.

Memory: ``baseline`` is measured after the model, its gradients and the
optimizer states exist and before the first forward (CPU: the process's
resident size then, libraries included; CUDA: allocated bytes);
``activation = peak - baseline`` is what the step itself needs. CUDA: the
allocator's peak of allocated bytes over the timed process's runs. CPU: a
process of its own runs the step once with glibc told to return freed
blocks to the OS (``allocator.py``); without that the peak resident size
counts freed memory that glibc keeps in its heap, which holds no tensor and
grows from step to step. The timed process keeps glibc's defaults; its
peak minus baseline is kept in the JSON as
``default_malloc_activation_bytes``.
"""
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from typing import Callable, Dict, List, TextIO, Tuple

import torch

from .. import TOOLS_DIR
from .allocator import return_freed_memory
from .cases import Case


def current_rss() -> int:
    """Resident bytes of this process now."""
    with open('/proc/self/statm') as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf('SC_PAGE_SIZE')


def peak_rss() -> int:
    """Peak resident bytes of this process so far (Linux: KiB units)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _sync(device: str) -> None:
    if device == 'cuda':
        torch.cuda.synchronize()


def time_step(step: Callable[[], None], device: str, warmup: int,
              repeats: int, say: Callable[[str], None]) -> List[float]:
    """Seconds of each of ``repeats`` runs after ``warmup`` runs."""
    for i in range(warmup):
        t0 = time.perf_counter()
        step()
        _sync(device)
        say(f'warm-up {i + 1}/{warmup}: {time.perf_counter() - t0:.2f} s')
    times = []
    for i in range(repeats):
        t0 = time.perf_counter()
        step()
        _sync(device)
        times.append(time.perf_counter() - t0)
        say(f'run {i + 1}/{repeats}: {times[-1]:.2f} s')
    return times


def _prepare_process(opts: Dict) -> None:
    """Same random weights and thread count in every worker process."""
    torch.manual_seed(0)
    if opts.get('threads'):
        torch.set_num_threads(opts['threads'])


def _say(case: Case) -> Callable[[str], None]:
    def say(msg: str) -> None:
        print(f'  [{case.name}] {msg}', file=sys.stderr, flush=True)
    return say


def serve_case(case: Case, opts: Dict, requests: TextIO) -> None:
    """Build ``case``, run its warm-up, print ``{"ready": true}``, then one
    timed step per ``step`` line of ``requests`` (its seconds as a JSON
    line on stdout) until ``quit`` or the end of input."""
    from .steps import STEPS
    _prepare_process(opts)
    step, _ = STEPS[case.group](case, opts)
    time_step(step, opts['device'], opts['warmup'], 0, _say(case))
    print(json.dumps(dict(ready=True)), flush=True)
    for line in requests:
        if line.strip() != 'step':
            break
        t = time_step(step, opts['device'], 0, 1, lambda msg: None)[0]
        print(json.dumps(dict(time_s=t)), flush=True)


def run_case(case: Case, opts: Dict) -> Dict:
    """Build, measure and describe one case (in this process).

    With ``opts['memory_run']`` (CPU): only the memory, from one run with
    freed memory returned to the OS; else the times (and on CUDA the
    memory).
    """
    from .steps import STEPS
    memory_run = opts.get('memory_run', False)
    # Before the model exists, so that its weights are served the same way.
    returned = memory_run and return_freed_memory()
    _prepare_process(opts)
    device = opts['device']

    say = _say(case)
    t0 = time.perf_counter()
    step, state_bytes = STEPS[case.group](case, opts)
    say(f'built in {time.perf_counter() - t0:.1f} s')
    _sync(device)
    if device == 'cuda':
        baseline = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
    else:
        baseline = current_rss()
    if memory_run:
        times = time_step(step, device, 0, 1, say)
        peak = peak_rss()
        return dict(
            peak_mem_bytes=peak,
            baseline_mem_bytes=baseline,
            state_mem_bytes=state_bytes,
            activation_mem_bytes=max(peak - baseline, 0),
            memory_kind=('peak RSS of a fresh process, one run'
                         + (', freed blocks of 64 KiB or more returned to '
                            'the OS' if returned else '')),
            memory_run_s=times[0])
    warmup = opts['warmup'] if case.group == 'train' else opts['warmup_infer']
    repeats = opts['repeats'] if case.group == 'train' else opts[
        'repeats_infer']
    times = time_step(step, device, warmup, repeats, say)
    peak = (torch.cuda.max_memory_allocated() if device == 'cuda'
            else peak_rss())
    breakdown = None
    if case.group == 'train' and opts.get('profile', True):
        from .breakdown import profile_step  # after the peak: not in it
        breakdown = profile_step(step)
        say('profiled: ' + ', '.join(f'{k} {v:.2f} s'
                                     for k, v in breakdown.items()))
    scale = case.extra.get('scale', 1.0)
    res = dict(
        case.to_dict(),
        time_s=statistics.median(times) * scale,
        times_s=[t * scale for t in times],
        extrapolated=scale != 1.0,
        peak_mem_bytes=peak,
        baseline_mem_bytes=baseline,
        state_mem_bytes=state_bytes,
        activation_mem_bytes=max(peak - baseline, 0),
        memory_kind=('cuda allocator peak' if device == 'cuda'
                     else 'peak RSS of a fresh process'),
        torch_threads=torch.get_num_threads(),
        breakdown=breakdown)
    if device == 'cpu':
        res['default_malloc_activation_bytes'] = res['activation_mem_bytes']
    return res


def worker_command(case: Case, opts: Dict, *flags: str
                   ) -> Tuple[List[str], Dict[str, str]]:
    """Command line and environment of a worker process for ``case``
    (``worker.py``; ``flags`` e.g. ``--serve``)."""
    import winwin_mm
    payload = json.dumps(dict(case=case.to_dict(), opts=opts))
    # The child imports these very helpers (``tools/``) and the winwin_mm
    # this process imported (a clone's or an installed one), wherever the
    # parent runs from.
    package_parent = os.path.dirname(os.path.dirname(
        os.path.abspath(winwin_mm.__file__)))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (TOOLS_DIR, package_parent, os.environ.get('PYTHONPATH'))
        if p))
    return [sys.executable, '-m', 'analysis_tools.benchmark.worker', *flags,
            payload], env


def _run_worker(case: Case, opts: Dict) -> Dict:
    """:func:`run_case` in a fresh Python process (progress passes through
    to this process's stderr)."""
    cmd, env = worker_command(case, opts)
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=None,
                          text=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f'case {case.name} failed (exit '
                           f'{proc.returncode}); see the output above')
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run_in_subprocess(case: Case, opts: Dict) -> Dict:
    """Times of ``case`` from one fresh process; on CPU its memory from
    another (the memory run, see the module docstring)."""
    res = _run_worker(case, opts)
    if opts['device'] == 'cpu':
        res.update(_run_worker(case, dict(opts, memory_run=True)))
    return res
