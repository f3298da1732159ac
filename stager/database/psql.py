"""Talking to PostgreSQL through its own ``psql``: no driver to install, one process per call.

Every call gets a sealed environment: the password from the connection, no
password or service file of the user's, no ``PG*`` variable of theirs, so
that stager reaches exactly the server it names and nothing else.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote

from stager.database.binaries import Binaries
from stager.database.errors import DatabaseError

STAGER_APPLICATION = "stager"
"""The ``application_name`` of stager's own connections."""
CONNECT_TIMEOUT_SECONDS = 10
_TAIL_LINES = 12


def quote_ident(name: str) -> str:
    """``name`` as a SQL identifier, quoted."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    """``text`` as a SQL string literal (standard_conforming_strings is on since 9.1)."""
    return "'" + text.replace("'", "''") + "'"


@dataclass(frozen=True)
class Connection:
    """Where one database is: a host (or a socket folder), a port, a user and its password."""

    host: str
    port: int
    user: str
    password: str
    database: str
    options: tuple[tuple[str, str], ...] = field(default=())  # e.g. sslmode, from a URL

    def on(self, database: str) -> Connection:
        """The same server and user, another database."""
        return replace(self, database=database)

    def url(self, scheme: str = "postgresql") -> str:
        """A URL for the database (``postgresql+psycopg2`` for SQLAlchemy, for instance)."""
        user = quote(self.user, safe="")
        password = f":{quote(self.password, safe='')}" if self.password else ""
        host = f"[{self.host}]" if ":" in self.host else self.host
        query = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in self.options)
        tail = f"?{query}" if query else ""
        return (
            f"{scheme}://{user}{password}@{host}:{self.port}/{quote(self.database, safe='')}{tail}"
        )

    def conninfo(self, application: str = STAGER_APPLICATION) -> str:
        """libpq's keyword form; the password travels in the environment, not in argv."""
        pairs = [
            ("host", self.host),
            ("port", str(self.port)),
            ("user", self.user),
            ("dbname", self.database),
            ("application_name", application),
            ("connect_timeout", str(CONNECT_TIMEOUT_SECONDS)),
            *self.options,
        ]
        return " ".join(f"{key}={_conninfo_value(value)}" for key, value in pairs)


def _conninfo_value(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def sealed_environment(password: str = "") -> dict[str, str]:
    """What libpq reads for stager's own calls: nothing of the user's ``PG*`` settings."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("PG") and key not in {"DATABASE_URL"}
    }
    env.update(
        {
            "PGPASSFILE": os.devnull,
            "PGSERVICEFILE": os.devnull,
            "PGSYSCONFDIR": os.devnull,
            "PGCONNECT_TIMEOUT": str(CONNECT_TIMEOUT_SECONDS),
            "LC_ALL": "C",
        }
    )
    if password:
        env["PGPASSWORD"] = password
    return env


class SqlFailed(DatabaseError):
    """psql ran, and the server refused or could not be reached; ``output`` is psql's stderr."""

    def __init__(self, problem: str, fix: str | None, output: str) -> None:
        super().__init__(problem, fix)
        self.output = output


@dataclass(frozen=True)
class Psql:
    """``psql`` of ``binaries``, on one connection."""

    binaries: Binaries
    connection: Connection

    def on(self, database: str) -> Psql:
        return Psql(self.binaries, self.connection.on(database))

    def run(self, sql: str) -> str:
        """Run ``sql`` (one or more statements, stopping at the first error); psql's output."""
        command = [
            str(self.binaries.program("psql")),
            "--no-psqlrc",
            "--quiet",
            "--no-align",
            "--tuples-only",
            "--set=ON_ERROR_STOP=1",
            f"--dbname={self.connection.conninfo()}",
            "--file=-",
        ]
        try:
            result = subprocess.run(
                command,
                input=sql,
                capture_output=True,
                text=True,
                env=sealed_environment(self.connection.password),
                check=False,
            )
        except OSError as error:
            raise DatabaseError(
                f"cannot run {command[0]}: {error}", "install PostgreSQL's client (psql)"
            ) from error
        if result.returncode != 0:
            raise _failure(self.connection, result.stderr)
        return result.stdout

    def value(self, query: str) -> Any:
        """The one JSON value ``query`` selects (one row, one column)."""
        return json.loads(self.run(query.rstrip().rstrip(";") + ";"))

    def json(self, query: str) -> Any:
        """The rows of ``query`` as a list of JSON objects, one per row."""
        wrapped = f"SELECT coalesce(json_agg(row_to_json(q)), '[]') FROM ({query}) AS q;"
        return json.loads(self.run(wrapped))


def _failure(connection: Connection, stderr: str) -> SqlFailed:
    tail = "\n".join(stderr.strip().splitlines()[-_TAIL_LINES:])
    where = f"{connection.host}:{connection.port}/{connection.database}"
    if "permission denied" in stderr or "must be owner" in stderr:
        return SqlFailed(
            f"PostgreSQL at {where} refused user {connection.user!r}: {tail}",
            "give a user that may create databases (CREATEDB) in --database-url",
            stderr,
        )
    if "could not connect" in stderr or "Connection refused" in stderr or "timeout" in stderr:
        return SqlFailed(
            f"cannot reach PostgreSQL at {where}: {tail}",
            "check that the server runs and that host, port, user and password of "
            "--database-url are right",
            stderr,
        )
    if "password authentication failed" in stderr or "no password supplied" in stderr:
        return SqlFailed(
            f"PostgreSQL at {where} refused the password of {connection.user!r}: {tail}",
            "give the right password in --database-url (postgresql://USER:PASSWORD@HOST/DB)",
            stderr,
        )
    return SqlFailed(f"PostgreSQL at {where} failed: {tail}", None, stderr)
