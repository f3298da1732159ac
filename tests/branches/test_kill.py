"""SIGKILL anywhere in a split: the refs move all or none, and the next run leaves no quarantine.

A shim named ``git`` first on PATH counts stager's git calls and kills stager
(SIGKILL, its parent) as it starts call N, or as call N ends; git call N runs
anyway, as an orphan, as it would when stager is killed around it. Kill points
are git calls, not delays: the same points every run, however busy the machine.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.branches.helpers import feature_repo
from tests.gitrepo import GitRepo

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="a POSIX shell shim")

ROOT = Path(__file__).resolve().parents[2]
SHIM = """#!/bin/sh
echo "$*" >> "$KILL_TEST_CALLS"
when=
case "$*" in *"$KILL_TEST_AT"*) when=$KILL_TEST_WHEN ;; esac
[ "$when" = before ] && kill -9 "$PPID"
"$KILL_TEST_GIT" "$@"
code=$?
[ "$when" = after ] && kill -9 "$PPID"
[ -n "$when" ] && touch "$KILL_TEST_DONE"
exit $code
"""
MOVED = ("refs/heads/stage/", "refs/stager/")


class Killer:
    """Runs ``stager split --all`` with the git shim, killing it at one git call."""

    def __init__(self, folder: Path, repo: GitRepo) -> None:
        self.repo = repo
        real_git = shutil.which("git")
        assert real_git is not None
        (folder / "bin").mkdir()
        shim = folder / "bin" / "git"
        shim.write_text(SHIM)
        shim.chmod(0o755)
        self.calls = folder / "calls"
        self.done = folder / "done"
        self.runs = 0
        self.env = {
            **repo.env,
            "PATH": f"{shim.parent}{os.pathsep}{os.environ['PATH']}",
            "PYTHONPATH": str(ROOT),
            "KILL_TEST_GIT": real_git,
            "KILL_TEST_CALLS": str(self.calls),
            "KILL_TEST_DONE": str(self.done),
        }

    def split(self, when: str = "", at: str = "") -> list[str]:
        """One run, killed ``when`` (before, after) the first git call with ``at`` in its
        arguments; the git calls it made."""
        self.calls.write_text("")
        self.done.unlink(missing_ok=True)
        # Each run its own commit date: with the sealed fixed date, a run in the same second
        # as an earlier one builds only objects git has (the record's time is to the second),
        # so it writes none, and the hash-object or index-pack to kill at never comes.
        self.runs += 1
        date = f"@{1_700_000_000 + self.runs} +0000"
        env = {
            **self.env,
            "GIT_COMMITTER_DATE": date,
            "KILL_TEST_WHEN": when,
            "KILL_TEST_AT": at or "no such call",
        }
        process = subprocess.run(
            [sys.executable, "-m", "stager", "split", "--all"],
            cwd=self.repo.path,
            env=env,
            capture_output=True,
            check=False,
        )
        calls = self.calls.read_text().splitlines()
        # Every failure names the kill point, whether its git call came, and what ran:
        # a run that was not killed must say why, not only that it exited.
        seen = f"killed {when} {at!r}: exit {process.returncode}; git calls:\n" + "\n".join(calls)
        if when:
            matched = any(at in call for call in calls)
            assert matched, f"the git call to kill at never came; {seen}"
            assert process.returncode == -signal.SIGKILL, f"{seen}\n{process.stderr.decode()}"
            deadline = time.monotonic() + 60
            while not self.done.exists():  # the orphaned git call has ended
                assert time.monotonic() < deadline, f"the orphaned git call never ended; {seen}"
                time.sleep(0.01)
        else:
            assert process.returncode == 0, f"{seen}\n{process.stderr.decode()}"
        return calls


def moved_refs(repo: GitRepo) -> dict[str, str]:
    out = repo.git("for-each-ref", "--format=%(refname) %(objectname)", *MOVED)
    return dict(line.split(" ") for line in out.splitlines())


def trees(repo: GitRepo, refs: dict[str, str]) -> dict[str, str]:
    """The tree of each ref's commit: what a branch holds, whatever its commit date."""
    return {name: repo.git("rev-parse", f"{sha}^{{tree}}") for name, sha in refs.items()}


def quarantines(repo: GitRepo) -> list[str]:
    return [path.name for path in (repo.path / ".git" / "objects").glob("tmp_stager-*")]


def delete(repo: GitRepo, refs: dict[str, str]) -> None:
    lines = "".join(f"delete {name} {sha}\n" for name, sha in refs.items())
    command = ["git", "update-ref", "--stdin"]
    subprocess.run(command, cwd=repo.path, env=repo.env, input=lines.encode(), check=True)


def assert_fsck_clean(repo: GitRepo) -> None:
    checked = subprocess.run(
        ["git", "fsck", "--strict", "--no-dangling", "--no-progress"],
        cwd=repo.path,
        env=repo.env,
        capture_output=True,
        check=False,
    )
    assert checked.returncode == 0 and not checked.stdout, checked.stdout + checked.stderr


def test_sigkill_anywhere_in_a_split(repo: GitRepo, tmp_path: Path) -> None:
    feature_repo(repo)
    killer = Killer(tmp_path, repo)
    calls = killer.split()  # the whole run: its git calls, and the refs it moves
    built = moved_refs(repo)
    record = [name for name in built if name.startswith("refs/stager/record/")]
    assert len(record) == 1 and len(built) > 1
    delete(repo, built)

    assert "update-ref --stdin" in calls[-1]
    kills = [
        ("before", "--show-object-format"),  # the writer makes its quarantine
        ("before", "hash-object"),  # the first objects are written
        ("before", "index-pack"),  # the objects leave the quarantine
        ("before", "update-ref"),  # the refs move
        ("after", "update-ref"),  # the refs moved, the quarantine stays
    ]
    built_trees = trees(repo, {name: sha for name, sha in built.items() if name not in record})
    for when, at in kills:
        killer.split(when, at)
        now = moved_refs(repo)
        branches = trees(repo, {name: sha for name, sha in now.items() if name not in record})
        assert not now or (now.keys() == built.keys() and branches == built_trees), (
            f"killed {when} {at}: {now}"
        )
        assert_fsck_clean(repo)
        if now:
            delete(repo, now)
    assert quarantines(repo)  # the last kill left its quarantine

    killer.split()  # the next run
    assert moved_refs(repo).keys() == built.keys()
    assert quarantines(repo) == []
    assert_fsck_clean(repo)
