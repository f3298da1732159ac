"""Benchmark on real code: stager's own source as a project of ~1,500 files, 900 touched.

Synthetic files are cheap to read; real modules are not (parsing them is
most of what stager does). The repository: stager's own Python source, five
copies under ``copy_N/``, plus the demo's Alembic history; the branch adds a
comment line to 900 of its ``.py`` files (a reformat), old revisions among them.

Every command is timed alternately with ``git diff --raw --numstat`` of the
same range (ABAB...), and printed as a ratio to it, with its peak memory:
analyze, plan and split (``split --all``, undone between runs). Cold: every
run starts with an empty parse cache (``XDG_CACHE_HOME``); warm: the cache
filled by the run before.

    python benchmarks/bench_real_code.py [--runs N] [--keep DIR]
"""

from __future__ import annotations

import argparse
import compileall
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate import ENV
from measure import Case, alternate

ROOT = Path(__file__).resolve().parents[1]
COPIES = 5
TOUCHED = 900
DEMO = ROOT / "stager" / "demo" / "fuel-credits"
STAGER = [sys.executable, "-m", "stager"]
RANGE = ["--base", "main", "--head", "feature"]


def git(args: list[str], cwd: Path, stdin: bytes | None = None) -> str:
    env = {**os.environ, **ENV}
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=env, input=stdin, capture_output=True, check=False
    )
    if done.returncode:
        raise SystemExit(f"git {' '.join(args)}: {done.stderr.decode()}")
    return done.stdout.decode()


def source_files() -> dict[str, bytes]:
    """The project's files: path in the benchmark repository → content."""
    files: dict[str, bytes] = {}
    own = sorted(
        path
        for folder in ("stager", "tests")
        for path in (ROOT / folder).rglob("*.py")
        if "__pycache__" not in path.parts
    )
    for copy in range(COPIES):
        for path in own:
            files[f"copy_{copy}/{path.relative_to(ROOT)}"] = path.read_bytes()
    # The demo's revision files, each in its last version: an Alembic history of real migrations.
    for step in sorted(DEMO.iterdir()):
        for path in sorted(step.glob("backend/migrations/versions/*.py.txt")):
            files[f"backend/migrations/versions/{path.name[:-4]}"] = path.read_bytes()
    files["backend/alembic.ini"] = b"[alembic]\nscript_location = %(here)s/migrations\n"
    return files


def build(folder: Path) -> None:
    """main: the files; feature: a comment line added to TOUCHED of the .py files."""
    files = source_files()
    folder.mkdir(parents=True)
    git(["init", "-q", "-b", "main"], folder)
    for path, content in files.items():
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    git(["add", "-A"], folder)
    git(["commit", "-q", "--no-verify", "-m", "base"], folder)
    git(["checkout", "-q", "-b", "feature"], folder)
    python = sorted(
        (path for path in files if path.endswith(".py")),
        key=lambda path: hashlib.sha256(path.encode()).hexdigest(),
    )
    for path in python[:TOUCHED]:
        with (folder / path).open("ab") as file:
            file.write(b"# reformatted\n")
    git(["commit", "-q", "--no-verify", "-am", f"reformat {TOUCHED} files"], folder)


def forget(repo: Path) -> None:
    """Drop every unreachable object: each split writes its objects anew, as a first one does."""
    git(["-c", "gc.reflogExpireUnreachable=now", "gc", "-q", "--prune=now"], repo)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="build into (or reuse) this folder")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="stager-real-"))
    folder = args.keep or work / "repo"
    if not folder.exists():
        build(folder)
    files = len(git(["ls-files", "-z"], folder).split("\0")) - 1
    merge_base = git(["merge-base", "main", "feature"], folder).strip()
    changed = len(git(["diff", "--name-only", "-z", merge_base, "feature"], folder).split("\0")) - 1
    base_env = {**os.environ, **ENV}
    cold_cache, warm_cache = work / "cold-cache", work / "warm-cache"

    def empty_cache() -> None:
        shutil.rmtree(cold_cache, ignore_errors=True)

    def undo_split() -> None:
        subprocess.run(
            [*STAGER, "split", "--undo"], cwd=folder, env=warm, check=True, capture_output=True
        )
        forget(folder)

    cold = {**base_env, "XDG_CACHE_HOME": str(cold_cache)}
    warm = {**base_env, "XDG_CACHE_HOME": str(warm_cache)}
    diff = ["git", "diff", "--raw", "--numstat", "-z", merge_base, "feature"]
    cases = [
        Case("git diff --raw --numstat", diff, base_env),
        Case("analyze, warm", [*STAGER, "analyze", *RANGE, "--format", "json"], warm),
        Case(
            "analyze, cold",
            [*STAGER, "analyze", *RANGE, "--format", "json"],
            cold,
            before=empty_cache,
        ),
        Case("plan, warm", [*STAGER, "plan", *RANGE, "--format", "json"], warm),
        Case(
            "split --all, warm",
            [*STAGER, "split", "--all", *RANGE, "--format", "json"],
            warm,
            after=undo_split,
        ),
    ]
    # An editable install under PYTHONDONTWRITEBYTECODE=1 has no bytecode: compile
    # once, as pip does for a wheel, so that the runs time stager, not Python's compiler.
    compileall.compile_dir(ROOT / "stager", quiet=1)
    alternate(cases, folder, args.runs)
    baseline = cases[0].seconds
    cpu_baseline = max(cases[0].cpu_seconds, 1e-6)
    print(f"{files} files, {changed} changed; medians of {args.runs} alternating runs")
    for case in cases:
        ratio = case.seconds / baseline
        print(
            f"{case.name:26}: {case.seconds * 1000:8.1f} ms  {ratio:7.1f}x git diff"
            f"  cpu {case.cpu_seconds * 1000:8.1f} ms  {case.cpu_seconds / cpu_baseline:6.1f}x"
            f"  peak {case.peak_mb:6.1f} MB"
        )
    warm, cold = cases[1], cases[2]
    print(
        "goal: analyze warm <= 2 s and <= 15x git diff, cold <= 5 s, peak <= 150 MB: "
        + (
            "met"
            if warm.seconds <= 2
            and warm.seconds / baseline <= 15
            and cold.seconds <= 5
            and max(warm.peak_mb, cold.peak_mb) <= 150
            else "NOT met"
        )
    )
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
