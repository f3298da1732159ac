"""--database-url: a fresh database of stager's own, dropped afterwards; no other one touched."""

from __future__ import annotations

import secrets
import socket
from dataclasses import replace

import pytest

from stager.database.errors import DatabaseError
from stager.database.fresh import NAME_PREFIX, database_at_url, parse_url
from stager.database.server import Server
from tests.database.conftest import databases


def test_database_url_creates_a_fresh_database_and_drops_it(server: Server, bystander: str) -> None:
    before = databases(server)
    url = server.connection.on(bystander).url("postgresql+psycopg2")
    with database_at_url(url, server.admin.binaries) as psql:
        name = psql.connection.database
        assert name.startswith(NAME_PREFIX)
        assert databases(server) == before | {name}
        assert psql.json("SELECT count(*) AS n FROM pg_tables WHERE schemaname = 'public'") == [
            {"n": 0}
        ]
        psql.run("CREATE TABLE scratch (id int);")
        psql.run(f"SELECT 1 FROM pg_database WHERE datname = '{bystander}';")
    assert databases(server) == before
    rows = server.admin.on(bystander).json("SELECT id FROM precious")
    assert rows == [{"id": 1}]


def test_database_url_is_dropped_even_when_the_work_fails(server: Server) -> None:
    before = databases(server)
    with (
        pytest.raises(RuntimeError),
        database_at_url(server.connection.url(), server.admin.binaries),
    ):
        raise RuntimeError("a phase failed")
    assert databases(server) == before


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_unreachable_url_says_so_with_the_fix(server: Server) -> None:
    url = f"postgresql://someone:secret@127.0.0.1:{_free_port()}/app"
    with pytest.raises(DatabaseError) as raised, database_at_url(url, server.admin.binaries):
        pass
    message = str(raised.value)
    assert "cannot reach PostgreSQL at 127.0.0.1" in message
    assert "check that the server runs" in message
    assert "secret" not in message


def test_a_user_that_may_not_create_databases_is_told_what_it_needs(server: Server) -> None:
    user = f"plain_{secrets.token_hex(4)}"
    server.admin.run(f"CREATE ROLE {user} LOGIN PASSWORD 'pw';")
    try:
        plain = replace(server.connection, user=user, password="pw")
        with (
            pytest.raises(DatabaseError) as raised,
            database_at_url(plain.url(), server.admin.binaries),
        ):
            pass
    finally:
        server.admin.run(f"DROP ROLE {user};")
    assert "refused user" in str(raised.value)
    assert "CREATEDB" in str(raised.value)


def test_a_url_of_another_database_system_is_refused() -> None:
    with pytest.raises(DatabaseError, match="is not a PostgreSQL URL"):
        parse_url("mysql://root:pw@localhost/app")


def test_a_url_is_read_with_its_driver_options_and_quoted_password() -> None:
    scheme, connection = parse_url(
        "postgresql+psycopg://ann:p%40ss@db.example:6543/app?sslmode=require"
    )
    assert scheme == "postgresql+psycopg"
    assert (connection.host, connection.port, connection.user, connection.password) == (
        "db.example",
        6543,
        "ann",
        "p@ss",
    )
    assert connection.database == "app"
    assert connection.options == (("sslmode", "require"),)
    assert (
        connection.url(scheme)
        == "postgresql+psycopg://ann:p%40ss@db.example:6543/app?sslmode=require"
    )
