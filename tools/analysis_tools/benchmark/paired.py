"""Paired timing: the full-resolution training step and another one, run
alternately, each in a persistent process of its own.

Timed one after the other, two cases see the machine at different times.
On a shared machine the same step's speed drifts by tens of percent from
one minute to the next (2 cores, 2026-12-02: the full-resolution step took
59-79 s within an hour, the Win-Win step 8.3-12.8 s), so a ratio of two
medians depends on when each case ran. Alternating single steps, round by
round and in alternating order, exposes both cases to the same drift; the
ratio of each round and their median are reported (``paired`` in the JSON).
Each process builds its case once and keeps it (memory: both steps' at
once).
"""
import json
import os
import statistics
import subprocess
from typing import Callable, Dict, Optional

from .cases import Case
from .measure import worker_command


class StepServer:
    """A worker process (``worker.py --serve``) that built ``case`` and runs
    one timed step per request.

    Args:
        case: the training case.
        opts: the benchmark options (``warmup`` steps run before serving).
        name: the label of this process (default: the case's name).
        src: run the worker from this source tree (a checkout with
            ``tools/`` and ``winwin_mm/``) instead of this one: before /
            after timings of a code change (``ab.py``).
    """

    def __init__(self, case: Case, opts: Dict, name: Optional[str] = None,
                 src: Optional[str] = None) -> None:
        self.name = name or case.name
        cmd, env = worker_command(case, opts, '--serve')
        if src:  # python -m puts the working directory first on sys.path
            env['PYTHONPATH'] = os.pathsep.join(
                [os.path.join(src, 'tools'), src])
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=None,
            text=True, env=env, cwd=src or None)
        self._read()  # {"ready": true} once built and warmed up

    def _read(self) -> Dict:
        """The next JSON line of the worker (other lines are dropped, as
        ``measure.run_in_subprocess`` does: mmengine logs the weight
        initialisation to stdout)."""
        while True:
            line = self.proc.stdout.readline()
            if not line:
                code = self.proc.wait()
                raise RuntimeError(
                    f'paired timing: the process of {self.name} ended '
                    f'(exit {code}); see the output above')
            if line.startswith('{'):
                return json.loads(line)

    def step(self) -> float:
        """Seconds of one training step."""
        self.proc.stdin.write('step\n')
        self.proc.stdin.flush()
        return self._read()['time_s']

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.write('quit\n')
            self.proc.stdin.close()
            self.proc.wait()


def paired_times(base: Case, case: Case, opts: Dict, rounds: int,
                 say: Callable[[str], None]) -> Dict:
    """``rounds`` rounds of one ``base`` step and one ``case`` step (the
    order alternates), each case in its own process.

    Returns:
        ``dict(base, rounds, base_times_s, times_s, ratios, ratio_median,
        ratio_min, ratio_max)``; ``ratios[i] = base_times_s[i] /
        times_s[i]`` (× faster than ``base`` in round i).
    """
    if rounds < 1:
        raise ValueError(f'paired rounds must be >= 1, got {rounds}')
    servers = []
    try:
        servers = [StepServer(base, opts), StepServer(case, opts)]
        times = {base.name: [], case.name: []}
        for i in range(rounds):
            order = servers if i % 2 == 0 else servers[::-1]
            for server in order:
                times[server.name].append(server.step())
            ratio = times[base.name][-1] / times[case.name][-1]
            say(f'round {i + 1}/{rounds}: {base.name} '
                f'{times[base.name][-1]:.2f} s, {case.name} '
                f'{times[case.name][-1]:.2f} s, {ratio:.2f}x')
    finally:
        for server in servers:
            server.close()
    ratios = [b / c for b, c in zip(times[base.name], times[case.name])]
    return dict(base=base.name, rounds=rounds,
                base_times_s=times[base.name], times_s=times[case.name],
                ratios=ratios, ratio_median=statistics.median(ratios),
                ratio_min=min(ratios), ratio_max=max(ratios))


def paired_variants(servers: Dict[str, StepServer], rounds: int,
                    say: Callable[[str], None]) -> Dict:
    """``rounds`` rounds of one step of each of two built processes (the
    order alternates), e.g. fp32 against bf16, or a step before and after a
    code change (``ab.py``).

    Args:
        servers: ``{'a': StepServer, 'b': StepServer}`` (any two labels;
            the first is the reference).
        rounds: alternating rounds (>= 1).
        say: progress printer.

    Returns:
        ``dict(names, times_s, ratios, ratio_median, ratio_min,
        ratio_max)``; ``times_s[label]`` per round; ``ratios[i] =
        t_a[i] / t_b[i]`` (× faster than the first in round i).
    """
    if rounds < 1:
        raise ValueError(f'paired rounds must be >= 1, got {rounds}')
    (na, a), (nb, b) = servers.items()
    times = {na: [], nb: []}
    for i in range(rounds):
        for label, server in ([(na, a), (nb, b)] if i % 2 == 0
                              else [(nb, b), (na, a)]):
            times[label].append(server.step())
        say(f'round {i + 1}/{rounds}: {na} {times[na][-1]:.2f} s, {nb} '
            f'{times[nb][-1]:.2f} s, {times[na][-1] / times[nb][-1]:.2f}x')
    ratios = [x / y for x, y in zip(times[na], times[nb])]
    return dict(names=[na, nb], times_s=times, ratios=ratios,
                ratio_median=statistics.median(ratios),
                ratio_min=min(ratios), ratio_max=max(ratios))
