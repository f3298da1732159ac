"""``stager lint``: revision files and folders on disk, no git, no branch.

A folder is read like alembic would: its alembic.ini / pyproject.toml name
the versions folders (stager's discovery, on the folder's files); a folder
without any (a versions folder itself) is taken whole. Each file's env.py is
the nearest one above it. Files that hold no ``revision = ...`` are not
revision files and are skipped; files that do not parse are SG007 findings.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from stager.errors import StagerError
from stager.findings import Finding, finding_order
from stager.git.repository import TreeEntry
from stager.migrations.discovery import discover, migration_entries
from stager.migrations.graph import RevisionGraph
from stager.migrations.lint.engine import group_by_env, lint_migrations, unreadable_findings
from stager.migrations.lint.envpy import EnvSettings, find_env, read_env
from stager.migrations.lint.sql_files import (
    is_sql_migration,
    ordered,
    sql_file_findings,
)
from stager.migrations.lint.sql_reads import sql_reads
from stager.migrations.parse import parse_migration
from stager.migrations.revision_files import MigrationFile
from stager.rules.settings import Rules, apply_settings
from stager.types import RepoPath, Sha

# Folders never worth walking for revision files.
_SKIPPED_DIRS = frozenset({"node_modules", "__pycache__", "site-packages"})
_NOT_REVISIONS = frozenset({"env.py", "__init__.py"})
# An env.py further up than this is some other project's.
_ENV_LEVELS = 3


@dataclass(frozen=True)
class LintReport:
    """What ``stager lint`` found; ``files`` in upgrade order per Alembic environment."""

    files: tuple[MigrationFile, ...]
    findings: tuple[Finding, ...]
    postgres_version: int
    environments: tuple[EnvSettings, ...]
    skipped: tuple[RepoPath, ...]  # .py files that are no revision files
    # files the user named one by one that are no revision files (README.md): said so
    named_not_revisions: tuple[RepoPath, ...] = ()
    sql_files: tuple[RepoPath, ...] = ()  # plain SQL migrations, in version order


class _DiskBlobs:
    """A BlobSource over files on disk: the 'blob id' is the file's path."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def read_blobs(self, blobs: Iterable[Sha]) -> Mapping[Sha, bytes]:
        found: dict[Sha, bytes] = {}
        for blob in blobs:
            with contextlib.suppress(OSError):
                found[blob] = (self.root / blob).read_bytes()
        return found


def _walk(folder: Path) -> list[str]:
    """Files under ``folder`` ('/'-separated, relative), skipping hidden and vendored folders."""
    found: list[str] = []
    for current, dirs, files in os.walk(folder):
        dirs[:] = sorted(
            name
            for name in dirs
            if not name.startswith(".")
            and name not in _SKIPPED_DIRS
            and not (Path(current) / name / "pyvenv.cfg").exists()
        )
        relative = Path(current).relative_to(folder).as_posix()
        prefix = "" if relative == "." else f"{relative}/"
        found.extend(prefix + name for name in sorted(files))
    return found


def folder_files(folder: Path) -> list[Path]:
    """Revision file candidates of a folder, in alembic's load order where it has one."""

    paths = _walk(folder)
    tree = {
        RepoPath(path): TreeEntry(RepoPath(path), "100644", Sha(path))
        for path in paths
        if path.endswith((".py", ".ini", ".toml"))
    }
    configs = discover(tree, _DiskBlobs(folder))
    entries = migration_entries(configs, tree)
    if entries:
        return [folder / path for path in entries]
    return [
        folder / path
        for path in paths
        if path.endswith(".py") and path.rsplit("/", 1)[-1] not in _NOT_REVISIONS
    ] + [folder / path for path in ordered(paths)]


def _display(path: Path, root: Path) -> RepoPath:
    resolved = path.resolve()
    try:
        return RepoPath(resolved.relative_to(_resolved(root.absolute())).as_posix())
    except ValueError:
        return RepoPath(resolved.as_posix())


@functools.lru_cache(maxsize=8)
def _resolved(root: Path) -> Path:
    """``root`` (absolute: the key must not depend on the current folder) resolved once;
    a folder of 300 files resolved it 300 times, a fifth of its lint time."""
    return root.resolve()


def collect(paths: Sequence[Path], root: Path) -> list[Path]:
    """The files to lint: files as given, folders expanded; none given means ``root``."""
    found: dict[Path, None] = {}
    for given in paths or [root]:
        path = given if given.is_absolute() else root / given
        if path.is_dir():
            found.update(dict.fromkeys(folder_files(path)))
        elif path.is_file():
            found[path] = None
        else:
            problem = f"{given}: {_what_it_is(path)}"
            raise StagerError(problem, "pass revision files or versions folders")
    return list(found)


def _check_named_folders(paths: Sequence[Path], root: Path, linted: Sequence[Path]) -> None:
    """StagerError for a folder the user named that holds no revision or SQL migration file.

    A CI step pointed at the wrong folder must fail, not pass with nothing
    checked. No path at all (pre-commit with no file to check) is no error.
    """
    for given in paths:
        folder = given if given.is_absolute() else root / given
        if folder.is_dir() and not any(file.is_relative_to(folder) for file in linted):
            raise StagerError(
                f"{given}: no revision files in this folder (files assigning `revision = ...`) "
                "and no SQL migrations",
                "name a versions folder, or a project whose alembic.ini or pyproject.toml "
                "names its versions folders",
            )


