"""The project's Alembic on stager's database, one step at a time, in a temporary tree.

A step is one ``alembic`` command in a temporary detached worktree of a
commit (or a folder of files already written out). Before any step, the
routing is proven: the project's ``alembic current`` must read stager's
database (a probe revision stager writes into the project's version table,
:mod:`stager.database.version_table`, shows up in its output) and print no
revision once the probe is gone, and stager's server must have logged the
connection with stager's ``application_name``.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from stager.database.alembic_run import PROJECT_APPLICATION, AlembicOutcome, ProjectAlembic
from stager.database.errors import DatabaseError
from stager.database.package_origin import package_folders
from stager.database.psql import Connection, Psql
from stager.database.server import Progress
from stager.database.version_table import CONFIGURED, FIX, Located, probe_revision
from stager.git.refs import worktree_add, worktree_remove
from stager.git.repository import Repository
from stager.interrupts import deferred
from stager.types import Sha, VersionTable

PROBE_REVISION = "stager_routing_probe"
_TAIL = 15


@dataclass(frozen=True)
class Step:
    """One Alembic step: ``ok``, ``irreversible`` (a downgrade that raises on purpose), …"""

    status: str  # "ok" | "failed" | "irreversible" | "skipped"
    tail: tuple[str, ...] = ()

    @property
    def failed(self) -> bool:
        return self.status == "failed"


SKIPPED = Step("skipped")


_ELSEWHERE = re.compile(
    r'connection to server (?:at "(?P<host>[^"]+)"(?: \([^)]*\))?, port (?P<port>\d+)'
    r'|on socket "(?P<socket>[^"]+)")'
)


_MISSING_MODULE = re.compile(
    r"(?:ModuleNotFoundError|ImportError): No module named '?(?P<name>[\w.]+)'?"
)


def _held(tree: Path, module: str) -> Path | None:
    """The package of the tree that ``module`` (``app.models``) would come from, if any."""
    top = module.split(".", maxsplit=1)[0]
    return next((folder for folder in package_folders(tree) if folder.name == top), None)


def _from_ini(ini: Path, folder: Path) -> str:
    """``folder`` as the ini names it, wherever Alembic runs: ``%(here)s/src``."""
    relative = Path(os.path.relpath(folder, ini.parent)).as_posix()
    return "%(here)s" if relative == "." else f"%(here)s/{relative}"


def elsewhere(output: str, connection: Connection) -> str | None:
    """The server libpq says the project tried, when it is not stager's: "host:port" or a socket."""
    for found in _ELSEWHERE.finditer(output):
        if found.group("socket"):
            socket = found.group("socket")
            if not socket.startswith(connection.host + "/"):
                return socket
        elif (found.group("host"), int(found.group("port"))) != (
            connection.host,
            connection.port,
        ):
            return f"{found.group('host')}:{found.group('port')}"
    return None


def tail(output: str) -> tuple[str, ...]:
    """The last lines of a command's output: where its error is."""
    return tuple(output.rstrip().splitlines()[-_TAIL:])


