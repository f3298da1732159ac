"""The quarantine lives in the repository's object store; stale ones go, live ones stay."""

from __future__ import annotations

import fcntl
import os
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from stager.cli import cli
from stager.errors import StagerError
from stager.git.process_owner import Owner, process_start
from stager.git.quarantine import remove_stale
from stager.git.repository import Repository
from stager.git.write import Writer
from tests.branches.helpers import feature_repo
from tests.gitrepo import GitRepo

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="pids and flock are POSIX's")

HOST = os.uname().nodename if sys.platform != "win32" else ""


def objects_of(repo: GitRepo) -> Path:
    return repo.path / ".git" / "objects"


def split_all(repo: GitRepo) -> None:
    result = CliRunner().invoke(cli, ["-C", str(repo.path), "split", "--all"])
    assert result.exit_code == 0, result.output
    assert repo.git("branch", "--list", "stage/*")


def test_the_quarantine_is_a_locked_folder_of_the_object_store(repo: GitRepo) -> None:
    repo.commit("one", {"a": "1\n"})
    with Writer(Repository(repo.path)) as writer:
        quarantine = Path(writer.env["GIT_OBJECT_DIRECTORY"])
        folder = quarantine.parent
        assert folder.parent == objects_of(repo)
        assert folder.name.startswith(f"tmp_stager-{os.getpid()}-")
        owner = Owner.parse((folder / "owner").read_bytes())
        assert owner == Owner(os.getpid(), process_start(os.getpid()), HOST)
        assert remove_stale(objects_of(repo)) == []  # its own run is alive
    assert not folder.exists()


def test_a_linked_worktree_quarantines_in_the_common_object_store(
    repo: GitRepo, tmp_path: Path
) -> None:
    repo.commit("one", {"a": "1\n"})
    linked = tmp_path / "linked"
    repo.git("worktree", "add", "-q", "--detach", str(linked))
    with Writer(Repository(linked)) as writer:
        folder = Path(writer.env["GIT_OBJECT_DIRECTORY"]).parent
        assert folder.parent == objects_of(repo)


