"""stager.branches.check_command: the --check command and everything it started end with it."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from stager.branches.check_command import run_in_worktree
from stager.git.repository import Repository
from stager.types import Sha
from tests.gitrepo import GitRepo
from tests.processes import gone


def test_a_process_the_check_leaves_running_is_ended(repo: GitRepo, tmp_path: Path) -> None:
    """A server the check started and did not stop would run on in a deleted worktree."""
    commit = Sha(repo.commit("one", {"a.py": "x = 1\n"}))
    pid = tmp_path / "pid"
    command = f"sleep 30 > /dev/null 2>&1 & echo $! > {shlex.quote(str(pid))}; cat a.py"
    code, output = run_in_worktree(
        Repository(repo.path), commit, command, dict(os.environ), prefix="stager-test-"
    )
    assert (code, output) == (0, b"x = 1\n")
    assert gone(int(pid.read_text()))
    assert repo.git("worktree", "list", "--porcelain").count("worktree ") == 1
