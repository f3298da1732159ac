"""The one database stager works in: created fresh, dropped afterwards, nothing else touched.

On the throwaway server and on a server of ``--database-url`` alike, stager
creates a database of its own (``stager_verify_<random>``) and drops it with
``DROP DATABASE … WITH (FORCE)`` when done, also on error and Ctrl-C. It
never drops, alters or connects to a database it did not create, but for the
URL's own database, which it only connects to in order to create its own.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import parse_qsl, unquote, urlsplit

from stager.database.binaries import Binaries
from stager.database.errors import DatabaseError
from stager.database.psql import Connection, Psql, quote_ident
from stager.interrupts import deferred

NAME_PREFIX = "stager_verify_"
DEFAULT_PORT = 5432
_SCHEMES = ("postgresql", "postgres")


def parse_url(url: str) -> tuple[str, Connection]:
    """``postgresql[+driver]://USER:PASSWORD@HOST:PORT/DB?opts``: its scheme and connection."""
    parts = urlsplit(url)
    scheme = parts.scheme
    if scheme.split("+", 1)[0] not in _SCHEMES:
        raise DatabaseError(
            f"--database-url {_without_password(url)!r} is not a PostgreSQL URL",
            "write it as postgresql://USER:PASSWORD@HOST:PORT/DATABASE",
        )
    try:
        port = parts.port or DEFAULT_PORT
    except ValueError as error:
        raise DatabaseError(
            f"--database-url {_without_password(url)!r} has a bad port: {error}",
            "write the port as a number: postgresql://USER@HOST:5432/DATABASE",
        ) from error
    connection = Connection(
        host=parts.hostname or "localhost",
        port=port,
        user=unquote(parts.username or "postgres"),
        password=unquote(parts.password or ""),
        database=unquote(parts.path.lstrip("/")) or "postgres",
        options=tuple(parse_qsl(parts.query)),
    )
    return scheme, connection


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


@contextmanager
def fresh_database(admin: Psql) -> Iterator[Psql]:
    """A new, empty database on ``admin``'s server, dropped afterwards; psql on it."""
    name = NAME_PREFIX + secrets.token_hex(6)
    admin.run(f"CREATE DATABASE {quote_ident(name)};")
    try:
        yield admin.on(name)
    finally:
        with deferred():  # dropping takes well under a second; never leave it half done
            admin.run(f"DROP DATABASE IF EXISTS {quote_ident(name)} WITH (FORCE);")


@contextmanager
def database_at_url(url: str, binaries: Binaries) -> Iterator[Psql]:
    """A fresh database on the server of ``url`` (the URL's database only connects)."""
    _scheme, connection = parse_url(url)
    with fresh_database(Psql(binaries, connection)) as psql:
        yield psql
