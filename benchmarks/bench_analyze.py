"""Benchmark: `stager analyze --format json` vs git's own diff of the same range.

Both are timed in this run on the same generated repository (20,000 files,
2,000 changed, 500 Alembic revisions); the figure that matters is the ratio
(target ≤ 15, warm, as for real code in bench_real_code.py): git's diff is the
floor no analysis can go below, and a Python process starting costs more. The
runs alternate (git, warm, cold, git, ...); a warm run reads the revision files'
parse cache the run before filled, a cold one starts with an empty cache.

    python benchmarks/bench_analyze.py [--runs N] [--keep DIR]
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate import ENV, benchmark_repository
from measure import Case, alternate


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
    work = Path(tempfile.mkdtemp(prefix="stager-bench-analyze-"))
    cold_cache = work / "cold"

    def empty_cache() -> None:
        shutil.rmtree(cold_cache, ignore_errors=True)

    env = {**os.environ, **ENV}
    cases = [
        Case("git diff --raw --numstat -z", git_diff, env),
        Case("stager analyze, warm cache", stager, {**env, "XDG_CACHE_HOME": str(work / "warm")}),
        Case(
            "stager analyze, cold cache",
            stager,
            {**env, "XDG_CACHE_HOME": str(cold_cache)},
            before=empty_cache,
        ),
    ]
    alternate(cases, folder, runs)
    baseline = cases[0].seconds
    cpu_baseline = max(cases[0].cpu_seconds, 1e-6)
    print(f"medians of {runs} alternating runs")
    for case in cases:
        print(
            f"{case.name:28}: {case.seconds * 1000:8.1f} ms  {case.seconds / baseline:6.2f}x"
            f"  cpu {case.cpu_seconds * 1000:8.1f} ms  {case.cpu_seconds / cpu_baseline:6.1f}x"
            f"  peak {case.peak_mb:6.1f} MB"
        )
    print("target: warm <= 15x git diff (as bench_real_code.py asks of real code)")
    shutil.rmtree(work)
    if not kept:
        shutil.rmtree(folder.parent)


if __name__ == "__main__":
    main()
