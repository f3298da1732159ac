"""SP005: tables, columns and enum values a branch migration drops that head's files still name.

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

Enum values are read by :mod:`~stager.plan.enum_drops` (which a migration
removes) and :mod:`~stager.plan.enum_uses` (which lines still name one).

Revision files are left out (they describe history, and run in order), and so
are lines marked ``# stager: ignore`` or ``# stager: ignore[SP005]`` (any
comment syntax: ``-- stager: ignore`` in SQL).
"""

from __future__ import annotations

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
from stager.plan.class_reach import ClassRef, reaches
from stager.plan.enum_drops import EnumDrop, enum_drops
from stager.plan.enum_uses import EnumMatcher, enum_links, member_names
from stager.plan.facts_store import FactsStore
from stager.plan.pyfacts import PyFacts
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


def _word(name: str) -> str:
    return rf"(?<![\w$]){re.escape(name)}(?![\w$])"


def _words(names: Iterable[str]) -> re.Pattern[str]:
    """One pattern for any of ``names`` as a word: compiled once, tried on every hit."""
    return re.compile("|".join(_word(name) for name in sorted(names)), re.IGNORECASE)


def _quoted(name: str) -> str:
    return rf"[\"`]?{re.escape(name)}[\"`]?"


class _Matcher:
    """Whether one line of one file names a dropped object in a qualified way."""

    def __init__(self, key: ObjectKey, models: Sequence[ClassRef]) -> None:
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
        return reaches(hit.path, facts, self.models) and bool(self.python.search(hit.text))


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


def _models(
    hits: Sequence[GrepHit], facts: Mapping[RepoPath, PyFacts]
) -> dict[str, list[ClassRef]]:
    """Model classes of head by the table they map, from the files naming a table."""
    found: dict[str, list[ClassRef]] = defaultdict(list)
    for path in dict.fromkeys(hit.path for hit in hits):
        if path not in facts:
            continue
        for table in facts[path].tables:
            if table.class_name:
                found[table.table.lower()].append(ClassRef(path, table.class_name))
    return found


def _ignored(text: str) -> bool:
    rules = inline_ignore(text)
    return rules is not None and ("*" in rules or RULE in rules)


class DroppedUses:
    """SP005 on each drop whose table, column or enum value head's files still name.

    In two steps: ``grep`` runs git only, ``findings`` reads what it found.

    Only ``grep`` may run in another thread while the planner parses Python:
    CPython 3.11's ``ast`` keeps one recursion counter per interpreter, and two
    threads parsing at once fail with "AST constructor recursion depth mismatch".
    """

    def __init__(
        self,
        report: MigrationReport,
        head: Sha,
        head_tree: Mapping[RepoPath, TreeEntry],
        repo: TreeSearch,
        rules: Rules,
        facts: FactsStore | None = None,
    ) -> None:
        self.facts = facts or FactsStore()
        self.dropped = drops(report)
        self.removed = enum_drops(report, repo.read_blobs)
        self.head_tree, self.repo = head_tree, repo
        self.search = _Search(report, head, head_tree, repo, rules)

    def grep(self) -> list[GrepHit]:
        """Every line of head's files naming a dropped name as a word (git only)."""
        if not self.dropped and not self.removed:
            return []
        words = {part for drop in self.dropped for part in drop.key[1:]}
        words |= {name for drop in self.removed for name in (drop.label, drop.type_name)}
        return self.search.grep(words)

    def findings(self, hits: Sequence[GrepHit]) -> list[Finding]:
        """The findings, from the lines ``grep`` found."""
        if not hits:
            return []
        head_tree, repo, dropped, removed = self.head_tree, self.repo, self.dropped, self.removed
        python_paths = sorted({hit.path for hit in hits if is_python(hit.path)})
        blobs = repo.read_blobs(head_tree[path].blob for path in python_paths)
        python = {path: blobs[head_tree[path].blob] for path in python_paths}
        facts = {
            path: self.facts.facts(head_tree[path].blob, text.decode("utf-8", "replace"))
            for path, text in python.items()
        }
        models = _models(hits, facts)
        columns = {drop.key[2] for drop in dropped if drop.key[0] == "column"}
        units = _sql_of(hits, columns, head_tree, repo, python)
        migrations = [drop.migration for drop in dropped] + [drop.migration for drop in removed]
        sources = repo.read_blobs(dict.fromkeys(migration.blob for migration in migrations))
        found: list[Finding] = []
        for drop in dropped:
            if _drop_line_ignored(sources.get(drop.migration.blob), drop.line):
                continue
            matcher = _Matcher(drop.key, models.get(drop.key[1], []))
            word = _words(drop.key[1:] if drop.key[0] == "table" else [drop.key[2]])
            places = [
                f"{hit.path}:{hit.line}"
                for hit in hits
                if word.search(hit.text)
                and not _ignored(hit.text)
                and matcher.matches(hit, facts.get(hit.path), units.get(hit.path, ()))
            ]
            if places:
                what = f"the {describe(drop.key)}"
                found.append(_finding(drop.migration, drop.line, what, places))
        kept = [
            drop
            for drop in removed
            if not _drop_line_ignored(sources.get(drop.migration.blob), drop.line)
        ]
        found.extend(_enum_findings(kept, hits, facts, self.search))
        return found