def _what_it_is(path: Path) -> str:
    """Why ``path`` is neither a file nor a folder to lint, as the user should hear it."""
    if path.is_symlink() and not path.exists():
        try:
            path.resolve(strict=True)
        except RuntimeError:  # Python 3.11: a loop
            return "a symbolic link that loops"
        except OSError as error:
            if "loop" in str(error).lower():
                return "a symbolic link that loops"
        return "a symbolic link to nothing"
    if path.exists():
        return "not a regular file or folder (a device, a pipe or a socket)"
    return "no such file or folder"


def _blob_id(data: bytes) -> Sha:
    return Sha(hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest())


def _read(file: Path, display: RepoPath) -> bytes:
    try:
        return file.read_bytes()
    except OSError as error:
        raise StagerError(
            f"{display}: cannot read: {error.strerror}", "check the file's permissions"
        ) from None


def _lint_sql_read(
    file: Path,
    data: bytes,
    named_from: Path,
    rules: Rules,
    sql_files: list[RepoPath],
    findings: list[Finding],
) -> set[int]:
    """Lint each .sql file the revision reads by a resolvable path; the lines that read one."""
    lines: set[int] = set()
    for read in sql_reads(data):
        if read.path is None:
            continue  # the revision's own rules report it (SM023)
        sql = Path(os.path.normpath(file.parent / read.path))
        if not sql.is_file():
            continue  # nothing to lint: op.execute of it stays opaque SQL (SM023)
        lines.add(read.line)
        shown = _display(sql, named_from)
        if shown not in sql_files:
            sql_files.append(shown)
            data = _read(sql, shown)
            findings.extend(sql_file_findings(shown, data, rules.postgres_version, read.function))
    return lines


def lint_paths(
    paths: Sequence[Path], root: Path, rules: Rules, project: Path | None = None
) -> LintReport:
    """Lint revision files and folders.

    ``root`` (the current folder) resolves relative paths; files are named
    relative to ``project`` (the project root; ``root`` when None), which
    rules.toml's path globs are written against.
    """
    files = collect(paths, root)
    named = [path if path.is_absolute() else root / path for path in paths]
    named = [path for path in named if path.is_file()]
    named_from = project if project is not None else root
    migrations: list[MigrationFile] = []
    sources: dict[RepoPath, bytes] = {}
    absolute: dict[RepoPath, Path] = {}
    skipped: list[RepoPath] = []
    unreadable_files: list[Path] = []
    findings: list[Finding] = []
    sql_files: list[RepoPath] = []
    sql_read: list[Path] = []  # a folder of SQL migrations is no empty folder
    linted_through_files: dict[RepoPath, set[int]] = {}
    for file in files:
        display = _display(file, named_from)
        data = _read(file, display)
        if is_sql_migration(file.name):
            sql_files.append(display)
            sql_read.append(file)
            findings.extend(sql_file_findings(display, data, rules.postgres_version))
            continue
        if file.suffix != ".py":  # README.md named by hand: no Python, so no revision
            skipped.append(display)
            continue
        read_lines = _lint_sql_read(file, data, named_from, rules, sql_files, findings)
        migration = parse_migration(display, _blob_id(data), data)
        unreadable = any(p.message.startswith("cannot parse") for p in migration.problems)
        if migration.revision is None and not unreadable:
            skipped.append(display)
            continue
        findings.extend(unreadable_findings(migration))
        if read_lines:
            linted_through_files[display] = read_lines
        if unreadable:
            unreadable_files.append(file)
            continue
        migrations.append(migration)
        sources[display] = data
        absolute[display] = file

    envs: dict[str | None, EnvSettings] = {None: EnvSettings()}

    def env_of(migration: MigrationFile) -> EnvSettings:
        path = find_env(absolute[migration.path].as_posix(), os.path.isfile, _ENV_LEVELS)
        if path not in envs:
            assert path is not None
            envs[path] = read_env(Path(path).read_bytes(), _display(Path(path), named_from))
        return envs[path]

    _check_named_folders(paths, root, [*absolute.values(), *unreadable_files, *sql_read])
    groups = group_by_env(RevisionGraph.build(migrations).in_upgrade_order(migrations), env_of)
    findings.extend(
        finding
        for finding in lint_migrations(groups, sources, rules.postgres_version)
        # not opaque: stager read the SQL file this statement runs, and linted it
        if not (
            finding.rule == "SM023"
            and finding.path is not None
            and finding.line in linted_through_files.get(finding.path, ())
        )
    )
    ordered = tuple(migration for group in groups for migration in group.migrations)
    return LintReport(
        files=ordered,
        findings=tuple(sorted(apply_settings(findings, rules), key=finding_order)),
        postgres_version=rules.postgres_version,
        environments=tuple(group.env for group in groups),
        skipped=tuple(skipped),
        named_not_revisions=tuple(
            _display(file, named_from) for file in named if _display(file, named_from) in skipped
        ),
        sql_files=tuple(sql_files),
    )
