"""Benchmark: `stager split --all` vs the seed's manual method, scripted.

The seed's method, as a script: a worktree at the merge base, then per phase
`git checkout HEAD -- <phase files>` (and `git rm` for the deleted ones) and
`git commit`, on a branch per phase. Both build the same phases (stager's
plan) on the generated repository of benchmarks/generate.py (20,000 files,
2,000 changed, 500 Alembic revisions), in 4 phases: the default rules, with
the documentation guide in the (otherwise empty) data phase. The figure that
matters is the ratio to the in-place method (target <= 1.0): the seed's new
worktree writes all 20,000 files, most of its time, and is printed for
comparison only. `stager analyze` is timed too: the split includes it. All
run in turn (ABAB...), with stager's parse cache warm.

Between runs, `git gc --prune=now` drops the objects the last run wrote, so
every run writes them anew, as a first run does (git skips writing an object
it has already).

The seed's worktree writes 20,000 files: its cost depends on the disk. Pass
--keep DIR to choose where the repository lives.

    python benchmarks/bench_split.py [--runs N] [--keep DIR]
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate import ENV, benchmark_repository
from measure import Case, alternate

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


def script(
    phases: list[tuple[int, list[str], list[str]]], folder: Path, start: str, *, in_place: bool
) -> list[str]:
    """The seed's method as a shell script: checkout and commit per phase, a branch each.

    In place: in the checkout of the feature branch, which switches to the merge
    base (git rewrites only the changed files) and back at the end: what a person
    would type. Not in place: a new worktree at the merge base, as the seed did
    (git writes every file of the tree).
    """
    lines = ["set -e"]
    where = "."
    if in_place:
        lines.append(f"git checkout -q --detach {start}")
    else:
        where = str(folder / "manual-worktree")
        lines.append(f"git worktree add -q --detach {where} {start}")
    for number, present, deleted in phases:
        lines.append(f"git -C {where} checkout -q -b manual/{number}")
        if present:
            listing = folder / f"phase-{number}-present"
            listing.write_text("\n".join(present))
            lines.append(f"git -C {where} checkout feature --pathspec-from-file={listing}")
        if deleted:
            listing = folder / f"phase-{number}-deleted"
            listing.write_text("\n".join(deleted))
            lines.append(f"git -C {where} rm -q --pathspec-from-file={listing}")
        lines.append(f"git -C {where} commit -q --no-verify -m 'phase {number}'")
    if in_place:
        lines.append("git checkout -q feature")
    path = folder / ("in-place.sh" if in_place else "worktree.sh")
    path.write_text("\n".join(lines) + "\n")
    return ["bash", str(path)]


def main() -> None:
    folder, runs, kept = benchmark_repository(__doc__, runs=5)
    work = Path(tempfile.mkdtemp(prefix="stager-bench-split-"))
    rules = work / "rules.toml"
    rules.write_text(RULES)
    stager = [*STAGER, "--rules", str(rules)]
    # A person splitting by hand has the branch checked out: so does the repository here.
    git(["reset", "-q", "--hard", "feature"], folder)
    phases = phase_files(stager, folder)
    empty = [number for number, present, deleted in phases if not present and not deleted]
    if len(phases) != PHASES or empty:
        raise SystemExit(f"expected {PHASES} non-empty phases, the plan has {len(phases)}")
    merge_base = git(["merge-base", "main", "feature"], folder).strip()
    env = {**os.environ, **ENV}

    def manual_cleanup() -> None:
        shutil.rmtree(work / "manual-worktree", ignore_errors=True)
        git(["worktree", "prune"], folder)
        for number, _, _ in phases:
            git(["branch", "-q", "-D", f"manual/{number}"], folder)
        forget(folder)

    def split_cleanup() -> None:
        run([*stager, "split", "--undo"], folder)
        forget(folder)

    cases = [
        Case(
            "manual, in place (checkout, commit)",
            script(phases, work, merge_base, in_place=True),
            env,
            after=manual_cleanup,
        ),
        Case(
            "stager split --all",
            [*stager, "split", "--all", *RANGE, "--format", "json"],
            env,
            after=split_cleanup,
        ),
        Case(
            "manual, new worktree (the seed)",
            script(phases, work, merge_base, in_place=False),
            env,
            after=manual_cleanup,
        ),
        Case("stager analyze", [*stager, "analyze", *RANGE, "--format", "json"], env),
    ]
    alternate(cases, folder, runs)
    in_place, split, worktree, _ = cases
    files = sum(len(present) + len(deleted) for _, present, deleted in phases)
    print(f"{len(phases)} phases, {files} paths; medians of {runs} alternating runs, warm cache")
    for case in cases:
        print(f"{case.name:36}: {case.seconds * 1000:8.1f} ms  peak {case.peak_mb:6.1f} MB")
    print(f"ratio split / manual in place       : {split.seconds / in_place.seconds:8.2f}x")
    print(f"ratio split / manual new worktree   : {split.seconds / worktree.seconds:8.2f}x")
    shutil.rmtree(work)
    if not kept:
        shutil.rmtree(folder.parent)


if __name__ == "__main__":
    main()
