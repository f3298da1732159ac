"""Which account runs the server: stager's own, or an unprivileged one when stager is root.

PostgreSQL refuses to run as root. As root, stager runs ``initdb`` and the
server as :data:`SERVER_ACCOUNT` (created with ``useradd`` when missing: a
system account without a home or a login shell) and gives it the server's
folder. Any other user runs the server as themselves.
"""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

from stager.database.errors import DatabaseError

SERVER_ACCOUNT = "stager-postgres"


@dataclass(frozen=True)
class Account:
    """The user and group the server runs as; ``switch``: they differ from stager's own."""

    name: str
    uid: int
    gid: int
    switch: bool

    def can_enter(self, folder: Path) -> bool:
        """Every folder from ``/`` down to ``folder`` lets this account through (x bit)."""
        if not self.switch:
            return True
        for part in [folder, *folder.parents]:
            mode = part.stat()
            if mode.st_uid == self.uid:
                allowed = bool(mode.st_mode & stat.S_IXUSR)
            elif mode.st_gid == self.gid:
                allowed = bool(mode.st_mode & stat.S_IXGRP)
            else:
                allowed = bool(mode.st_mode & stat.S_IXOTH)
            if not allowed:
                return False
        return True

    def own(self, path: Path) -> None:
        """Give ``path`` to the account (nothing to do when it is stager's own)."""
        if self.switch:
            os.chown(path, self.uid, self.gid)


def server_account(name: str = SERVER_ACCOUNT) -> Account:
    """stager's own account, or (as root) ``name``, created when it does not exist."""
    if os.geteuid() != 0:
        return Account(pwd.getpwuid(os.geteuid()).pw_name, os.geteuid(), os.getegid(), False)
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        _create(name)
        entry = pwd.getpwnam(name)
    if entry.pw_uid == 0:
        raise DatabaseError(
            f"the account {name!r} that would run PostgreSQL is root, and PostgreSQL refuses root",
            f"remove it (userdel {name}) so stager creates an unprivileged one, "
            "or run stager as a user that is not root",
        )
    return Account(name, entry.pw_uid, entry.pw_gid, True)


def _create(name: str) -> None:
    useradd = shutil.which("useradd") or "/usr/sbin/useradd"
    nologin = "/usr/sbin/nologin" if Path("/usr/sbin/nologin").exists() else "/bin/false"
    try:
        result = subprocess.run(
            [useradd, "--system", "--no-create-home", "--user-group", "--shell", nologin, name],
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError as error:
        result = subprocess.CompletedProcess([useradd], 127, "", str(error))
    if result.returncode != 0 and not _exists(name):  # another run may have made it meanwhile
        raise DatabaseError(
            f"PostgreSQL refuses to run as root, and stager could not create the unprivileged "
            f"account {name!r} to run it: {result.stderr.strip() or 'useradd failed'}",
            f"create it (useradd --system --user-group {name}) or run stager as a user "
            "that is not root",
        )


def _exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True
