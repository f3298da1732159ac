"""SP005: tables and columns a branch migration drops that head's files still name.

The planner orders a drop after the *changed* files that stop using what it
drops; a test, template or SQL file the branch never touched can still use
it, and breaks once the drop runs. Every file of head is searched (one
``git grep`` for every dropped name), and a line counts only when the name
is qualified, so a column called ``status`` does not flood the output:

* ``table.column`` or ``"table"."column"`` anywhere, and ``Model.column``
  for a model class that maps the table;
* in a Python file that reaches the model (defines it, imports its module or
  names its class): ``.column``, ``column=`` as a keyword, ``getattr(x,
  "column")``, ``.c["column"]``, and ``column =`` / ``column:`` in the model's
  own class body (a column still mapped: SQLAlchemy selects it);
* for a dropped table: ``FROM``/``JOIN``/``INTO``/``UPDATE``/``TABLE``
  ``table`` in any file, and ``__tablename__``/``Table(`` naming it;
* in SQL (a ``.sql`` file's statements, a Python file's SQL strings, SQL in a
  template), a column of the table its statement's aliases resolve it to
  (:mod:`~stager.plan.sql_uses`: ``s.c`` of ``FROM table s``, ``c`` of a
  ``FROM`` with that one table). Where pglast parses the SQL its answer
  stands: ``o.c`` of ``FROM other o`` is no use, even in a file that imports
  the model.

Revision files are left out (they describe history, and run in order), and so
are lines marked ``# stager: ignore`` or ``# stager: ignore[SP005]`` (any
comment syntax: ``-- stager: ignore`` in SQL).
"""

from __future__ import annotations

import posixpath
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from stager.findings import Finding
from stager.git.grep import GrepHit
from stager.git.repository import TreeEntry
from stager.migrations import actions as a
from stager.migrations.actions import operation_actions
from stager.migrations.compare import MigrationReport
from stager.migrations.lint.engine import inline_ignore
from stager.migrations.revision_files import MigrationFile
from stager.plan.pyfacts import PyFacts, python_facts
from stager.plan.pyscan import looks_like_sql
from stager.plan.schema_objects import ObjectKey, describe, object_name
from stager.plan.sources import is_python
from stager.plan.sql_uses import SqlUnit, sql_units
from stager.rules.catalogue import RULES
from stager.rules.settings import Rules
from stager.types import RepoPath, Sha

RULE = "SP005"
SHOWN = 10  # places listed in one finding; the rest are counted


class TreeSearch(Protocol):
    """What the search needs of a repository: ``git grep`` and ``cat-file --batch``."""

    def grep_tree(self, commit: Sha, words: Iterable[str]) -> list[GrepHit]: ...

    def read_blobs(self, blobs: Iterable[Sha]) -> Mapping[Sha, bytes]: ...


@dataclass(frozen=True)
class Drop:
    """A table or column an added revision's ``upgrade()`` drops, and where."""

    key: ObjectKey  # ("table", t) or ("column", t, c)
    migration: MigrationFile
    line: int


def drops(report: MigrationReport) -> list[Drop]:
    """Every table and column the branch's added revisions drop, in upgrade order.

    An object the same revision creates first (a table rebuilt) is not dropped.
    """
    found: list[Drop] = []
    for migration in report.added:
        created: set[ObjectKey] = set()
        seen: set[ObjectKey] = set()
        for operation in migration.operations:
            if operation.function != "upgrade":
                continue
            for action in operation_actions(operation):
                table = object_name(action.table) if action.table else ""
                if not table:
                    continue
                columns = [("column", table, object_name(c)) for c in action.columns]
                if action.verb in (a.CREATE_TABLE, a.ADD_COLUMN):
                    created.update([("table", table)] if action.verb == a.CREATE_TABLE else [])
                    created.update(columns)
                    continue
                keys: list[ObjectKey] = []
                if action.verb == a.DROP_COLUMN:
                    keys = list(columns)
                elif action.verb == a.DROP_TABLE:
                    keys = [("table", table)]
                for key in keys:
                    if key not in created and key not in seen:
                        seen.add(key)
                        found.append(Drop(key, migration, action.line))
    return found


@dataclass(frozen=True)
class _Model:
    """A model class of head that maps a dropped table (or one whose column is dropped)."""

    path: RepoPath
    class_name: str


def _word(name: str) -> str:
    return rf"(?<![\w$]){re.escape(name)}(?![\w$])"


def _quoted(name: str) -> str:
    return rf"[\"`]?{re.escape(name)}[\"`]?"


