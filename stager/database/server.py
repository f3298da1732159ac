"""A throwaway PostgreSQL server: initdb into a temporary folder, started, stopped, removed.

The server listens on a free port of 127.0.0.1 and on a socket in its own
folder, with a random password (scram-sha-256, also on the socket), so no
other local user gets in during the run. It runs in a session of its own:
Ctrl-C in the terminal reaches stager, which stops the server (fast shutdown,
then SIGKILL) and removes its folder, also on error, SIGTERM and SIGHUP.
Durability is off (``fsync``, ``full_page_writes``): nothing in it outlives the run.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from pathlib import Path

from stager.database.account import Account, server_account
from stager.database.binaries import Binaries, find_binaries
from stager.database.errors import DatabaseError
from stager.database.psql import Connection, Psql, SqlFailed
from stager.interrupts import deferred

SUPERUSER = "stager"
FOLDER_PREFIX = "stager-postgres-"
START_SECONDS = 30.0
STOP_SECONDS = 10.0
_PORT_ATTEMPTS = 3
_LOG_TAIL = 15

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Server:
    """A running throwaway server: its folder, the postmaster's pid, and psql as superuser."""

    folder: Path
    pid: int
    admin: Psql

    @property
    def log(self) -> Path:
        """The server's log (stderr), with a line per connection (``log_connections``)."""
        return self.folder / "server.log"

    @property
    def connection(self) -> Connection:
        return self.admin.connection


def _quiet(_message: str) -> None:
    pass


@contextmanager
def throwaway_server(
    progress: Progress = _quiet, binaries: Binaries | None = None
) -> Iterator[Server]:
    """Start a server of the system's PostgreSQL; stop it and remove its folder afterwards."""
    binaries = binaries or find_binaries()
    account = server_account()
    folder = _make_folder(account)
    process: subprocess.Popen[bytes] | None = None
    try:
        progress("initdb: a new PostgreSQL cluster in a temporary folder")
        password = secrets.token_urlsafe(24)
        _initdb(binaries, account, folder, password)
        progress("starting PostgreSQL on 127.0.0.1")
        process, admin = _start(binaries, account, folder, password)
        yield Server(folder, process.pid, admin)
    finally:
        with deferred():  # a second Ctrl-C must not leave a server running
            if process is not None:
                _stop(process)
            shutil.rmtree(folder, ignore_errors=True)


def _make_folder(account: Account) -> Path:
    """A private temporary folder the server's account owns and can reach."""
    base = Path(tempfile.gettempdir())
    if not account.can_enter(base):  # e.g. pytest's 0700 folder of root: use the system's
        base = Path("/tmp")
        if not account.can_enter(base):
            raise DatabaseError(
                f"the account {account.name!r} that runs PostgreSQL cannot enter the temporary "
                f"folder {tempfile.gettempdir()}",
                "point TMPDIR at a folder every user may enter (chmod o+x), or run stager as a "
                "user that is not root",
            )
    folder = Path(tempfile.mkdtemp(prefix=FOLDER_PREFIX, dir=base))
    (folder / "socket").mkdir(mode=0o700)
    account.own(folder)
    account.own(folder / "socket")
    return folder


def _server_environment() -> dict[str, str]:
    keep = ("PATH", "TZ", "LANG")
    env = {key: os.environ[key] for key in keep if key in os.environ}
    env["LC_ALL"] = "C"
    return env