def test_split_writes_nothing_in_the_temporary_folder(
    repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full or missing /tmp (Python would fall back to it) cannot stop a split."""
    feature_repo(repo)
    missing = tmp_path / "no-such-folder"
    monkeypatch.setenv("TMPDIR", str(missing))
    monkeypatch.setattr(tempfile, "tempdir", str(missing))
    split_all(repo)


@pytest.fixture
def shm_tmpdir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """TMPDIR on another filesystem than the repository: /dev/shm (tmpfs)."""
    shm = Path("/dev/shm")
    if not shm.is_dir() or shm.stat().st_dev == tmp_path.stat().st_dev:
        pytest.skip("needs /dev/shm on another filesystem than the temporary folder")
    folder = Path(tempfile.mkdtemp(dir=shm))
    monkeypatch.setenv("TMPDIR", str(folder))
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    try:
        yield folder
    finally:
        left = sorted(path.name for path in folder.iterdir())
        for path in folder.iterdir():
            subprocess.run(["rm", "-rf", str(path)], check=True)
        folder.rmdir()
        assert not left, f"left in TMPDIR: {left}"


def test_split_and_verify_with_tmpdir_on_another_filesystem(
    repo: GitRepo, shm_tmpdir: Path
) -> None:
    feature_repo(repo)
    split_all(repo)
    verified = CliRunner().invoke(
        cli, ["-C", str(repo.path), "verify", "--all", "--check", "git status --short"]
    )
    assert verified.exit_code == 0, verified.output
    assert repo.git("fsck", "--no-dangling") == ""


def test_a_shared_repository_shares_the_quarantine(tmp_path: Path, git_env: dict[str, str]) -> None:
    repo = GitRepo(tmp_path / "shared", git_env)
    repo.path.mkdir()
    repo.git("init", "-q", "--shared=group", "-b", "main")
    repo.commit("one", {"a": "1\n"})
    objects = objects_of(repo)
    with Writer(Repository(repo.path)) as writer:
        folder = Path(writer.env["GIT_OBJECT_DIRECTORY"]).parent
        assert stat.S_IMODE(folder.stat().st_mode) == stat.S_IMODE(objects.stat().st_mode)
        assert folder.stat().st_mode & stat.S_IWGRP


def test_a_dry_run_on_a_read_only_object_store_quarantines_elsewhere(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo.commit("one", {"a": "1\n"})
    objects = objects_of(repo)
    make = tempfile.mkdtemp

    def read_only(prefix: str | None = None, dir: str | Path | None = None) -> str:
        if dir is not None and Path(dir) == objects:
            raise PermissionError(13, "Permission denied")
        return make(prefix=prefix, dir=dir)

    monkeypatch.setattr(tempfile, "mkdtemp", read_only)
    with Writer(Repository(repo.path), dry_run=True) as writer:
        folder = Path(writer.env["GIT_OBJECT_DIRECTORY"]).parent
        assert folder.parent == Path(tempfile.gettempdir())
    assert not folder.exists()
    with pytest.raises(StagerError, match="cannot write in the repository's object folder"):
        Writer(Repository(repo.path))


# -- stale quarantines --------------------------------------------------------


def dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def quarantine(objects: Path, pid: int, owner: bytes | None) -> Path:
    """A quarantine as a run of ``pid`` leaves it when killed; ``owner``: its lock file's line."""
    folder = objects / f"tmp_stager-{pid}-k1ll3d"
    (folder / "objects" / "ab").mkdir(parents=True)
    (folder / "objects" / "ab" / "cdef").write_bytes(b"an object")
    if owner is not None:
        (folder / "owner").write_bytes(owner)
    return folder


@pytest.fixture
def objects(repo: GitRepo) -> Path:
    repo.commit("one", {"a": "1\n"})
    return objects_of(repo)


def test_the_next_run_removes_the_quarantine_of_a_killed_run(repo: GitRepo, objects: Path) -> None:
    pid = dead_pid()
    killed = quarantine(objects, pid, Owner(pid, "12345", HOST).line())
    with Writer(Repository(repo.path)):
        assert not killed.exists()


def test_a_reused_pid_does_not_keep_a_stale_quarantine(objects: Path) -> None:
    me = os.getpid()
    if not process_start(me):
        pytest.skip("no process start times here (no /proc)")
    reused = quarantine(objects, me, Owner(me, "1", HOST).line())
    assert remove_stale(objects) == [reused]


def test_a_quarantine_killed_before_its_lock_file_is_judged_by_its_name(objects: Path) -> None:
    dead = quarantine(objects, dead_pid(), None)
    being_made = quarantine(objects, os.getpid(), b"")  # its run has not written the line yet
    assert remove_stale(objects) == [dead]
    assert being_made.exists()


def test_a_locked_quarantine_is_kept_whatever_its_pid(objects: Path) -> None:
    """A run in another pid namespace (a container) holds its lock: its pid means nothing here."""
    pid = dead_pid()
    folder = quarantine(objects, pid, Owner(pid, "", HOST).line())
    with (folder / "owner").open("rb") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        assert remove_stale(objects) == []
    assert remove_stale(objects) == [folder]


def test_live_foreign_and_gits_own_folders_are_kept(objects: Path) -> None:
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        start = process_start(sleeper.pid)
        alive = quarantine(objects, sleeper.pid, Owner(sleeper.pid, start, HOST).line())
        pid = dead_pid()
        elsewhere = quarantine(objects, pid, Owner(pid, "", "another-host").line())
        receiving = objects / "tmp_objdir-incoming-Ab12Cd"  # git's own, a receive-pack's
        receiving.mkdir()
        not_a_folder = objects / f"tmp_stager-{dead_pid()}-file"
        not_a_folder.write_bytes(b"")
        assert remove_stale(objects) == []
        assert {alive, elsewhere, receiving, not_a_folder} <= set(objects.iterdir())
    finally:
        sleeper.kill()
        sleeper.wait()
