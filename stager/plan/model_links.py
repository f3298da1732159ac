"""SQLAlchemy models ↔ migrations ↔ code, by table and column name.

- A model that maps a new table, column or enum value needs the branch
  migration that creates it in the same phase or an earlier one (SQLModel's
  ``table=True`` classes too, with the fields of the file's classes they derive from).
- A model that stops mapping a column waits for the code that stops using it:
  the merge-base version of that code reads the attribute until its phase.
- Code that starts using a column a model gains needs that model.
- Code that starts using a column the branch adds needs the data migration
  that backfills it.
- A migration that drops a table or column comes strictly after every phase
  whose code stops using it: during a rolling deploy, instances of the
  previous version still read it. ("Using" is found by searching the code for
  the name: Python names, attributes and SQL strings; a whole-word search in
  other code.)
- A version of a model file with only some of its hunks (a ``[[phase]] hunks``
  route) obeys the first rule in the phase that ships it (:class:`EarlyVersions`).
"""

from __future__ import annotations

import posixpath
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import partial

from stager.migrations.revision_files import MigrationFile
from stager.plan.phase import Dependency, DependencyKind
from stager.plan.pyfacts import PyFacts, python_facts
from stager.plan.pyscan import IDENTIFIER, looks_like_sql
from stager.plan.schema_objects import (
    ObjectKey,
    SchemaIndex,
    build_index,
    describe,
    names_object,
)
from stager.plan.sources import Code, is_python
from stager.plan.subjects import subject_names
from stager.types import MigrationKind, RepoPath

Column = tuple[str, str]  # (table, column), lower-case
# Without a leading \b: a pattern that starts with a literal is searched for that literal
# at C speed, 20 times faster on a branch's 900 files; the word boundary is checked after.
_SQLMODEL_TABLE = re.compile(r"table\s*=\s*True")
_WORD = re.compile(r"\w")


def _may_hold_model(text: str) -> bool:
    """Whether a file may define a model: a declarative class, a Table, a SQLModel table."""
    return "__tablename__" in text or "Table(" in text or _sqlmodel_table(text)


def _sqlmodel_table(text: str) -> bool:
    """``table=True`` as a whole word (``class Item(ItemBase, table=True)``)."""
    return any(
        match.start() == 0 or not _WORD.match(text, match.start() - 1)
        for match in _SQLMODEL_TABLE.finditer(text)
    )


def _columns(facts: PyFacts) -> dict[Column, str]:
    """Mapped columns → the model class (or table) that maps them."""
    found: dict[Column, str] = {}
    for table in facts.tables:
        for column in table.columns:
            found.setdefault((table.table.lower(), column.lower()), table.class_name or table.table)
    return found


def _tables(facts: PyFacts) -> dict[str, str]:
    return {table.table.lower(): table.class_name or table.table for table in facts.tables}


def _mentions(facts: PyFacts, name: str) -> bool:
    """Whether a Python file names ``name`` as code: a name, attribute, definition or in SQL."""
    return (
        facts.uses(name)
        or name in facts.top
        or name in facts.members
        or any(table.table == name for table in facts.tables)
    )


