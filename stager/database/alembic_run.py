"""The project's own Alembic, in a phase's tree, aimed at stager's database through every channel.

Projects find their database in different ways: the demo's ``env.py`` reads
``-x db_url``, else ``sqlalchemy.url`` from ``alembic.ini``; others read
``DATABASE_URL`` or libpq's ``PG*`` variables. stager routes its URL through
all of them at once, so that whichever the project reads leads to stager's
database and never to a developer's real one:

- ``-x db_url=URL``;
- a temporary copy of the ini file, next to the original (``%(here)s`` stays
  right), with ``sqlalchemy.url`` replaced;
- ``PGHOST``, ``PGPORT``, ``PGDATABASE``, ``PGUSER``, ``PGPASSWORD`` and
  ``PGAPPNAME``; ``PGPASSFILE`` points at a password file of the run's own
  (mode 0600) and ``PGSERVICEFILE`` at an empty file;
- every variable of stager's environment whose name says it holds a database
  URL (``DATABASE_URL``, ``…_DB_URL``, ``…_DSN``, ``SQLALCHEMY_DATABASE_URI``) is
  set to stager's URL;
- the variables ``[verify] env`` of rules.toml names, each a template of
  stager's database (``{url}``, ``{host}``, ``{port}``, …).

The URL of the command line and of the ini copy has no password: a command
line is visible to every user of the machine (``ps``), and the ini copy lies
in the phase's tree. libpq (and so psycopg) finds the password in
``PGPASSWORD`` or the password file; the environment, which only the same
user can read, keeps it in the URL variables too, for drivers without libpq.

This runs the analysed project's code (its ``env.py`` and revision files):
only ``verify --database`` does it.
"""

from __future__ import annotations

import configparser
import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from stager.database.errors import DatabaseError
from stager.database.package_origin import foreign_packages, project_python
from stager.database.psql import Connection

