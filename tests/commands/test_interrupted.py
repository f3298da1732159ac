"""Stopping stager as CI and terminals do: everything it made is removed, refs all or nothing.

CI cancels a job with SIGTERM (to the job's whole process group), a terminal's
Ctrl-C sends SIGINT to its foreground group, and ``kill`` signals stager alone.
Each test runs the real ``python -m stager`` in a session of its own, with a
TMPDIR of its own so that what stager leaves behind can be listed.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from stager.cli import cli
from stager.demo import DemoRepository
from tests.gitrepo import GitRepo
from tests.processes import described, ends_soon, started

# Python keeps SIGINT ignored when its parent ignored it (a test run in the background):
# stager respects that, so the run under test starts with Python's own Ctrl-C handler.
LAUNCH = (
    "import runpy, signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "runpy.run_module('stager', run_name='__main__', alter_sys=True)"
)
STAGES = ("stage/1-foundation", "stage/2-data", "stage/3-application", "stage/4-etl-and-contract")
WAIT = 20.0  # seconds: a loaded machine starts stager slowly; a passing test never waits this long


@dataclass
class Run:
    """One ``stager`` process, with the TMPDIR it writes its temporary folders to."""

    process: subprocess.Popen[bytes]
    tmpdir: Path

    def signal(self, signum: int, *, group: bool = False) -> None:
        if group:  # as CI cancels a job, or Ctrl-C reaches the terminal's foreground group
            os.killpg(self.process.pid, signum)
        else:
            self.process.send_signal(signum)

    def finish(self) -> tuple[int, str]:
        _out, err = self.process.communicate(timeout=WAIT)
        return self.process.returncode, err.decode()


@pytest.fixture
def start(tmp_path: Path, git_env: dict[str, str]) -> Iterator[Callable[..., Run]]:
    """Start ``stager ARGS`` in a session of its own; whatever is still running is killed after."""
    runs: list[Run] = []

    def run(*args: str, path: Path | None = None) -> Run:
        tmpdir = tmp_path / f"tmp-{len(runs)}"
        tmpdir.mkdir()
        env = {**git_env, "TMPDIR": str(tmpdir)}
        if path is not None:  # a folder whose programs come first, a shim ``git`` say
            env["PATH"] = f"{path}{os.pathsep}{env.get('PATH', os.defpath)}"
        process = subprocess.Popen(
            [sys.executable, "-c", LAUNCH, *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        runs.append(Run(process, tmpdir))
        return runs[-1]

    yield run
    for leftover in runs:
        if leftover.process.poll() is None:
            os.killpg(leftover.process.pid, signal.SIGKILL)
            leftover.process.wait()


def wait_for(path: Path, run: Run) -> None:
    deadline = time.monotonic() + WAIT
    while not path.exists():
        if run.process.poll() is not None:
            pytest.fail(f"stager ended before {path.name}: {run.finish()}")
        assert time.monotonic() < deadline, f"{path.name} never appeared"
        time.sleep(0.02)


def user_state(repo: GitRepo) -> tuple[bytes, str, str, str]:
    """What the user owns: the index, HEAD, every ref, the work tree's status."""
    index = (repo.path / ".git" / "index").read_bytes()
    refs = repo.git("for-each-ref", "--format=%(objectname) %(refname)")
    status = repo.git("--no-optional-locks", "status", "--porcelain", "--untracked-files=all")
    return index, repo.git("symbolic-ref", "HEAD"), refs, status


def worktrees(repo: GitRepo) -> list[str]:
    lines = repo.git("worktree", "list", "--porcelain").splitlines()
    return [line.removeprefix("worktree ") for line in lines if line.startswith("worktree ")]


@pytest.fixture
def split_demo(demo: DemoRepository, git_env: dict[str, str]) -> GitRepo:
    assert CliRunner().invoke(cli, ["-C", str(demo.path), "split", "--all"]).exit_code == 0
    return GitRepo(demo.path, git_env)


def check_command(folder: Path, *, stubborn: bool = False) -> str:
    """A check that records its shell's and its child's pids, says it started, and waits."""
    at = {name: shlex.quote(str(folder / name)) for name in ("shell", "child", "started")}
    ignore = "trap '' TERM; " if stubborn else ""  # a check that ignores SIGTERM, child too
    return (
        f"{ignore}echo $$ > {at['shell']}; sleep 30 & echo $! > {at['child']}; "
        f"touch {at['started']}; wait"
    )


@pytest.mark.parametrize(
    ("signum", "code", "stubborn"),
    [
        (signal.SIGTERM, 143, False),
        (signal.SIGINT, 130, False),
        (signal.SIGTERM, 143, True),
    ],
    ids=["sigterm", "sigint-to-stager-alone", "sigterm-check-ignores-it"],
)
def test_a_signal_during_the_check_stops_it_and_removes_its_worktree(
    split_demo: GitRepo,
    start: Callable[..., Run],
    tmp_path: Path,
    signum: int,
    code: int,
    stubborn: bool,
) -> None:
    before = user_state(split_demo)
    check = check_command(tmp_path, stubborn=stubborn)
    run = start("-C", str(split_demo.path), "verify", "--phase", "1", "--check", check)
    wait_for(tmp_path / "started", run)
    shell, child = (int((tmp_path / name).read_text()) for name in ("shell", "child"))
    births = {pid: started(pid) for pid in (shell, child)}  # a pid alone may be reused
    run.signal(signum)  # stager alone: its check runs on, unless stager stops it
    returncode, err = run.finish()
    assert returncode == code, err
    name = signal.Signals(signum).name
    assert err.splitlines()[-1].startswith(
        f"stager: {'interrupted' if code == 130 else 'terminated'} ({name})"
    )
    assert "Traceback" not in err
    for pid in (shell, child):
        assert ends_soon(pid, start=births[pid]), (
            f"the check's processes outlived stager: {described(pid)}, started at "
            f"{births[pid]}, now {started(pid)}"
        )
    assert worktrees(split_demo) == [str(split_demo.path)]
    assert not (split_demo.path / ".git" / "worktrees").exists() or not any(
        (split_demo.path / ".git" / "worktrees").iterdir()
    )
    assert sorted(path.name for path in run.tmpdir.iterdir()) == []
    assert user_state(split_demo) == before


