"""The quarantine: the folder in the repository's object store where a run's objects wait.

``<objects>/tmp_stager-<pid>-<random>/`` (``git rev-parse --git-path objects``,
the common folder's for a linked worktree) holds ``objects/``, the run's
``GIT_OBJECT_DIRECTORY``, the run's scratch files, and ``owner``: the lock
file, one line ``<pid> <start time> <host>``, locked (``flock``) while the run
lives. Inside the object store, the quarantine is on the filesystem that
receives its objects: a small tmpfs, a full ``/tmp`` or a ``.git`` on a mount
of its own cannot stop a split. It takes the object folder's permissions, so a
shared repository (``git init --shared``, ``core.sharedRepository``) shares it
with the group, who may then remove it when it is stale.

A run killed with SIGKILL cannot remove its quarantine: the next run that
writes does (:func:`remove_stale`), and only ``tmp_stager-*`` folders whose
owner is gone. git's own ``tmp_objdir-*`` (a running ``receive-pack``'s) is
never touched. (``git gc`` removes both kinds too, like any ``tmp_*`` of the
object store, once older than ``gc.pruneExpire``: two weeks by default.)
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path
from typing import BinaryIO

from stager.errors import StagerError
from stager.git.process_owner import Owner, process_start, this_host

if sys.platform != "win32":
    import fcntl

PREFIX = "tmp_stager-"
_NAME = re.compile(r"tmp_stager-(\d+)-\w+")


class Quarantine:
    """A run's folder in the object store, locked while the run lives; ``close`` removes it."""

    def __init__(self, objects: Path, *, elsewhere_ok: bool = False) -> None:
        """Make the folder in ``objects``; ``elsewhere_ok``: in the system's temporary
        folder when ``objects`` is read-only (a dry run, which never migrates).
        """
        try:
            self.folder = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-", dir=objects))
        except OSError as error:
            if not elsewhere_ok:
                raise StagerError(
                    f"cannot write in the repository's object folder {objects}: "
                    f"{error.strerror or error}; nothing was changed",
                    f"check its owner and free space (`ls -ld {objects}`, `df -h {objects}`)",
                ) from None
            self.folder = Path(tempfile.mkdtemp(prefix="stager-"))
        else:
            self.folder.chmod(objects.stat().st_mode & 0o7777)
        self._lock = _claim(self.folder / "owner")
        self.objects = self.folder / "objects"
        self.objects.mkdir()

    def close(self) -> None:
        """Remove the folder with whatever is left in it, then release the lock."""
        shutil.rmtree(self.folder, ignore_errors=True)
        self._lock.close()


def _claim(path: Path) -> BinaryIO:
    """Create and lock the lock file; it stays open (and locked) until the run ends."""
    lock = path.open("wb")
    if sys.platform != "win32":
        # a filesystem without locks: the pid and start time still tell
        with contextlib.suppress(OSError):
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    pid = os.getpid()
    lock.write(Owner(pid, process_start(pid), this_host()).line())
    lock.flush()
    return lock


def _locked(path: Path) -> bool:
    """True while a live run holds the lock of ``path`` (or when that cannot be told)."""
    if sys.platform == "win32":
        return True
    try:
        with path.open("rb") as lock:
            fcntl.flock(lock, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError as error:
        # EWOULDBLOCK: held; other errors (no locks on this filesystem) leave it to the pid
        return error.errno in (errno.EWOULDBLOCK, errno.EACCES, errno.EAGAIN)
    return False


def stale(folder: Path) -> bool:
    """True when ``folder`` is a quarantine of stager whose run is gone."""
    named = _NAME.fullmatch(folder.name)
    if named is None:
        return False
    try:
        owner = Owner.parse((folder / "owner").read_bytes())
    except FileNotFoundError:
        owner = None
    except OSError:
        return False
    if owner is None:  # killed before its lock file was written, or being made right now
        return not Owner(int(named.group(1)), "", this_host()).alive()
    if owner.host != this_host():
        return False  # another machine's run (a shared filesystem): its processes are not ours
    return not _locked(folder / "owner") and not owner.alive()


def remove_stale(objects: Path) -> list[Path]:
    """Remove the quarantines of runs that are gone (SIGKILL); the folders removed."""
    removed = []
    try:
        entries = list(os.scandir(objects))
    except OSError:
        return []
    for entry in entries:
        if entry.name.startswith(PREFIX) and entry.is_dir(follow_symlinks=False):
            folder = Path(entry.path)
            if stale(folder):
                shutil.rmtree(folder, ignore_errors=True)  # another run may be removing it too
                removed.append(folder)
    return removed