PROJECT_APPLICATION = "stager-verify"
"""The ``application_name`` the project's connections carry: the routing proof looks for it."""
TEMPORARY_INI = "stager-verify-alembic.ini"
_URL_VARIABLE = re.compile(r"(^|_)(DATABASE_URL|DB_URL|DSN|DATABASE_URI|SQLALCHEMY_DATABASE_URI)$")
_KEPT = frozenset(
    {"PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "VIRTUAL_ENV"}
)
_SQLALCHEMY_URL = re.compile(r"^\s*sqlalchemy\.url\s*[=:]")
_SECTION = re.compile(r"^\s*\[(?P<name>[^\]]+)\]")


@dataclass(frozen=True)
class AlembicOutcome:
    returncode: int
    output: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def url_variables(environ: Mapping[str, str]) -> list[str]:
    """The names in ``environ`` that look like they hold a database URL."""
    return sorted(name for name in environ if _URL_VARIABLE.search(name.upper()))


def rendered(templates: Sequence[tuple[str, str]], connection: Connection) -> dict[str, str]:
    """``[verify] env``: each variable's template filled in with stager's database."""
    values = {
        "url": sqlalchemy_url(connection),
        "host": connection.host,
        "port": str(connection.port),
        "database": connection.database,
        "user": connection.user,
        "password": connection.password,
    }
    return {name: template.format(**values) for name, template in templates}


def _script_location(ini: Path, section: str) -> str:
    """``script_location`` of the ini's ``[section]``, ``%(here)s`` filled in; "" when none."""
    parser = configparser.ConfigParser(defaults={"here": str(ini.parent)})
    try:
        parser.read(ini, encoding="utf-8")
        return parser.get(section, "script_location", fallback="")
    except (configparser.Error, UnicodeDecodeError):
        return ""


def script_folder(tree: Path, ini: Path, section: str = "alembic") -> Path | None:
    """The folder of the environment's scripts (its ``env.py``), as Alembic finds it."""
    script = _script_location(ini, section)
    package, colon, inside = script.partition(":")
    if colon and package.isidentifier():
        holder = package_folder(tree, ini, section)
        return None if holder is None else holder / package / inside
    if not script:
        return None
    return (
        Path(script) if Path(script).is_absolute() else working_folder(tree, ini, section) / script
    )


def working_folder(tree: Path, ini: Path, section: str = "alembic") -> Path:
    """Where the project runs its Alembic: the tree's root, or the folder of its ini.

    Alembic finds a relative ``script_location`` (one without ``%(here)s``) from
    the folder it runs in. When that location is missing from the root but next
    to the ini, the project runs Alembic there (``cd backend && alembic upgrade
    head``, as full-stack-fastapi-template's ``backend/alembic.ini`` with
    ``script_location = app/alembic`` needs), and so does stager.
    """
    script = _script_location(ini, section)
    if not script or Path(script).is_absolute() or ":" in script:  # a package resource
        return tree
    if not (tree / script).is_dir() and (ini.parent / script).is_dir():
        return ini.parent
    return tree


def package_folder(tree: Path, ini: Path, section: str = "alembic") -> Path | None:
    """The tree's folder that holds the package a ``package:path`` script_location names.

    Netflix/dispatch's ``script_location = dispatch:database/revisions/core`` in
    ``src/dispatch/alembic.ini``: ``src``, which an editable install puts on the
    path of the user's checkout and the phase's tree must get from ``PYTHONPATH``.
    The nearest folder from the ini's up to the tree's root, else the tree's ``src``.
    """
    package, colon, _ = _script_location(ini, section).partition(":")
    if not colon or not package.isidentifier():
        return None
    folder = ini.parent
    candidates = []
    while folder == tree or tree in folder.parents:
        candidates.append(folder)
        folder = folder.parent
    candidates.append(tree / "src")  # an ini at the root of a src/ layout
    return next(
        (folder for folder in candidates if (folder / package / "__init__.py").is_file()), None
    )


def routed_environment(
    connection: Connection,
    tree: Path,
    folder: Path,
    environ: Mapping[str, str] | None = None,
    templates: Sequence[tuple[str, str]] = (),
    first: Sequence[Path] = (),
) -> dict[str, str]:
    """The environment of the project's Alembic: stager's database and nothing else.

    ``PYTHONPATH`` starts with ``first`` (the folder Alembic runs in, the folder
    of the project's package), where the project's imports resolve, then the
    tree's root.
    """
    source = os.environ if environ is None else environ
    env = {key: value for key, value in source.items() if key in _KEPT or key.startswith("LC_")}
    url = sqlalchemy_url(connection)
    for name in url_variables(source):
        env[name] = url
    env["DATABASE_URL"] = url
    empty = folder / "empty"
    empty.write_text("")
    passfile = _password_file(folder, connection)
    env.update(
        PGHOST=connection.host,
        PGPORT=str(connection.port),
        PGDATABASE=connection.database,
        PGUSER=connection.user,
        PGPASSWORD=connection.password,
        PGAPPNAME=PROJECT_APPLICATION,
        PGPASSFILE=str(passfile),
        PGSERVICEFILE=str(empty),
        PGSYSCONFDIR=str(folder),
        PYTHONPATH=os.pathsep.join(
            dict.fromkeys(
                [
                    *(str(folder) for folder in first),
                    str(tree),
                    *([source["PYTHONPATH"]] if source.get("PYTHONPATH") else []),
                ]
            )
        ),
        PYTHONDONTWRITEBYTECODE="1",
    )
    env.update(rendered(templates, connection))
    return env


def _password_file(folder: Path, connection: Connection) -> Path:
    """libpq's password file with stager's password, readable by its owner only."""
    path = folder / "pgpass"

    def escaped(value: str) -> str:
        return value.replace("\\", "\\\\").replace(":", "\\:")

    secret = (connection.database, connection.user, connection.password)
    line = ":".join(["*", str(connection.port), *(escaped(value) for value in secret)])
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(line + "\n")
    return path


def sqlalchemy_url(connection: Connection, *, password: bool = True) -> str:
    """stager's database as SQLAlchemy reads it, with the project's application_name.

    ``password=False``: without the password, for a command line or a file.
    """
    tagged = Connection(
        connection.host,
        connection.port,
        connection.user,
        connection.password if password else "",
        connection.database,
        (*connection.options, ("application_name", PROJECT_APPLICATION)),
    )
    return tagged.url("postgresql")


def with_url(ini_text: str, url: str, section: str = "alembic") -> str:
    """``ini_text`` with ``sqlalchemy.url`` of ``[section]`` set to ``url`` (added if absent)."""
    value = url.replace("%", "%%")  # configparser interpolates %
    lines = ini_text.splitlines()
    current: str | None = None
    header: int | None = None
    out: list[str] = []
    replaced = False
    for line in lines:
        found = _SECTION.match(line)
        if found:
            current = found.group("name").strip()
        if current == section and found:
            header = len(out)
        if current == section and _SQLALCHEMY_URL.match(line):
            out.append(f"sqlalchemy.url = {value}")
            replaced = True
            continue
        out.append(line)
    if not replaced:
        if header is None:
            out = [f"[{section}]", f"sqlalchemy.url = {value}", *out]
        else:
            out.insert(header + 1, f"sqlalchemy.url = {value}")
    return "\n".join(out) + "\n"


@dataclass(frozen=True)
class ProjectAlembic:
    """``alembic`` as the project runs it (``[verify] alembic``), in one tree."""

    words: tuple[str, ...]  # the command without -c/--config
    config: str  # the ini file, from the tree's root
    templates: tuple[tuple[str, str], ...] = ()  # [verify] env
    section: str = "alembic"  # -n/--name: the ini's section this environment reads

    @classmethod
    def parse(cls, command: str, templates: Sequence[tuple[str, str]] = ()) -> ProjectAlembic:
        try:
            words = shlex.split(command)
        except ValueError as error:
            raise DatabaseError(
                f"the Alembic command {command!r} is not a command line ({error})",
                'write it as a shell would, e.g. alembic = "alembic -c backend/alembic.ini"',
            ) from None
        config = "alembic.ini"
        section = "alembic"
        kept: list[str] = []
        index = 0
        while index < len(words):
            word = words[index]
            if word in {"-n", "--name"} and index + 1 < len(words):
                section = words[index + 1]  # kept in the command too: Alembic reads it
            elif word.startswith("--name="):
                section = word.split("=", 1)[1]
            if word in {"-c", "--config"} and index + 1 < len(words):
                config = words[index + 1]
                index += 2
                continue
            if word.startswith("--config="):
                config = word.split("=", 1)[1]
            else:
                kept.append(word)
            index += 1
        if not kept:
            raise DatabaseError("the Alembic command is empty", 'write alembic = "alembic"')
        return cls(tuple(kept), config, tuple(templates), section)

    def first(self, tree: Path) -> list[Path]:
        """The folders before the tree's root on ``PYTHONPATH``: Alembic's, the package's."""
        ini = tree / self.config
        found = [working_folder(tree, ini, self.section), package_folder(tree, ini, self.section)]
        return [folder for folder in found if folder is not None and folder != tree]

    def program(self, tree: Path) -> str:
        """The file the command's first word runs: a path from the tree's root, or found on PATH."""
        program = self.words[0]
        if "/" in program:
            return program if Path(program).is_absolute() else str(tree / program)
        return shutil.which(program) or program

    def foreign_packages(self, tree: Path, folder: Path, connection: Connection) -> list[str]:
        """A warning per package of the project its Alembic would import from elsewhere.

        Asked of the interpreter that runs the project's Alembic command, which sees
        the project's virtualenv and its editable installs; stager's may not.
        """
        env = routed_environment(
            connection, tree, folder, templates=self.templates, first=self.first(tree)
        )
        python = project_python(self.words, tree, env)
        return [
            f"the project's package {name} resolves to {origin}, outside the phase's tree "
            "(an editable install of a checkout?): its Alembic would import that code, "
            "not the phase's"
            for name, origin in foreign_packages(tree, tree / self.config, env, python).items()
        ]

    def run(
        self, tree: Path, folder: Path, connection: Connection, arguments: Sequence[str]
    ) -> AlembicOutcome:
        """``alembic -c <copy> -x db_url=URL ARGUMENTS`` in ``tree``; its exit code and output.

        It runs in the tree's root, or in the ini's folder when the project's
        Alembic must run there (``working_folder``).
        """
        ini = tree / self.config
        if not ini.is_file():
            raise DatabaseError(
                f"no Alembic configuration at {self.config} in the phase's tree",
                'name it in rules.toml: [verify] alembic = "alembic -c path/to/alembic.ini"',
            )
        url = sqlalchemy_url(connection, password=False)  # libpq reads it from the environment
        routed = ini.parent / TEMPORARY_INI
        text = ini.read_text(encoding="utf-8")
        routed.write_text(with_url(text, url, self.section), encoding="utf-8")
        working = working_folder(tree, ini, self.section)
        program = self.words[0]
        if "/" in program:  # from the tree's root, wherever Alembic runs
            program = self.program(tree)
        command = [program, *self.words[1:], "-c", str(routed), "-x", f"db_url={url}", *arguments]
        try:
            result = subprocess.run(
                command,
                cwd=working,
                env=routed_environment(
                    connection, tree, folder, templates=self.templates, first=self.first(tree)
                ),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                check=False,
                start_new_session=True,  # Ctrl-C reaches stager, which cleans up after it
            )
        except OSError as error:
            raise DatabaseError(
                f"cannot run the project's Alembic ({shlex.join(self.words)}): {error}",
                "install the project's dependencies (alembic and its database driver), or "
                'name the command in rules.toml: [verify] alembic = ".venv/bin/alembic"',
            ) from error
        finally:
            routed.unlink(missing_ok=True)
        return AlembicOutcome(result.returncode, result.stdout.decode("utf-8", "replace"))
