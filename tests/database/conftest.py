"""One throwaway PostgreSQL server for the whole session, and nothing of it left afterwards.

Without PostgreSQL's programs the tests of this folder are skipped, unless
``STAGER_REQUIRE_POSTGRES=1`` (``.ci/run`` sets it): then they fail. The
variable is read when this file is imported, before the session seals the
environment.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import pytest

from stager.database.binaries import Binaries, find_binaries
from stager.database.errors import DatabaseError
from stager.database.fresh import fresh_database
from stager.database.psql import Psql, quote_ident
from stager.database.server import Server, throwaway_server
from tests.processes import gone

REQUIRE_POSTGRES = os.environ.get("STAGER_REQUIRE_POSTGRES") == "1"


@pytest.fixture(scope="session")
def postgres_binaries() -> Binaries:
    """The system's PostgreSQL; skip (or, when it is required, fail) without one."""
    try:
        return find_binaries(("initdb", "postgres", "psql", "pg_dump"))
    except DatabaseError as error:
        if REQUIRE_POSTGRES:
            pytest.fail(f"STAGER_REQUIRE_POSTGRES=1 but {error}")
        pytest.skip(str(error))


@pytest.fixture(scope="session")
def alembic_driver() -> None:
    """The projects these tests run need alembic and SQLAlchemy's PostgreSQL driver (psycopg)."""
    try:
        import alembic  # noqa: F401
        import psycopg  # noqa: F401
    except ImportError as error:
        if REQUIRE_POSTGRES:
            pytest.fail(f"STAGER_REQUIRE_POSTGRES=1 but {error}: pip install -e '.[dev]'")
        pytest.skip(f"{error}: pip install -e '.[dev]'")


@pytest.fixture(scope="session")
def server(postgres_binaries: Binaries) -> Iterator[Server]:
    """The session's server; after the session its process and its folder must be gone."""
    with throwaway_server(binaries=postgres_binaries) as started:
        yield started
    assert gone(started.pid), f"the test server (pid {started.pid}) still runs"
    assert not started.folder.exists(), f"the test server left {started.folder} behind"


@pytest.fixture
def database(server: Server) -> Iterator[Psql]:
    """A fresh, empty database on the session's server for one test, dropped after it."""
    with fresh_database(server.admin) as psql:
        yield psql


def databases(server: Server) -> set[str]:
    """Every database of ``server``, by name."""
    return {row["datname"] for row in server.admin.json("SELECT datname FROM pg_database")}


@pytest.fixture
def bystander(server: Server) -> Iterator[str]:
    """A database of someone else's on the server, with a table and a row in it."""
    name = f"bystander_{secrets.token_hex(4)}"
    server.admin.run(f"CREATE DATABASE {quote_ident(name)};")
    server.admin.on(name).run("CREATE TABLE precious (id int); INSERT INTO precious VALUES (1);")
    yield name
    server.admin.run(f"DROP DATABASE {quote_ident(name)} WITH (FORCE);")
