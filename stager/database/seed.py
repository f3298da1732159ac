"""``[verify] seed``: rows loaded after the base's upgrade, so that data migrations run on data.

Without rows, a data migration (an ``UPDATE`` that fills a new column, an
``INSERT … SELECT`` that moves rows) runs on empty tables and proves nothing.
The seed is a SQL file (its name ends in ``.sql``, a path from the repository
root, read from the work tree) that stager's ``psql`` runs, or a command line
that runs in the repository root with stager's database in its environment,
routed as for the project's Alembic (``DATABASE_URL``, ``PG*``, ``[verify] env``).
"""

from __future__ import annotations

import shlex
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from stager.database.alembic_run import routed_environment
from stager.database.errors import DatabaseError
from stager.database.psql import Psql, SqlFailed

_TAIL = 15


@dataclass(frozen=True)
class Seed:
    """What ``[verify] seed`` names: SQL to run, or a command line."""

    written: str  # as rules.toml has it
    sql: str | None = None
    command: tuple[str, ...] = ()
    root: Path | None = None  # where the command runs

    @classmethod
    def parse(cls, written: str, root: Path) -> Seed:
        """A ``.sql`` file of the repository root (read now), else a command line."""
        if written.strip().endswith(".sql"):
            path = root / written.strip()
            try:
                return cls(written, sql=path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError) as error:
                raise DatabaseError(
                    f"cannot read the seed {written} ([verify] seed): {error}",
                    'name a SQL file from the repository root, e.g. seed = "tests/seed.sql"',
                ) from None
        try:
            words = tuple(shlex.split(written))
        except ValueError as error:
            raise DatabaseError(
                f"the seed {written!r} is not a command line ({error})",
                'write it as a shell would, e.g. seed = "python scripts/seed.py"',
            ) from None
        return cls(written, command=words, root=root)

    def load(self, psql: Psql, templates: tuple[tuple[str, str], ...] = ()) -> tuple[str, ...]:
        """Load the seed into ``psql``'s database; the tail of its error (empty: it passed)."""
        if self.sql is not None:
            try:
                psql.run(self.sql)
            except SqlFailed as error:
                return tuple(error.output.strip().splitlines()[-_TAIL:]) or (str(error),)
            return ()
        assert self.root is not None
        with tempfile.TemporaryDirectory(prefix="stager-seed-") as scratch:
            env = routed_environment(psql.connection, self.root, Path(scratch), templates=templates)
            try:
                result = subprocess.run(
                    self.command,
                    cwd=self.root,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    check=False,
                    start_new_session=True,  # Ctrl-C reaches stager, which cleans up after it
                )
            except OSError as error:
                return (f"cannot run the seed {self.written}: {error}",)
        if result.returncode == 0:
            return ()
        output = result.stdout.decode("utf-8", "replace").rstrip().splitlines()
        return (f"the seed exited with {result.returncode}", *output[-_TAIL:])
