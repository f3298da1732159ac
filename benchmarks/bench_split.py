"""Benchmark: `stager split --all` vs the seed's manual method, scripted.

The seed's method, as a script: a worktree at the merge base, then per phase
`git checkout HEAD -- <phase files>` (and `git rm` for the deleted ones) and
`git commit`, on a branch per phase. Both build the same phases (stager's
plan) on the generated repository of benchmarks/generate.py (20,000 files,
2,000 changed, 500 Alembic revisions), in 4 phases: the default rules, with
the documentation guide in the (otherwise empty) data phase. The figure that
matters is the ratio (target <= 0.5). `stager analyze` is timed too: the
split includes it.

Between runs, `git gc --prune=now` drops the objects the last run wrote, so
every run writes them anew, as a first run does (git skips writing an object
it has already).

The manual method writes 20,000 files: its cost depends on the disk. Pass
--keep DIR to choose where the repository (and the manual worktree) live.

    python benchmarks/bench_split.py [--runs N] [--keep DIR]
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate import ENV, benchmark_repository

STAGER = [sys.executable, "-m", "stager"]
RANGE = ["--base", "main", "--head", "feature"]
PHASES = 4
# The generated branch has no data migration: the default rules would give 3
# phases. The benchmark has 4, so the guide's files make the data phase.
RULES = """extends = "default"

[[phase]]
name = "data"
title = "Data migrations and the guide"
description = "Rewrites existing rows; in this benchmark also the documentation guide."
categories = ["migration-data"]
paths = ["docs/guide/"]
"""


def git(args: list[str], cwd: Path, stdin: bytes | None = None) -> str:
    env = {**os.environ, **ENV}
    result = subprocess.run(
        ["git", *args], cwd=cwd, env=env, input=stdin, capture_output=True, check=True
    )
    return result.stdout.decode()


def run(command: list[str], cwd: Path) -> None:
    subprocess.run(command, cwd=cwd, env={**os.environ, **ENV}, check=True, capture_output=True)


def forget(repo: Path) -> None:
    """Drop every unreachable object: each run writes its objects anew, as a first run does."""
    git(["-c", "gc.reflogExpireUnreachable=now", "gc", "-q", "--prune=now"], repo)


def median(action: Callable[[], None], cleanup: Callable[[], None], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
        cleanup()
    return statistics.median(times)


def phase_files(stager: list[str], repo: Path) -> list[tuple[int, list[str], list[str]]]:
    """(phase, paths present on head, paths deleted on head) of stager's plan."""
    out = subprocess.run(
        [*stager, "plan", *RANGE, "--format", "json"],
        cwd=repo,
        env={**os.environ, **ENV},
        capture_output=True,
        check=True,
    ).stdout
    head_paths = set(git(["ls-tree", "-r", "-z", "--name-only", "feature"], repo).split("\0"))
    phases = []
    for phase in json.loads(out)["phases"]:
        paths = []
        for planned in phase["files"]:
            paths.append(planned["path"])
            if planned.get("old_path"):
                paths.append(planned["old_path"])
        present = [path for path in paths if path in head_paths]
        deleted = [path for path in paths if path not in head_paths]
        phases.append((phase["number"], present, deleted))
    return phases


def manual(repo: Path, worktree: Path, phases: list[tuple[int, list[str], list[str]]]) -> None:
    """The seed's method: a worktree at the merge base, checkout + commit per phase."""
    merge_base = git(["merge-base", "main", "feature"], repo).strip()
    git(["worktree", "add", "-q", "--detach", str(worktree), merge_base], repo)
    for number, present, deleted in phases:
        git(["checkout", "-q", "-b", f"manual/{number}"], worktree)
        if present:
            git(
                ["checkout", "feature", "--pathspec-from-file=-"],
                worktree,
                "\n".join(present).encode(),
            )
        if deleted:
            git(["rm", "-q", "--pathspec-from-file=-"], worktree, "\n".join(deleted).encode())
        git(["commit", "-q", "--no-verify", "-m", f"phase {number}"], worktree)


def manual_cleanup(
    repo: Path, worktree: Path, phases: list[tuple[int, list[str], list[str]]]
) -> None:
    shutil.rmtree(worktree, ignore_errors=True)
    git(["worktree", "prune"], repo)
    for number, _, _ in phases:
        git(["branch", "-q", "-D", f"manual/{number}"], repo)
    forget(repo)


def main() -> None:
    folder, runs, kept = benchmark_repository(__doc__, runs=5)
    worktree = folder.parent / f"{folder.name}-manual-worktree"
    rules = folder.parent / f"{folder.name}-rules.toml"
    rules.write_text(RULES)
    stager = [*STAGER, "--rules", str(rules)]
    phases = phase_files(stager, folder)
    empty = [number for number, present, deleted in phases if not present and not deleted]
    if len(phases) != PHASES or empty:
        raise SystemExit(f"expected {PHASES} non-empty phases, the plan has {len(phases)}")
    split = [*stager, "split", "--all", *RANGE, "--format", "json"]
    undo = [*stager, "split", "--undo"]
    # Warm the page cache for both before measuring.
    manual(folder, worktree, phases)
    manual_cleanup(folder, worktree, phases)
    run(split, folder)
    run(undo, folder)
    forget(folder)
    baseline = median(
        lambda: manual(folder, worktree, phases),
        lambda: manual_cleanup(folder, worktree, phases),
        runs,
    )

    def split_cleanup() -> None:
        run(undo, folder)
        forget(folder)

    measured = median(lambda: run(split, folder), split_cleanup, runs)
    analyze = median(
        lambda: run([*stager, "analyze", *RANGE, "--format", "json"], folder),
        lambda: None,
        runs,
    )
    files = sum(len(present) + len(deleted) for _, present, deleted in phases)
    print(f"{len(phases)} phases, {files} paths; medians of {runs} runs")
    print(f"manual (worktree, checkout, commit) : {baseline * 1000:8.1f} ms")
    print(f"stager split --all                  : {measured * 1000:8.1f} ms")
    print(f"  of which stager analyze           : {analyze * 1000:8.1f} ms")
    print(f"ratio split / manual                : {measured / baseline:8.2f}x (target <= 0.5x)")
    if not kept:
        shutil.rmtree(folder.parent)


if __name__ == "__main__":
    main()
