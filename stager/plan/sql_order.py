"""Version-ordered SQL migrations keep their order across phases; SQL a revision reads follows it.

Flyway (``V7__x.sql``), golang-migrate (``0007_x.up.sql``) and dbmate
(``20240101120000_x.sql``) order migrations by the number in the name, not by
a parent pointer stager could re-chain. If V7 ships before V5, golang-migrate
never runs V5 (it only moves forward from the highest version applied) and
Flyway refuses V5 as out of order. So each added file needs every added file
of an earlier version in its folder in the same phase or an earlier one, and
files of one version (an up and its down) need each other: they share a phase.
stager never renames them to make another order fit.

A ``.sql`` file an Alembic revision reads runs as part of that revision: the
two need each other, so they share a phase.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from itertools import groupby
from pathlib import PurePosixPath

from stager.findings import Finding
from stager.git.diff import ChangedFile
from stager.migrations.lint.sql_files import version_key
from stager.migrations.lint.sql_reads import read_sql_paths
from stager.plan.assign import Ask
from stager.plan.phase import Dependency, DependencyKind
from stager.plan.sources import is_new_path
from stager.rules.catalogue import RULES
from stager.types import RepoPath


def sql_order_dependencies(
    files: Iterable[ChangedFile], is_sql_migration: Callable[[str], bool]
) -> Iterable[Dependency]:
    """Each added versioned SQL migration needs the added ones of the version before it."""
    folders: dict[str, list[tuple[tuple[int, ...], RepoPath]]] = {}
    for change in files:
        if not is_new_path(change) or not is_sql_migration(change.path):
            continue
        numbers = version_key(change.path)[0]
        if numbers:  # sqitch's deploy/x.sql, Flyway's R__x.sql: no version, no order
            folders.setdefault(str(PurePosixPath(change.path).parent), []).append(
                (numbers, change.path)
            )
    for entries in folders.values():
        groups = [
            [path for _, path in group]
            for _, group in groupby(sorted(entries), key=lambda entry: entry[0])
        ]
        for earlier, group in zip([[], *groups], groups, strict=False):
            for path in group:
                for other in group:
                    if other != path:
                        yield _edge(path, other, "is the same version as")
                for other in earlier:
                    yield _edge(path, other, "comes after")


def _edge(path: RepoPath, other: RepoPath, relation: str) -> Dependency:
    return Dependency(
        path,
        other,
        DependencyKind.SQL_ORDER,
        f"{relation} {other} in version order (a versioned SQL migration ships no earlier)",
    )


def read_sql_dependencies(
    revisions: Iterable[RepoPath], head_texts: Mapping[RepoPath, str]
) -> Iterable[Dependency]:
    """A revision and each ``.sql`` file it reads by a resolvable path: one phase for both."""
    for path in revisions:
        text = head_texts.get(path)
        if text is None:
            continue
        folder = PurePosixPath(path).parent
        for _, name in read_sql_paths(text.encode()):
            sql = RepoPath(_normal(folder / name))
            yield Dependency(path, sql, DependencyKind.SQL_ORDER, f"runs the SQL of {sql}")
            yield Dependency(sql, path, DependencyKind.SQL_ORDER, f"is run by revision {path}")


def run_sql_with_revisions(
    asked: Mapping[RepoPath, Ask],
    dependencies: Iterable[Dependency],
    revisions: Collection[RepoPath],
) -> dict[RepoPath, Ask]:
    """``asked`` with each ``.sql`` file a revision reads asked in that revision's phase.

    The edges both ways keep them together; asking the same phase keeps the
    revision where its own category puts it rather than where the file's would.
    """
    result = dict(asked)
    for edge in dependencies:
        if edge.kind is DependencyKind.SQL_ORDER and edge.dependency in revisions:
            ask = asked.get(edge.dependency)
            if ask is not None and edge.dependent in result:
                note = f"read by revision {edge.dependency}, in its phase"
                result[edge.dependent] = Ask(ask.phase, note, note)
    return result


def _normal(path: PurePosixPath) -> str:
    """``a/b/../c.sql`` as ``a/c.sql``: a repository path has no ``..``."""
    parts: list[str] = []
    for part in path.parts:
        if part == "..":
            if parts:
                parts.pop()
        elif part != ".":
            parts.append(part)
    return "/".join(parts)


def sql_order_findings(
    forced: Mapping[RepoPath, Dependency], asked: Mapping[RepoPath, int], names: Mapping[int, str]
) -> list[Finding]:
    """SP007: the rules or a plan asked a SQL migration earlier than its version allows."""
    found: list[Finding] = []
    for path, edge in sorted(forced.items()):
        if edge.kind is not DependencyKind.SQL_ORDER or path not in asked:
            continue
        phase = asked[path]
        found.append(
            RULES["SP007"].finding(
                path,
                None,
                f"the rules ask for phase {phase} ({names.get(phase, '?')}), but it "
                f"{edge.reason}: it ships with the later phase instead, and stager "
                "never renames a versioned migration",
            )
        )
    return found


class VersionsShipped:
    """The highest version of versioned SQL migration each folder's phases added so far."""

    def __init__(self) -> None:
        self._highest: dict[str, tuple[tuple[int, ...], RepoPath, int]] = {}

    def ship(self, phase: int, added: Iterable[RepoPath]) -> list[str]:
        """One phase's added SQL migrations: a problem for each older than an earlier phase's."""
        problems: list[str] = []
        mine: list[tuple[str, tuple[int, ...], RepoPath]] = []
        for path in sorted(added):
            numbers = version_key(path)[0]
            if not numbers:
                continue
            folder = str(PurePosixPath(path).parent)
            mine.append((folder, numbers, path))
            earlier = self._highest.get(folder)
            if earlier is not None and earlier[2] < phase and numbers < earlier[0]:
                problems.append(
                    f"{path} ships after {earlier[1]} (phase {earlier[2]}), a later version: "
                    "golang-migrate never runs it, Flyway refuses it as out of order"
                )
        for folder, numbers, path in mine:
            if folder not in self._highest or numbers > self._highest[folder][0]:
                self._highest[folder] = (numbers, path, phase)
        return problems
