"""Timing for the benchmarks: runs alternate (ABAB...), each child's peak memory is its own.

A machine's speed drifts (other work, CPU frequency, the page cache): timing
the baseline in one block and stager in another lets the drift fall on one
side. Alternating the commands run by run spreads it over both, and the
medians are compared within one run of the benchmark.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Measured:
    seconds: float
    peak_mb: float  # the process's own peak resident memory
    # user + system CPU time, its worker processes included: steadier than the wall
    # clock on a machine that other work slows down
    cpu_seconds: float = 0.0


def measure(command: Sequence[str], cwd: Path, env: Mapping[str, str]) -> Measured:
    """Run ``command`` to completion (it must succeed); its wall time and peak memory."""
    start = time.perf_counter()
    process = subprocess.Popen(
        list(command), cwd=cwd, env=dict(env), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    assert process.stderr is not None
    errors = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    process.stderr.close()
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({process.returncode}):\n{errors.decode()}")
    # Linux: kilobytes. The child's usage counts the children it waited for (its workers).
    return Measured(seconds, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime)


@dataclass
class Case:
    """One command of a benchmark; ``before`` and ``after`` run untimed around each run."""

    name: str
    command: Sequence[str]
    env: Mapping[str, str]
    before: Callable[[], None] = lambda: None
    after: Callable[[], None] = lambda: None
    runs: list[Measured] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return statistics.median(run.seconds for run in self.runs)

    @property
    def cpu_seconds(self) -> float:
        return statistics.median(run.cpu_seconds for run in self.runs)

    @property
    def peak_mb(self) -> float:
        return max(run.peak_mb for run in self.runs)


def alternate(cases: Sequence[Case], cwd: Path, runs: int) -> None:
    """Run every case ``runs`` times, in turn (A B C A B C ...), after one untimed warm-up each."""
    for round_ in range(runs + 1):
        for case in cases:
            case.before()
            measured = measure(case.command, cwd, case.env)
            case.after()
            if round_:
                case.runs.append(measured)
