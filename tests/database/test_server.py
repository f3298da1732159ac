"""The throwaway server: it runs unprivileged, lets only stager in, and leaves nothing behind."""

from __future__ import annotations

import os
import pwd
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from stager.database.account import SERVER_ACCOUNT
from stager.database.binaries import Binaries, find_binaries
from stager.database.errors import DatabaseError
from stager.database.psql import Psql, SqlFailed
from stager.database.server import Server, throwaway_server
from tests.processes import gone


def test_the_server_answers_stager_and_runs_unprivileged(server: Server) -> None:
    rows = server.admin.json("SELECT current_user AS who, inet_server_addr()::text AS addr")
    assert rows == [{"who": "stager", "addr": "127.0.0.1/32"}]
    owner = Path(f"/proc/{server.pid}").stat().st_uid
    assert owner != 0
    if os.geteuid() == 0:  # root: the account stager made for it
        assert pwd.getpwuid(owner).pw_name == SERVER_ACCOUNT


def test_the_server_refuses_a_connection_without_its_password(server: Server) -> None:
    stranger = Psql(server.admin.binaries, replace(server.connection, password=""))
    with pytest.raises(SqlFailed, match="password"):
        stranger.run("SELECT 1;")


def test_an_error_inside_stops_the_server_and_removes_its_folder(
    postgres_binaries: Binaries,
) -> None:
    with pytest.raises(RuntimeError), throwaway_server(binaries=postgres_binaries) as started:
        raise RuntimeError("the phase failed")
    assert gone(started.pid)
    assert not started.folder.exists()


_STARTS_AND_WAITS = """
import sys, time
from stager.database.server import throwaway_server
from stager.interrupts import stop_like_ctrl_c
with stop_like_ctrl_c():
    try:
        with throwaway_server() as server:
            print(server.pid, server.folder, flush=True)
            time.sleep(60)
    except KeyboardInterrupt:
        sys.exit(143)
"""


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_stopping_signal_stops_the_server_and_removes_its_folder(
    postgres_binaries: Binaries, signum: int
) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", _STARTS_AND_WAITS],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])},
    )
    assert child.stdout is not None
    pid_text, folder_text = child.stdout.readline().split(maxsplit=1)
    pid, folder = int(pid_text), Path(folder_text.strip())
    assert not gone(pid)
    assert folder.is_dir()
    child.send_signal(signum)
    assert child.wait(30) == 143
    child.stdout.close()
    deadline = time.monotonic() + 5
    while not gone(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert gone(pid)
    assert not folder.exists()


def test_no_postgresql_installed_says_how_to_install_it(tmp_path: Path) -> None:
    with pytest.raises(DatabaseError) as raised:
        find_binaries(path_variable=str(tmp_path), debian_root=tmp_path)
    assert "PostgreSQL is not installed" in str(raised.value)
    assert "apt-get install postgresql" in str(raised.value)
    assert "--database-url" in str(raised.value)