class _Matcher:
    """Whether one line of one file names a dropped object in a qualified way."""

    def __init__(self, key: ObjectKey, models: Sequence[_Model]) -> None:
        self.key = key
        self.models = models
        table = key[1]
        owners = "|".join(re.escape(model.class_name) for model in models)
        if key[0] == "column":
            column = key[2]
            qualified = [rf"(?<![\w$]){_quoted(table)}\.{_quoted(column)}(?![\w$])"]
            if owners:
                qualified.append(rf"(?<![\w$])(?:{owners})\.{re.escape(column)}(?![\w$])")
            self.anywhere = re.compile("|".join(qualified), re.IGNORECASE)
            self.python = re.compile(
                rf"\.{re.escape(column)}(?![\w$])"  # instance.column
                rf"|(?:^|[(,])\s*{re.escape(column)}\s*=(?!=)"  # column= keyword
                rf"|getattr\([^,]+,\s*[\"']{re.escape(column)}[\"']"
                rf"|\.c\[[\"']{re.escape(column)}[\"']\]",
                re.IGNORECASE,
            )
            self.mapped = re.compile(rf"^\s*{re.escape(column)}\s*[:=](?!=)", re.IGNORECASE)
        else:
            sql = rf"\b(?:FROM|JOIN|INTO|UPDATE|TABLE|EXISTS)\s+{_quoted(table)}(?![\w$])"
            qualified = [sql, rf"(?<![\w$]){_quoted(table)}\.\w"]
            self.anywhere = re.compile("|".join(qualified), re.IGNORECASE)
            self.python = re.compile(
                rf"__tablename__\s*[:=][^=]*[\"']{re.escape(table)}[\"']"
                rf"|Table\(\s*[\"']{re.escape(table)}[\"']"
                + (rf"|(?<![\w$])(?:{owners})(?![\w$])" if owners else ""),
                re.IGNORECASE,
            )
            self.mapped = self.python

    def matches(self, hit: GrepHit, facts: PyFacts | None, units: Sequence[SqlUnit] = ()) -> bool:
        if self.key[0] == "column":
            verdict = _sql_verdict(units, hit, self.key[1], self.key[2])
            if verdict is not None:
                return verdict
        if self.anywhere.search(hit.text):
            return True
        if facts is None:
            return False  # not Python: only the qualified forms count
        defines = any(model.path == hit.path for model in self.models)
        if defines and self.mapped.search(hit.text):
            return True
        return (defines or self._reaches(hit.path, facts)) and bool(self.python.search(hit.text))

    def _reaches(self, path: RepoPath, facts: PyFacts) -> bool:
        """The file imports a model's module or names its class."""
        for model in self.models:
            if model.class_name in facts.names or model.class_name in facts.imported:
                return True
            module = model.path.removesuffix(".py").removesuffix("/__init__").split("/")
            for ref in facts.imports:
                target = _absolute(path, ref.module, ref.level)
                candidates = [target] + [f"{target}.{name}" for name in ref.names]
                if any(_suffix(candidate.split("."), module) for candidate in candidates):
                    return True
        return False


def _sql_verdict(units: Sequence[SqlUnit], hit: GrepHit, table: str, column: str) -> bool | None:
    """Whether the SQL holding the hit's line uses ``table.column``; None: not SQL, or unsure.

    SQL pglast parsed decides. In SQL it rejected, ``alias.column`` counts when
    the scan bound the alias to the table; anything else is left to the other rules.
    """
    for unit in units:
        if not unit.first <= hit.line <= unit.last:
            continue
        if unit.resolved is not None:
            return (table, column) in unit.resolved
        qualifiers = re.findall(rf"(\w+)\s*\.\s*\"?{re.escape(column)}(?![\w$])", hit.text, re.I)
        if any(table in unit.aliases.get(q.lower(), ()) for q in qualifiers):
            return True
        return None
    return None


def _absolute(path: str, module: str, level: int) -> str:
    """``from ..models import x`` in ``app/api/v.py`` → ``app.models``."""
    if not level:
        return module
    folders = posixpath.dirname(path).split("/")
    parts = folders[: len(folders) - (level - 1)]
    return ".".join(part for part in (*parts, *module.split(".")) if part)


def _suffix(dotted: list[str], module: list[str]) -> bool:
    """``app.models.user`` names ``backend/app/models/user.py`` (its module path ends so)."""
    dotted = [part for part in dotted if part]
    return bool(dotted) and module[-len(dotted) :] == dotted


def _models(hits: Sequence[GrepHit], facts: Mapping[RepoPath, PyFacts]) -> dict[str, list[_Model]]:
    """Model classes of head by the table they map, from the files naming a table."""
    found: dict[str, list[_Model]] = defaultdict(list)
    for path in dict.fromkeys(hit.path for hit in hits):
        if path not in facts:
            continue
        for table in facts[path].tables:
            if table.class_name:
                found[table.table.lower()].append(_Model(path, table.class_name))
    return found