def test_the_check_runs_in_a_process_group_of_its_own(
    split_demo: GitRepo, start: Callable[..., Run], tmp_path: Path
) -> None:
    """CI signals the job's group: stager stops the check itself, once, and cleans up."""
    run = start(
        "-C", str(split_demo.path), "verify", "--phase", "1", "--check", check_command(tmp_path)
    )
    wait_for(tmp_path / "started", run)
    shell = int((tmp_path / "shell").read_text())
    assert os.getpgid(shell) != os.getpgid(run.process.pid)
    run.signal(signal.SIGTERM, group=True)
    returncode, err = run.finish()
    assert returncode == 143, err
    assert ends_soon(shell) and worktrees(split_demo) == [str(split_demo.path)]
    assert list(run.tmpdir.iterdir()) == []


def git_that_waits(folder: Path, marker: Path, seconds: float = 1.0) -> Path:
    """A shim ``git``, first on PATH, that says when the ref transaction starts and holds it.

    No hook runs under stager (``core.hooksPath`` is sealed), so the pause is in
    the program stager starts for ``update-ref``: a signal that arrives then
    falls inside the window in which stager defers it.
    """
    folder.mkdir(exist_ok=True)
    shim = folder / "git"
    real_git = shutil.which("git")
    assert real_git is not None
    shim.write_text(
        "#!/bin/sh\n"
        'for arg in "$@"; do\n'
        '  if [ "$arg" = update-ref ]; then\n'
        f"    touch {shlex.quote(str(marker))}; sleep {seconds}; break\n"
        "  fi\n"
        "done\n"
        f'exec {shlex.quote(real_git)} "$@"\n'
    )
    shim.chmod(0o755)
    return folder


def phase_refs(repo: GitRepo) -> dict[str, str]:
    out = repo.git(
        "for-each-ref",
        "--format=%(refname) %(objectname)",
        "refs/heads/stage/",
        "refs/stager/record/",
    )
    return dict(line.split() for line in out.splitlines())


def test_sigterm_during_the_ref_transaction_lets_it_finish(
    demo: DemoRepository, git_env: dict[str, str], start: Callable[..., Run], tmp_path: Path
) -> None:
    """CI's SIGTERM reaches the job's group while git moves the refs: git finishes, then stager
    stops, and says the branches moved."""
    repo = GitRepo(demo.path, git_env)
    marker = tmp_path / "prepared"
    run = start(
        "-C", str(demo.path), "split", "--all", path=git_that_waits(tmp_path / "bin", marker)
    )
    wait_for(marker, run)
    run.signal(signal.SIGTERM, group=True)
    returncode, err = run.finish()
    assert returncode == 143, err
    assert "terminated (SIGTERM) once" in err and "all its refs moved" in err
    assert "the split was written first: stage/1-foundation" in err
    refs = phase_refs(repo)
    assert sorted(refs) == [
        *(f"refs/heads/{name}" for name in STAGES),
        "refs/stager/record/feature/fuel-credits-overhaul",
    ]
    verified = CliRunner().invoke(cli, ["-C", str(demo.path), "verify"])
    assert verified.exit_code == 0, verified.output
    assert list(run.tmpdir.iterdir()) == []


@pytest.mark.parametrize("delay", [0.3, 0.6, 0.8, 1.0])
def test_sigterm_at_any_moment_of_split_moves_every_ref_or_none(
    demo: DemoRepository, git_env: dict[str, str], start: Callable[..., Run], delay: float
) -> None:
    repo = GitRepo(demo.path, git_env)
    before = user_state(repo)
    run = start("-C", str(demo.path), "split", "--all")
    time.sleep(delay)
    run.signal(signal.SIGTERM, group=True)
    returncode, err = run.finish()
    assert returncode in (0, 143, -signal.SIGTERM), err  # -15: before stager's handler was set
    assert "Traceback" not in err
    assert len(phase_refs(repo)) in (0, len(STAGES) + 1), phase_refs(repo)
    assert list(run.tmpdir.iterdir()) == []
    index, head, _refs, status = user_state(repo)
    assert (index, head, status) == (before[0], before[1], before[3])


def test_sigterm_during_the_demo_removes_its_temporary_folder(
    git_env: dict[str, str], start: Callable[..., Run], tmp_path: Path
) -> None:
    """The demo's own folder (no DIRECTORY given) is junk once the demo is stopped."""
    marker = tmp_path / "prepared"
    run = start("demo", path=git_that_waits(tmp_path / "bin", marker))
    wait_for(marker, run)
    run.signal(signal.SIGTERM)
    returncode, err = run.finish()
    assert returncode == 143, err
    assert list(run.tmpdir.iterdir()) == []