@contextmanager
def phase_tree(repo: Repository, commit: Sha, label: str) -> Iterator[tuple[Path, Path]]:
    """A temporary detached worktree of ``commit`` and a scratch folder; removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix=f"stager-database-{label}-"))
    tree = folder / "tree"
    scratch = folder / "scratch"
    scratch.mkdir()
    try:
        worktree_add(repo, tree, commit)
        yield tree, scratch
    finally:
        with deferred():
            worktree_remove(repo, tree)
            shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def files_tree(files: Path, label: str) -> Iterator[tuple[Path, Path]]:
    """``files`` (a tree already written out) and a scratch folder, removed afterwards."""
    scratch = Path(tempfile.mkdtemp(prefix=f"stager-database-{label}-"))
    try:
        yield files, scratch
    finally:
        with deferred():
            shutil.rmtree(scratch, ignore_errors=True)


def _looks_like_revision(line: str) -> bool:
    """A line of ``alembic current`` that names a revision (``abc123 (head)``)."""
    words = line.split()
    return (
        bool(words)
        and not line.startswith(("INFO", "WARN", "DEBUG"))
        and ("(head)" in line or "(effective head)" in line or len(words) == 1)
    )


def _version_table_elsewhere(located: Located, output: str) -> DatabaseError:
    """The project reads stager's database but not its version table where stager looked."""
    table = located.table.qualified
    seen = f"its output: {' | '.join(tail(output)) or 'nothing'}"
    start = (
        "the project's Alembic connected to stager's database but did not read the probe "
        f"revision stager wrote into {table}"
    )
    if located.computed:
        return DatabaseError(
            f"{start}: its env.py ({located.env_py}) passes context.configure "
            f"{'; '.join(located.computed)}, which stager does not read (it reads literal "
            f"values only, and never runs env.py); {seen}",
            f"{FIX}, with the schema and table that env.py gives",
        )
    if located.origin == CONFIGURED:
        return DatabaseError(
            f"{start}, which {CONFIGURED} names; {seen}",
            f"correct {CONFIGURED}: the schema and table the project's env.py gives "
            "context.configure (version_table_schema, version_table), or the first schema "
            "of the search_path it sets",
        )
    if located.origin is not None:
        return DatabaseError(
            f"{start}, where its env.py ({located.origin}) keeps it; it may set a "
            f"search_path of its own too; {seen}",
            f"{FIX}, with the schema its Alembic really uses",
        )
    return DatabaseError(
        f"{start}: it keeps its alembic_version elsewhere (a search_path its env.py sets, "
        f"as Netflix/dispatch's does, or a version_table_schema stager did not find); {seen}",
        f"{FIX}, with the first schema of that search_path",
    )


