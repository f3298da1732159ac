"""``verify --check CMD``: the user's command in a temporary worktree, and nothing left after it.

The command runs in a session (so a process group) of its own: when stager is
stopped (Ctrl-C, SIGTERM from a cancelled CI job, SIGHUP) or the command
leaves processes behind, stager ends the whole group (SIGTERM, then SIGKILL
after :data:`GRACE_SECONDS`), waits for it, and only then removes the
worktree and its folder. A process of the group that outlives its shell would
otherwise keep running in a worktree that no longer exists.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

from stager.git.refs import worktree_add, worktree_remove
from stager.git.repository import Repository
from stager.interrupts import deferred
from stager.types import Sha

GRACE_SECONDS = 2.0
"""How long the command's processes get to end after SIGTERM, before SIGKILL."""


def run_in_worktree(
    repo: Repository, commit: Sha, command: str, env: Mapping[str, str], prefix: str
) -> tuple[int, bytes]:
    """``command`` in a temporary detached worktree of ``commit``: its exit code and output.

    ``prefix`` names the temporary folder (e.g. ``stager-verify-1-``); the
    folder and the worktree are removed afterwards, also when stager is stopped.
    """
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    worktree = folder / "tree"
    try:
        worktree_add(repo, worktree, commit)
        return _run_group(command, worktree, env)
    finally:
        with deferred():  # the cleanup is never cut short: it takes under a second
            worktree_remove(repo, worktree)
            shutil.rmtree(folder, ignore_errors=True)


def _run_group(command: str, cwd: Path, env: Mapping[str, str]) -> tuple[int, bytes]:
    process = subprocess.Popen(  # the user's own command, as they typed it
        command,
        shell=True,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own group: ended as a whole, out of reach of Ctrl-C
    )
    try:
        output, _ = process.communicate()
    finally:
        with deferred():
            _end_group(process)
            if process.stdout is not None:  # open still when stager was stopped meanwhile
                process.stdout.close()
    return process.returncode, output


def _end_group(process: subprocess.Popen[bytes]) -> None:
    """End every process of ``process``'s group (none may be left: then it returns at once)."""
    if sys.platform == "win32":  # no process groups: the shell is all stager can end
        process.kill()
        process.wait()
        return
    group = process.pid  # a new session's leader: its pid is the group's id
    if not _signal_group(group, signal.SIGTERM):
        process.wait()
        return
    deadline = time.monotonic() + GRACE_SECONDS
    while time.monotonic() < deadline:
        process.poll()  # reap the shell: a zombie still counts as a member of the group
        if not _signal_group(group, 0):
            break
        time.sleep(0.02)
    else:
        _signal_group(group, signal.SIGKILL)
    process.wait()


def _signal_group(group: int, signum: int) -> bool:
    """Send ``signum`` to the group (0: only check it); False when no process is left in it."""
    try:
        os.killpg(group, signum)
    except ProcessLookupError:
        return False
    except PermissionError:  # a member became another user's (setuid): nothing more to do
        return False
    return True