def _ignored(text: str) -> bool:
    rules = inline_ignore(text)
    return rules is not None and ("*" in rules or RULE in rules)


def dropped_use_findings(
    report: MigrationReport,
    head: Sha,
    head_tree: Mapping[RepoPath, TreeEntry],
    repo: TreeSearch,
    rules: Rules,
) -> list[Finding]:
    """SP005 on each drop whose table or column head's files still name, listing the places."""
    dropped = drops(report)
    if not dropped:
        return []
    words = {part for drop in dropped for part in drop.key[1:]}
    revision_dirs = tuple(f"{folder.rstrip('/')}/" for folder in report.versions_dirs)
    revision_paths = {migration.path for migration in report.head}
    setting = rules.rule_settings.get(RULE)
    hits = [
        hit
        for hit in repo.grep_tree(head, words)
        if hit.path not in revision_paths
        and not hit.path.startswith(revision_dirs)
        and hit.path in head_tree
        and not (setting is not None and setting.ignores(hit.path))
    ]
    python_paths = sorted({hit.path for hit in hits if is_python(hit.path)})
    blobs = repo.read_blobs(head_tree[path].blob for path in python_paths)
    facts = {
        path: python_facts(blobs[head_tree[path].blob].decode("utf-8", "replace"))
        for path in python_paths
    }
    models = _models(hits, facts)
    columns = {drop.key[2] for drop in dropped if drop.key[0] == "column"}
    units = _sql_of(
        hits, columns, head_tree, repo, {path: blobs[head_tree[path].blob] for path in python_paths}
    )
    sources = repo.read_blobs(drop.migration.blob for drop in dropped)
    found: list[Finding] = []
    for drop in dropped:
        if _drop_line_ignored(sources.get(drop.migration.blob), drop.line):
            continue
        matcher = _Matcher(drop.key, models.get(drop.key[1], []))
        names = set(drop.key[1:]) if drop.key[0] == "table" else {drop.key[2]}
        places = [
            f"{hit.path}:{hit.line}"
            for hit in hits
            if any(re.search(_word(name), hit.text, re.IGNORECASE) for name in names)
            and not _ignored(hit.text)
            and matcher.matches(hit, facts.get(hit.path), units.get(hit.path, ()))
        ]
        if places:
            found.append(_finding(drop, places))
    return found


_SQL_FILES = (".sql", ".sql.j2", ".sql.jinja", ".sql.jinja2", ".pgsql", ".psql")


def _sql_of(
    hits: Sequence[GrepHit],
    columns: set[str],
    head_tree: Mapping[RepoPath, TreeEntry],
    repo: TreeSearch,
    python: Mapping[RepoPath, bytes],
) -> dict[RepoPath, list[SqlUnit]]:
    """The SQL of the files where a dropped column may be used through an alias.

    SQL files and Python files with SQL strings are read whole; another file
    (a template) only when a hit qualifies a dropped column with some name.
    """
    if not columns:
        return {}
    qualified = re.compile(
        r"\w\s*\.\s*\"?(?:" + "|".join(map(re.escape, sorted(columns))) + r")(?![\w$])", re.I
    )
    wanted: set[RepoPath] = set()
    for hit in hits:
        if hit.path in python:
            if hit.path not in wanted and looks_like_sql(
                python[hit.path].decode("utf-8", "replace")
            ):
                wanted.add(hit.path)
        elif hit.path.lower().endswith(_SQL_FILES) or qualified.search(hit.text):
            wanted.add(hit.path)
    others = sorted(path for path in wanted if path not in python)
    texts = dict(python)
    read = repo.read_blobs(head_tree[path].blob for path in others)
    texts.update({path: read[head_tree[path].blob] for path in others})
    return {
        path: sql_units(texts[path].decode("utf-8", "replace"), python=is_python(path))
        for path in sorted(wanted)
    }


def _drop_line_ignored(source: bytes | None, line: int) -> bool:
    if source is None:
        return False
    lines = source.decode("utf-8", "replace").splitlines()
    return 0 < line <= len(lines) and _ignored(lines[line - 1])


def _finding(drop: Drop, places: Sequence[str]) -> Finding:
    shown = ", ".join(places[:SHOWN])
    more = f" and {len(places) - SHOWN} more" if len(places) > SHOWN else ""
    count = f"{len(places)} place{'' if len(places) == 1 else 's'}"
    return RULES[RULE].finding(
        drop.migration.path,
        drop.line,
        f"drops the {describe(drop.key)}, which head still uses in {count}: {shown}{more}; "
        "that code fails once the drop has run",
    )
