"""Benchmark: `stager analyze --format json` vs git's own diff of the same range.

Both are timed in this run on the same generated repository (20,000 files,
2,000 changed, 500 Alembic revisions); the figure that matters is the ratio
(target ≤ 2.0): git's diff is the floor no analysis can go below.

    python benchmarks/bench_analyze.py [--runs N] [--keep DIR]
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate import ENV, benchmark_repository


def median_seconds(command: list[str], cwd: Path, runs: int) -> float:
    env = {**os.environ, **ENV}
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    folder, runs, kept = benchmark_repository(__doc__, runs=7)
    merge_base = subprocess.run(
        ["git", "merge-base", "main", "feature"],
        cwd=folder,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    git_diff = ["git", "diff", "--raw", "--numstat", "-z", merge_base, "feature"]
    stager = [
        sys.executable,
        "-m",
        "stager",
        "analyze",
        "--format",
        "json",
        "--base",
        "main",
        "--head",
        "feature",
    ]
    # An installed wheel has its bytecode compiled by pip; an editable install
    # under PYTHONDONTWRITEBYTECODE=1 (as on this machine) has none, and would
    # time Python's compiler instead of stager. Compile once, like pip does.
    import compileall
    import importlib.util

    spec = importlib.util.find_spec("stager")
    assert spec is not None and spec.origin is not None
    compileall.compile_dir(Path(spec.origin).parent, quiet=1)
    # Warm the page cache for both before measuring.
    median_seconds(git_diff, folder, 1)
    median_seconds(stager, folder, 1)
    baseline = median_seconds(git_diff, folder, runs)
    measured = median_seconds(stager, folder, runs)
    print(f"git diff --raw --numstat -z : {baseline * 1000:8.1f} ms (median of {runs})")
    print(f"stager analyze --format json: {measured * 1000:8.1f} ms (median of {runs})")
    print(f"ratio stager/git diff       : {measured / baseline:8.2f}x (target <= 2.0x)")
    if not kept:
        shutil.rmtree(folder.parent)


if __name__ == "__main__":
    main()