class _Search:
    """``git grep`` of head's files, revision files and ``[rules.SP005] ignore`` left out."""

    def __init__(
        self,
        report: MigrationReport,
        head: Sha,
        head_tree: Mapping[RepoPath, TreeEntry],
        repo: TreeSearch,
        rules: Rules,
    ) -> None:
        self.head, self.head_tree, self.repo = head, head_tree, repo
        self.revision_dirs = tuple(f"{folder.rstrip('/')}/" for folder in report.versions_dirs)
        self.revision_paths = {migration.path for migration in report.head}
        self.setting = rules.rule_settings.get(RULE)

    def grep(self, words: Iterable[str]) -> list[GrepHit]:
        return [
            hit
            for hit in self.repo.grep_tree(self.head, words)
            if hit.path not in self.revision_paths
            and not hit.path.startswith(self.revision_dirs)
            and hit.path in self.head_tree
            and not (self.setting is not None and self.setting.ignores(hit.path))
        ]


def _enum_findings(
    removed: Sequence[EnumDrop],
    hits: Sequence[GrepHit],
    facts: Mapping[RepoPath, PyFacts],
    search: _Search,
) -> list[Finding]:
    """One finding per migration, enum type and line: the values head still names, and where."""
    groups: dict[tuple[RepoPath, str, int], list[EnumDrop]] = defaultdict(list)
    for drop in removed:
        groups[(drop.migration.path, drop.type_name, drop.line)].append(drop)
    found: list[Finding] = []
    for (_, type_name, line), group in groups.items():
        links = enum_links(type_name, group[0].values, hits, facts)
        named: list[str] = []
        places: dict[str, None] = {}
        for drop in group:
            members = member_names(drop.label, links, hits)
            # a member spelled unlike its value (PENDING_REVIEW = "review"): its lines too
            extra = {m for m in members if m.lower() != drop.label.lower()}
            lines = [*hits, *search.grep(extra)] if extra else hits
            matcher = EnumMatcher(drop, drop.label, links, members)
            word = _words([drop.label, *extra])
            uses = [
                f"{hit.path}:{hit.line}"
                for hit in lines
                if word.search(hit.text)
                and not _ignored(hit.text)
                and matcher.matches(hit, facts.get(hit.path))
            ]
            if uses:
                named.append(drop.label)
                places.update(dict.fromkeys(uses))
        if named:
            values = ", ".join(f"'{label}'" for label in sorted(named))
            what = f"the value{'s' if len(named) > 1 else ''} {values} of enum type {type_name}"
            found.append(_finding(group[0].migration, line, what, list(places), verb="removes"))
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
    wanted = {
        path for path, data in python.items() if looks_like_sql(data.decode("utf-8", "replace"))
    }
    for hit in hits:
        if hit.path in python or hit.path in wanted:
            continue
        if hit.path.lower().endswith(_SQL_FILES) or qualified.search(hit.text):
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


def _finding(
    migration: MigrationFile, line: int, what: str, places: Sequence[str], verb: str = "drops"
) -> Finding:
    shown = ", ".join(places[:SHOWN])
    more = f" and {len(places) - SHOWN} more" if len(places) > SHOWN else ""
    count = f"{len(places)} place{'' if len(places) == 1 else 's'}"
    return RULES[RULE].finding(
        migration.path,
        line,
        f"{verb} {what}, which head still uses in {count}: {shown}{more}; "
        "that code fails once the drop has run",
    )