# String literals of other languages: "…", '…', `…` (JS templates, Go raw strings), """…""".
_STRINGS = re.compile(
    r'"""[\s\S]*?"""|"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'|`(?:[^`\\]|\\.)*`'
)


def sql_words(path: str, text: str) -> frozenset[str]:
    """Identifiers of the SQL in non-Python code: a ``.sql`` file whole, else SQL-looking strings.

    A React component that shows ``payments`` names no table: only text
    that reads like a statement counts.
    """
    if path.endswith(".sql"):
        return frozenset(IDENTIFIER.findall(text))
    words: set[str] = set()
    for literal in _STRINGS.finditer(text):
        if looks_like_sql(literal.group(0)):
            words.update(IDENTIFIER.findall(literal.group(0)))
    return frozenset(words)


def _word(name: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])")


def _packages(path: str) -> frozenset[str]:
    """Names an import of the module at ``path`` may start with: its folders and its name."""
    return frozenset(path.removesuffix(".py").split("/"))


def _reaches_models(facts: PyFacts, packages: frozenset[str], owners: Iterable[str]) -> bool:
    """Whether code can hold model instances: it imports the project's modules or names a model.

    ``response.status`` of an HTTP client is not ``Product.status``: a file
    that imports nothing of the models' package and never names the model
    class does not use the column the model gains.
    """
    if not packages:
        return True  # no model among the changed files: nothing to tell them apart by
    for ref in facts.imports:
        if ref.level or ref.module.split(".", maxsplit=1)[0] in packages:
            return True
    return any(owner in facts.names for owner in owners)


class _Models:
    """The mapped tables and columns of every changed Python file, on both sides."""

    def __init__(self, code: Code) -> None:
        self.code = code
        self.paths = [p for p in code.code_paths() if is_python(p)]
        self.head_columns: dict[Column, list[RepoPath]] = defaultdict(list)
        self.base_columns: dict[Column, list[RepoPath]] = defaultdict(list)
        self.head_tables: dict[str, list[RepoPath]] = defaultdict(list)
        self.base_tables: dict[str, list[RepoPath]] = defaultdict(list)
        self.class_names: dict[str, set[str]] = defaultdict(set)  # table → model classes
        self.modelled: set[RepoPath] = set()  # paths with a model on either side
        for path in self.paths:
            for head, columns, tables in (
                (True, self.head_columns, self.head_tables),
                (False, self.base_columns, self.base_tables),
            ):
                text = (code.head if head else code.base).get(path, "")
                if not _may_hold_model(text):
                    continue  # no model in it: no need to parse it
                self.modelled.add(path)
                facts = code.facts(path, head=head)
                for column in _columns(facts):
                    columns[column].append(path)
                for table, owner in _tables(facts).items():
                    tables[table].append(path)
                    if owner != table:
                        self.class_names[table].add(owner)
        self.packages = frozenset(part for path in self.modelled for part in _packages(path))


def model_dependencies(code: Code, index: SchemaIndex) -> list[Dependency]:
    """Model → migration, model → code, code → model and drop → code edges."""
    models = _Models(code)
    edges = _contract(models, index)
    edges.extend(_sql_users(code, index))
    edges.extend(_fill_users(models, index))
    for path in models.paths:
        enums = any("Enum" in text.get(path, "") for text in (code.head, code.base))
        if path not in models.modelled and not enums:
            continue  # neither a model nor an enum: no need to parse it
        head = code.facts(path, head=True)
        base = code.facts(path, head=False)
        if path in models.modelled:
            edges.extend(_gains(models, index, path, head))
            edges.extend(_losses(models, path, head, base))
        if enums:
            edges.extend(_enum_gains(index, path, head, base))
    return edges


def _sql_users(code: Code, index: SchemaIndex) -> Iterator[Dependency]:
    """Code that starts naming a new table or column in its SQL needs the migration adding it.

    Python: identifiers of SQL-looking strings; other code: of its SQL-looking literals.
    """
    created: dict[str, list[ObjectKey]] = defaultdict(list)  # last name part → objects
    for migration in index.migrations:
        for key in index.uses[migration.path].creates:
            if key[0] in ("table", "column"):
                created[key[-1]].append(key)
    if not created:
        return
    for path in code.code_paths():
        head, base = code.head.get(path), code.base.get(path) or ""
        if head is None or not any(name in head for name in created):
            continue  # cheap test first: most files name no new object
        if is_python(path):
            now = code.facts(path, head=True).sql_words
            before = code.facts(path, head=False).sql_words
        else:
            now, before = sql_words(path, head), sql_words(path, base)
        started = {word.lower() for word in now} - {word.lower() for word in before}
        words = {word.lower() for word in now}
        for name in sorted(started & set(created)):
            for key in created[name]:
                if key[0] == "column" and key[1] not in words:
                    continue  # a column counts with its table named in the same code
                yield from _needs_creator(index, path, key, "names the new object in its SQL")
                break


def _fill_users(models: _Models, index: SchemaIndex) -> Iterator[Dependency]:
    """Code that starts reading a column the branch adds needs the data migration filling it.

    Expand, migrate, contract: a column added and then backfilled by the
    branch is empty until the backfill has run, and code that starts reading
    it before then reads NULLs (a blank display name, a missing total).
    """
    for position, migration in enumerate(index.migrations):
        if migration.kind is not MigrationKind.DATA:
            continue
        use = index.uses[migration.path]
        filled = sorted(
            {
                key
                for earlier in index.migrations[:position]
                for key in index.uses[earlier.path].creates
                if key[0] == "column" and names_object(use, key)
            }
        )
        for key in filled:
            name = key[2]
            for path in models.paths:
                if name not in models.code.head.get(path, "") or path in models.modelled:
                    continue  # a model may map the column before it is filled
                head = models.code.facts(path, head=True)
                base = partial(models.code.facts, path, head=False)  # asked only when needed
                started = (
                    name in head.attributes
                    and name not in base().attributes
                    and _reaches_models(head, models.packages, models.class_names[key[1]])
                )
                in_sql = key[1] in head.sql_words or key[1].lower() in head.sql_words
                if started or (in_sql and name in head.sql_words and name not in base().sql_words):
                    yield Dependency(
                        path,
                        migration.path,
                        DependencyKind.MODEL,
                        f"starts using `{name}`: the {describe(key)}, which the branch adds "
                        f"and data migration {migration.revision} fills (before it runs, "
                        "the column is empty)",
                    )


def _gains(
    models: _Models, index: SchemaIndex, path: RepoPath, head: PyFacts
) -> Iterator[Dependency]:
    """What the model at ``path`` starts mapping needs its migration; its users need it."""
    mapped = _columns(head)
    for table, owner in sorted(_tables(head).items()):
        if table not in models.base_tables:
            found = index.creator(("table", table))
            if found is not None:
                migration, _ = found
                yield Dependency(
                    path,
                    migration.path,
                    DependencyKind.MODEL,
                    f"maps the new table {table} ({owner}), "
                    f"which migration {migration.revision} creates",
                )
    for column, owner in sorted(mapped.items()):
        if column in models.base_columns:
            continue
        new_table = column[0] not in models.base_tables and index.creator(("table", column[0]))
        if not new_table:  # a new table's columns come with it: one edge says it
            yield from _needs_creator(index, path, ("column", *column), f"maps {owner}.{column[1]}")
        yield from _new_users(models, path, column, owner)


def _enum_gains(
    index: SchemaIndex, path: RepoPath, head: PyFacts, base: PyFacts
) -> Iterator[Dependency]:
    """A Python enum that gains a value needs the migration adding it to the database type."""
    before = {enum.name: enum.values for enum in base.enums}
    for enum in head.enums:
        for value in sorted(enum.values - before.get(enum.name, frozenset())):
            yield from _needs_creator(
                index, path, ("enum_value", value), f"adds {enum.name}.{value}"
            )


def _needs_creator(
    index: SchemaIndex, path: RepoPath, key: ObjectKey, what: str
) -> Iterator[Dependency]:
    found = index.creator(key)
    if found is not None:
        migration, _ = found
        yield Dependency(
            path,
            migration.path,
            DependencyKind.MODEL,
            f"{what}: the {describe(key)}, which migration {migration.revision} adds",
        )


def _new_users(
    models: _Models, model: RepoPath, column: Column, owner: str
) -> Iterator[Dependency]:
    """Code that starts using ``.column`` needs the model that starts mapping it."""
    name = column[1]
    for path in models.paths:
        if path == model or name not in models.code.head.get(path, ""):
            continue
        head = models.code.facts(path, head=True)
        started = (
            name in head.attributes and name not in models.code.facts(path, head=False).attributes
        )
        if started and _reaches_models(head, _packages(model), {owner}):
            yield Dependency(
                path,
                model,
                DependencyKind.MODEL,
                f"starts using `.{name}`, which {owner} maps from now on ({model})",
            )


def _losses(models: _Models, path: RepoPath, head: PyFacts, base: PyFacts) -> Iterator[Dependency]:
    """A model that stops mapping a column waits for the code that stops using it."""
    mapped_now = set(_columns(head))
    for column, owner in sorted(_columns(base).items()):
        if column in mapped_now or column in models.head_columns:
            continue  # still mapped here, or moved to another changed file
        name = column[1]
        for user in models.paths:
            if user == path or name not in models.code.base.get(user, ""):
                continue
            before = models.code.facts(user, head=False)
            if (
                name in before.attributes
                and name not in models.code.facts(user, head=True).attributes
            ):
                yield Dependency(
                    path,
                    user,
                    DependencyKind.MODEL,
                    f"stops mapping {owner}.{name}, which the merge-base version of {user} "
                    "uses (it must not land before that file stops using it)",
                )


def _contract(models: _Models, index: SchemaIndex) -> list[Dependency]:
    """A drop comes strictly after every phase whose code stops using what it drops."""
    code = models.code
    edges: list[Dependency] = []
    paths = code.code_paths()
    for migration, key, line in index.drops():
        names = [key[2]] if key[0] == "column" else [key[1], *sorted(models.class_names[key[1]])]
        for path in paths:
            name = next((n for n in names if _stops_using(code, path, n)), None)
            if name is None:
                continue
            # A test is never deployed: no old instance runs it, it only has to be
            # updated no later than the drop (or CI fails in between).
            test = bool(subject_names(path)) or posixpath.basename(path) == "conftest.py"
            reason = (
                f"drops the {describe(key)}; the merge-base version of the test {path} "
                f"uses `{name}`, so the drop ships with that test's update or after it"
                if test
                else f"drops the {describe(key)}; the merge-base version of {path} uses "
                f"`{name}`, and old instances keep running it until that file's phase is "
                "deployed everywhere"
            )
            edges.append(
                Dependency(
                    migration.path,
                    path,
                    DependencyKind.CONTRACT,
                    reason,
                    strict=not test,
                    line=line,
                )
            )
    return edges


def _stops_using(code: Code, path: RepoPath, name: str) -> bool:
    """The merge-base version of ``path`` names ``name`` and its head version does not."""
    old = code.base.get(path)
    if old is None or name not in old:
        return False  # cheap test first: most files never mention it
    if is_python(path):
        # Read by ast or, for a file ast cannot parse, by a scan of its tokens.
        before = code.facts(path, head=False)
        return _mentions(before, name) and not _mentions(code.facts(path, head=True), name)
    pattern = _word(name)
    new = code.head.get(path)
    return pattern.search(old) is not None and (new is None or pattern.search(new) is None)


class EarlyVersions:
    """Whether a model file's early version (some hunks only) maps what a later phase adds.

    A route may move the hunk that maps a new column into a phase before the
    migration adding it: that version's code would select a column that does
    not exist yet. ``placed``: each migration's phase, a split's expand revision
    at its own; the index of what they create is built on the first model file.
    """

    def __init__(self, migrations: Sequence[MigrationFile], placed: Mapping[RepoPath, int]) -> None:
        self._migrations = migrations
        self._placed = placed
        self._index: SchemaIndex | None = None

    def too_early(self, path: RepoPath, phase: int, base: str, text: str) -> str | None:
        """Why ``text``, shipped in ``phase``, cannot ship there; None when it can."""
        if not is_python(path) or not _may_hold_model(text):
            return None
        if self._index is None:
            self._index = build_index(self._migrations)
        before, early = python_facts(base), python_facts(text)
        old_tables, old_columns = _tables(before), _columns(before)
        gained: list[tuple[ObjectKey, str]] = [
            (("table", table), f"maps the new table {table} ({owner})")
            for table, owner in sorted(_tables(early).items())
            if table not in old_tables
        ]
        gained += [
            (("column", *column), f"maps {owner}.{column[1]}")
            for column, owner in sorted(_columns(early).items())
            if column not in old_columns
        ]
        for key, what in gained:
            found = self._index.creator(key)
            if found is None:
                continue
            migration, _ = found
            later = self._placed.get(migration.path, 0)
            if later > phase:
                return (
                    f"{path}: the version for phase {phase} {what}: the {describe(key)}, "
                    f"which migration {migration.revision} adds in phase {later}"
                )
        return None