def _initdb(binaries: Binaries, account: Account, folder: Path, password: str) -> None:
    password_file = folder / "password"
    password_file.write_text(password + "\n")
    account.own(password_file)
    try:
        result = subprocess.run(
            [
                str(binaries.program("initdb")),
                f"--pgdata={folder / 'data'}",
                f"--username={SUPERUSER}",
                f"--pwfile={password_file}",
                "--auth=scram-sha-256",
                "--encoding=UTF8",
                "--no-locale",
                "--no-sync",  # a throwaway cluster: nothing to make durable
            ],
            cwd=folder,
            env=_server_environment(),
            capture_output=True,
            text=True,
            check=False,
            user=account.uid if account.switch else None,
            group=account.gid if account.switch else None,
            extra_groups=[] if account.switch else None,  # none of root's
        )
    except PermissionError as error:
        raise DatabaseError(
            f"permission denied running initdb as {account.name!r}: {error}",
            "run stager as root (it then uses an unprivileged account) or as the user "
            "that may run PostgreSQL's programs",
        ) from error
    finally:
        password_file.unlink(missing_ok=True)
    if result.returncode != 0:
        output = (result.stderr or result.stdout).strip()
        fix = (
            "check that the account may write the temporary folder (TMPDIR)"
            if "ermission denied" in output
            else None
        )
        raise DatabaseError(f"initdb failed: {_tail(output)}", fix)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start(
    binaries: Binaries, account: Account, folder: Path, password: str
) -> tuple[subprocess.Popen[bytes], Psql]:
    """Start the postmaster on a free port (another when someone took it meanwhile)."""
    for attempt in range(_PORT_ATTEMPTS):
        port = _free_port()
        process = _spawn(binaries, account, folder, port)
        # Ready when its private socket answers; then the TCP port must lead to it too.
        by_socket = Connection(str(folder / "socket"), port, SUPERUSER, password, "postgres")
        admin = Psql(binaries, replace(by_socket, host="127.0.0.1"))
        try:
            _wait_ready(process, Psql(binaries, by_socket), folder)
            _check_identity(admin, folder)
        except _PortTaken:
            _stop(process)
            if attempt + 1 == _PORT_ATTEMPTS:
                raise DatabaseError(
                    f"PostgreSQL found no free port on 127.0.0.1 in {_PORT_ATTEMPTS} tries",
                    "try again; if it persists, check what takes the ports",
                ) from None
            continue
        except BaseException:
            _stop(process)
            raise
        return process, admin
    raise AssertionError("unreachable")


def _spawn(
    binaries: Binaries, account: Account, folder: Path, port: int
) -> subprocess.Popen[bytes]:
    settings = {
        "listen_addresses": "127.0.0.1",
        "port": str(port),
        "unix_socket_directories": str(folder / "socket"),
        "unix_socket_permissions": "0700",
        "fsync": "off",
        "full_page_writes": "off",
        "synchronous_commit": "off",
        "log_connections": "on",  # the proof that a project's Alembic connected here
        "logging_collector": "off",
        "max_connections": "30",
        "shared_buffers": "16MB",
    }
    options = [part for key, value in settings.items() for part in ("-c", f"{key}={value}")]
    with (folder / "server.log").open("ab") as log:
        return subprocess.Popen(
            [str(binaries.program("postgres")), "-D", str(folder / "data"), *options],
            cwd=folder,
            env=_server_environment(),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # out of reach of the terminal's Ctrl-C: stager stops it
            user=account.uid if account.switch else None,
            group=account.gid if account.switch else None,
            extra_groups=[] if account.switch else None,  # none of root's
        )


class _PortTaken(Exception):
    pass


def _wait_ready(process: subprocess.Popen[bytes], admin: Psql, folder: Path) -> None:
    deadline = time.monotonic() + START_SECONDS
    while True:
        if process.poll() is not None:
            log = _log_tail(folder)
            if "Address already in use" in log or "could not bind" in log:
                raise _PortTaken
            raise DatabaseError(f"PostgreSQL stopped while starting: {log}")
        try:
            admin.run("SELECT 1;")
        except SqlFailed as error:
            if time.monotonic() > deadline:
                raise DatabaseError(
                    f"PostgreSQL did not accept connections within {START_SECONDS:.0f} s: "
                    f"{_tail(error.output)}; its log: {_log_tail(folder)}"
                ) from error
            time.sleep(0.05)
            continue
        return


def _check_identity(admin: Psql, folder: Path) -> None:
    """The server on 127.0.0.1:port is ours: its data directory is our folder's."""
    found = admin.run("SELECT current_setting('data_directory');").strip()
    if Path(found) != folder / "data":
        raise DatabaseError(
            f"another PostgreSQL answers on 127.0.0.1:{admin.connection.port} (its data is in "
            f"{found})",
            "try again; stager picks a free port each time",
        )


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Fast shutdown (SIGINT to the postmaster); SIGKILL to its group when it hangs."""
    if process.poll() is None:
        with suppress(ProcessLookupError):
            process.send_signal(signal.SIGINT)
        try:
            process.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)  # its backends too: same session
            process.wait()
    process.wait()


def _log_tail(folder: Path) -> str:
    try:
        text = (folder / "server.log").read_text(errors="replace")
    except OSError:
        return "(no log)"
    return _tail(text)


def _tail(text: str) -> str:
    return " | ".join(text.strip().splitlines()[-_LOG_TAIL:])