class Runner:
    """The project's Alembic, aimed at ``psql``'s database."""

    def __init__(
        self,
        repo: Repository,
        alembic: ProjectAlembic,
        psql: Psql,
        progress: Progress,
        version_table: VersionTable,
    ) -> None:
        self.repo = repo
        self.alembic = alembic
        self.psql = psql
        self.progress = progress
        self.version_table = version_table

    def alembic_in(self, tree: Path, scratch: Path, *arguments: str) -> AlembicOutcome:
        return self.alembic.run(tree, scratch, self.psql.connection, arguments)

    def prove_routing(
        self, tree: Path, scratch: Path, server_log: Path | None, located: Located
    ) -> None:
        """The project's Alembic reads stager's database, or nothing runs at all.

        ``located``: where its version table is (the runner's ``version_table``).
        """
        log_start = server_log.stat().st_size if server_log is not None else 0
        with probe_revision(self.psql, located.table, PROBE_REVISION):
            probed = self.alembic_in(tree, scratch, "current")
        if "No 'script_location' key found" in probed.output:
            raise DatabaseError(
                f"the project's Alembic configuration {self.alembic.config} names no "
                "script_location (Flask-Migrate's leaves it to the app, which sets it when it "
                "runs), so Alembic cannot run on its own",
                "name in [verify] alembic an ini that has script_location, e.g. "
                '"alembic -c stager-alembic.ini"; an env.py that needs the running app '
                "(Flask-Migrate's current_app) cannot run outside it",
            )
        if "Path doesn't exist" in probed.output:
            raise DatabaseError(
                f"the project's Alembic configuration {self.alembic.config} names a "
                "script_location found neither from the phase's root nor from the "
                f"configuration's folder: {' | '.join(tail(probed.output))}",
                "write it from the configuration's folder, as script_location = "
                "%(here)s/migrations, or name the configuration in [verify] alembic",
            )
        target = elsewhere(probed.output, self.psql.connection)
        if PROBE_REVISION not in probed.output and target is not None:
            connection = self.psql.connection
            raise DatabaseError(
                f"the project's Alembic tried to connect to {target}, not to stager's "
                f"database ({connection.host}:{connection.port}): its env.py builds its URL "
                "from settings of its own (variables, a .env file) that none of stager's "
                "channels reaches",
                "name those variables in rules.toml, e.g. [verify] env = { DB_HOST = "
                '"{host}", DB_PORT = "{port}", DB_USER = "{user}", DB_PASSWORD = '
                '"{password}", DB_NAME = "{database}" }',
            )
        missing = _MISSING_MODULE.search(probed.output)
        held = _held(tree, missing.group("name")) if missing is not None else None
        if PROBE_REVISION not in probed.output and missing is not None and held is not None:
            raise DatabaseError(
                f"the project's Alembic cannot import {missing.group('name')}, which the "
                f"phase's tree holds at {held.relative_to(tree).as_posix()}: that folder's "
                "parent is on no path of the phase's Alembic",
                "put it there in the project's ini, as prepend_sys_path = "
                f"{_from_ini(tree / self.alembic.config, held.parent)} (the project's own "
                "runs need it too, without an editable install of its checkout)",
            )
        if PROBE_REVISION not in probed.output and missing is not None:
            raise DatabaseError(
                f"the project's Alembic ({self.alembic.program(tree)}) cannot import "
                f"{missing.group('name')}: {missing.group(0)}",
                "install the project's dependencies in the environment of that Alembic, or "
                'name the project\'s own: [verify] alembic = ".venv/bin/alembic"',
            )
        if PROBE_REVISION not in probed.output and not probed.ok:
            raise DatabaseError(
                "the project's `alembic current` failed before it read stager's database: "
                f"{' | '.join(tail(probed.output))}",
                "run the same `alembic current` in the project to see why; a setting "
                "its env.py needs can be given in rules.toml: [verify] env",
            )
        if (
            PROBE_REVISION not in probed.output
            and server_log is not None
            and self._logged_connection(server_log, log_start)
        ):
            raise _version_table_elsewhere(located, probed.output)
        if PROBE_REVISION not in probed.output:
            raise DatabaseError(
                "the project's Alembic did not read stager's database: it never saw the probe "
                f"revision stager wrote there, so it may be connected elsewhere; "
                f"its output: {' | '.join(tail(probed.output))}",
                "make env.py take the URL from -x db_url, sqlalchemy.url or DATABASE_URL "
                "(stager sets all of them), or set [verify] env in rules.toml",
            )
        current = self.alembic_in(tree, scratch, "current")
        revisions = [line for line in current.output.splitlines() if _looks_like_revision(line)]
        if not current.ok or revisions:
            raise DatabaseError(
                "the project's `alembic current` on stager's empty database did not pass "
                f"cleanly: {' | '.join(tail(current.output))}",
                "run `alembic current` in the project to see why",
            )
        if server_log is not None and not self._logged_connection(server_log, log_start):
            raise DatabaseError(
                "stager's server saw no connection of the project's Alembic "
                f"(application_name={PROJECT_APPLICATION})",
                "make env.py connect with the URL stager passes (-x db_url or sqlalchemy.url)",
            )

    def _logged_connection(self, server_log: Path, start: int) -> bool:
        """The server logged, since ``start``, a connection of the project to stager's database."""
        with server_log.open("rb") as log:
            log.seek(start)
            text = log.read().decode("utf-8", "replace")
        wanted = (
            "connection authorized",
            f"database={self.psql.connection.database}",
            f"application_name={PROJECT_APPLICATION}",
        )
        return any(all(part in line for part in wanted) for line in text.splitlines())

    def downgrade(self, tree: Path, scratch: Path, targets: Sequence[str]) -> Step:
        """``downgrade`` to each target in turn; the first step that does not pass."""
        for target in targets:
            step = self.step(tree, scratch, "downgrade", target)
            if step.status != "ok":
                return step
        return Step("ok")

    def step(self, tree: Path, scratch: Path, *arguments: str) -> Step:
        outcome = self.alembic_in(tree, scratch, *arguments)
        if outcome.ok:
            return Step("ok")
        if arguments[0] == "downgrade" and "NotImplementedError" in outcome.output:
            return Step("irreversible", tail(outcome.output))
        return Step("failed", tail(outcome.output))
