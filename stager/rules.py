"""rules.toml: categories (which files carry which risk) and phases (what ships when).

Loaded with tomllib and validated against ``SCHEMA``, the one place each key is
declared and documented (docs/rules-toml.md must describe every key; a test
checks it). Every problem is a ``RulesError`` reading
``SOURCE:LINE: key: problem — how to fix``.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from stager.errors import RulesError
from stager.globs import Pattern, combine, compile_glob, decide
from stager.migrations.model import MigrationKind
from stager.types import Risk

DEFAULT_SOURCE = "rules.toml"
"""How the packaged default rules are named in reasons and errors."""

ANY_MIGRATION = "any"
_NAME = re.compile(r"[a-z0-9][a-z0-9-]*")


@dataclass(frozen=True)
class Key:
    """One key of the rules.toml schema, with the doc line the docs page repeats."""

    name: str
    kind: str
    doc: str
    required: bool = False


def _keys(*keys: Key) -> dict[str, Key]:
    return {key.name: key for key in keys}


_NAME_DOC = "Unique id: lower-case letters, digits, '-'."
SCHEMA: Mapping[str, Mapping[str, Key]] = {
    "": _keys(
        Key("extends", "string", 'Build on the packaged default rules: only "default".'),
        Key("stager", "table", "General settings."),
        Key("category", "array of tables", "File categories, first match wins."),
        Key("phase", "array of tables", "Phases, in merge order."),
    ),
    "stager": _keys(
        Key("base", "string", "Base ref when --base is not given, e.g. 'develop'."),
    ),
    "category": _keys(
        Key("name", "string", _NAME_DOC, required=True),
        Key("title", "string", "Label in tables and reports; default: from the name."),
        Key("description", "string", "What belongs here and why it carries its risk."),
        Key("paths", "array of strings", "gitignore-style patterns the path must match."),
        Key("migration", "array of strings", "Alembic revision kinds the file must be."),
        Key("submodule", "boolean", "Match submodule changes (gitlinks) only."),
        Key("risk", "string", "low, medium, high or critical.", required=True),
    ),
    "phase": _keys(
        Key("name", "string", _NAME_DOC, required=True),
        Key("title", "string", "Label in plans and PR titles; default: from the name."),
        Key("description", "string", "What the phase ships and why it is safe then."),
        Key("categories", "array of strings", "Categories whose files this phase takes."),
    ),
}


@dataclass(frozen=True)
class CategoryRule:
    """A ``[[category]]``: a file belongs to it when every condition given holds."""

    name: str
    title: str
    description: str
    paths: tuple[Pattern, ...]
    migration: tuple[MigrationKind, ...]  # empty: no condition on the revision kind
    submodule: bool
    risk: Risk
    line: int
    source: str = DEFAULT_SOURCE

    @property
    def location(self) -> str:
        return f"{self.source}:{self.line}"

    def match_path(self, path: str) -> Pattern | None:
        """The pattern of ``paths`` that selects ``path``, or None."""
        combined = self._combined
        if combined is not None and combined.fullmatch(path) is None:
            return None  # one regex rejects the whole list: the common case, keep it cheap
        return decide(self.paths, path)

    @functools.cached_property
    def _combined(self) -> re.Pattern[str] | None:
        return combine(self.paths)


@dataclass(frozen=True)
class PhaseRule:
    """A ``[[phase]]``; ``number`` is its 1-based position in the merged rules."""

    number: int
    name: str
    title: str
    description: str
    categories: tuple[str, ...]
    line: int = 0
    source: str = DEFAULT_SOURCE

    @property
    def label(self) -> str:
        return f"phase {self.number} ({self.name})"


@dataclass(frozen=True)
class Rules:
    """Validated rules: categories in match order, phases in merge order."""

    source: str
    base: str | None
    categories: tuple[CategoryRule, ...]
    phases: tuple[PhaseRule, ...]
    extends: str | None = None

    def category(self, name: str) -> CategoryRule | None:
        return next((category for category in self.categories if category.name == name), None)

    def phase(self, number: int) -> PhaseRule | None:
        return self.phases[number - 1] if 0 < number <= len(self.phases) else None

    def phase_of_category(self, name: str) -> PhaseRule | None:
        """The phase listing category ``name``, None when no phase does."""
        return self._phase_by_category.get(name)

    @functools.cached_property
    def _phase_by_category(self) -> dict[str, PhaseRule]:
        return {name: phase for phase in self.phases for name in phase.categories}


def load_rules(text: str, source: str, *, default: Rules | None = None) -> Rules:
    """Parse and validate rules.toml text; ``source`` names it in errors and reasons.

    With ``extends = "default"`` the result is merged with ``default`` (the
    packaged rules when None): see ``_extend``.
    """
    doc = _parse_toml(text, source)
    ctx = _Context(source, _Locator(text))
    root = _Table(ctx, "", None, doc)
    root.check_keys()
    extends = root.string("extends")
    if extends is not None and extends != "default":
        raise root.error(
            "extends", f"unknown value {extends!r}", 'the only value is extends = "default"'
        )
    base = None
    if "stager" in doc:
        stager = _Table(ctx, "stager", None, root.table("stager"))
        stager.check_keys()
        base = stager.string("base")
    category_tables = root.tables("category")
    categories = [_category(table) for table in category_tables]
    _check_unique(categories, category_tables)
    phase_tables = root.tables("phase")
    phases = [_phase(table) for table in phase_tables]
    _check_unique([phase for phase, _ in phases], phase_tables)

    rules = Rules(source, base, tuple(categories), (), extends)
    if extends is not None:
        rules = _extend(rules, default if default is not None else default_rules())
    if not rules.categories:
        raise RulesError(
            f"{source}:1: category: no [[category]] table",
            'add one, or set extends = "default" to build on the default rules',
        )
    _check_phase_categories(phases, {category.name for category in rules.categories})
    project_phases = tuple(phase for phase, _ in phases)
    return _number(dataclasses.replace(rules, phases=_merge_phases(project_phases, rules.phases)))


def _check_phase_categories(phases: Sequence[tuple[PhaseRule, _Table]], known: set[str]) -> None:
    """Every category a phase lists exists, and is in no other phase."""
    claimed: dict[str, str] = {}
    for phase, table in phases:
        for name in phase.categories:
            if name not in known:
                raise table.error(
                    "categories",
                    f"unknown category {name!r} in phase {phase.name!r}",
                    _suggest(name, known, "categories"),
                    value=name,
                )
            if name in claimed:
                raise table.error(
                    "categories",
                    f"category {name!r} is already in phase {claimed[name]!r}",
                    "a category belongs to one phase; remove it from one of them",
                    value=name,
                )
            claimed[name] = phase.name


@functools.cache
def default_rules() -> Rules:
    """The packaged default rules.toml."""
    from stager.resources import packaged_path

    path = packaged_path("rules.toml")
    return load_rules(path.read_text(encoding="utf-8"), DEFAULT_SOURCE)


def _extend(rules: Rules, default: Rules) -> Rules:
    """The project's categories first, then the default ones it does not replace.

    A project entry named like a default one replaces it in place, so
    redefining e.g. 'other' cannot move a catch-all ahead of everything.
    """
    own = {category.name: category for category in rules.categories}
    replaced = [own.pop(category.name, category) for category in default.categories]
    categories = tuple(category for category in rules.categories if category.name in own) + tuple(
        replaced
    )
    return dataclasses.replace(
        rules,
        base=rules.base if rules.base is not None else default.base,
        categories=categories,
        phases=default.phases,
    )


def _merge_phases(
    project: tuple[PhaseRule, ...], inherited: tuple[PhaseRule, ...]
) -> tuple[PhaseRule, ...]:
    """Project phases before inherited ones; same name replaces in place.

    A category the project puts in one of its phases leaves the inherited phase
    that listed it, so every category still has exactly one phase.
    """
    if not inherited:
        return project
    own = {phase.name: phase for phase in project}
    claimed = {name for phase in project for name in phase.categories}
    merged = [
        own.pop(phase.name)
        if phase.name in own
        else dataclasses.replace(
            phase, categories=tuple(c for c in phase.categories if c not in claimed)
        )
        for phase in inherited
    ]
    return tuple(phase for phase in project if phase.name in own) + tuple(merged)


def _number(rules: Rules) -> Rules:
    phases = tuple(
        dataclasses.replace(phase, number=number)
        for number, phase in enumerate(rules.phases, start=1)
    )
    return dataclasses.replace(rules, phases=phases)


def _category(table: _Table) -> CategoryRule:
    table.check_keys()
    name = table.name()
    paths = tuple(table.pattern(text) for text in table.strings("paths"))
    migration: list[MigrationKind] = []
    kinds = [kind.value for kind in MigrationKind]
    for value in table.strings("migration", nonempty=True):
        if value == ANY_MIGRATION:
            migration.extend(kind for kind in MigrationKind if kind not in migration)
        elif value in kinds:
            if MigrationKind(value) not in migration:
                migration.append(MigrationKind(value))
        else:
            raise table.error(
                "migration",
                f"unknown migration kind {value!r}",
                _suggest(value, [*kinds, ANY_MIGRATION], "kinds"),
                value=value,
            )
    submodule = table.boolean("submodule")
    risk_text = table.required_string("risk")
    try:
        risk = Risk.parse(risk_text)
    except ValueError:
        raise table.error(
            "risk", f"unknown risk {risk_text!r}", _suggest(risk_text, Risk.names(), "risks")
        ) from None
    if submodule and migration:
        raise table.error(
            "submodule",
            f"category {name!r} sets both submodule and migration",
            "a submodule is never a revision file; split it into two categories",
        )
    if not (paths or migration or submodule):
        raise table.error(
            None,
            f"category {name!r} matches nothing",
            "give it paths, migration or submodule = true",
        )
    return CategoryRule(
        name=name,
        title=table.string("title") or _title(name),
        description=table.string("description") or "",
        paths=paths,
        migration=tuple(migration),
        submodule=submodule,
        risk=risk,
        line=table.line(),
        source=table.ctx.source,
    )


def _phase(table: _Table) -> tuple[PhaseRule, _Table]:
    table.check_keys()
    name = table.name()
    categories = table.strings("categories")
    seen: set[str] = set()
    for category in categories:
        if category in seen:
            raise table.error(
                "categories", f"category {category!r} listed twice", "remove one", value=category
            )
        seen.add(category)
    phase = PhaseRule(
        number=0,  # numbered once merged
        name=name,
        title=table.string("title") or _title(name),
        description=table.string("description") or "",
        categories=tuple(categories),
        line=table.line(),
        source=table.ctx.source,
    )
    return phase, table


def _check_unique(entries: Sequence[CategoryRule | PhaseRule], tables: Sequence[_Table]) -> None:
    first: dict[str, int] = {}
    for entry, table in zip(entries, tables, strict=True):
        if entry.name in first:
            raise table.error(
                "name",
                f"duplicate {table.kind} {entry.name!r} (first at line {first[entry.name]})",
                "rename one or merge the two",
            )
        first[entry.name] = entry.line


def _title(name: str) -> str:
    return name.replace("-", " ").capitalize()


def _suggest(value: str, choices: Sequence[str] | set[str], what: str) -> str:
    import difflib

    close = difflib.get_close_matches(value, sorted(choices), n=1)
    if close:
        return f"did you mean {close[0]!r}?"
    return f"known {what}: {', '.join(sorted(choices))}"


def _parse_toml(text: str, source: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        message = str(error)
        found = re.search(r"\s*\(at line (\d+), column (\d+)\)$", message)
        if found:
            line, where = int(found[1]), f" at column {found[2]}"
            message = message[: found.start()]
        else:
            line, where = max(1, len(text.splitlines())), ""
            message = re.sub(r"\s*\(at end of document\)$", "", message)
        raise RulesError(
            f"{source}:{line}: toml: invalid TOML: {message}{where}",
            "fix the syntax (https://toml.io)",
        ) from None


@dataclass(frozen=True)
class _Context:
    source: str
    locator: _Locator


class _Table:
    """One table of the document being validated, and where it sits in the text."""

    def __init__(self, ctx: _Context, kind: str, index: int | None, data: dict[str, Any]):
        self.ctx = ctx
        self.kind = kind  # "" for the root, else the table's name in SCHEMA
        self.index = index  # position among [[kind]] tables, None for a plain table
        self.data = data

    def line(self, key: str | None = None, value: str | None = None) -> int:
        return self.ctx.locator.find(self.kind, self.index, key, value)

    def error(
        self, key: str | None, problem: str, fix: str, value: str | None = None
    ) -> RulesError:
        label = f"{self.kind}.{key}" if self.kind and key else key or self.kind
        return RulesError(f"{self.ctx.source}:{self.line(key, value)}: {label}: {problem}", fix)

    def check_keys(self) -> None:
        schema = SCHEMA[self.kind]
        for key in self.data:
            if key not in schema:
                where = f"[[{self.kind}]]" if self.index is not None else "the top level"
                if self.kind == "stager":
                    where = "[stager]"
                raise self.error(key, f"unknown key in {where}", _suggest(key, set(schema), "keys"))

    def tables(self, key: str) -> list[_Table]:
        value = self.data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            raise self.error(
                key, f"expected [[{key}]] tables, got {_kind(value)}", f"write [[{key}]] headers"
            )
        return [_Table(self.ctx, key, index, item) for index, item in enumerate(value)]

    def table(self, key: str) -> dict[str, Any]:
        value = self.data[key]
        if not isinstance(value, dict):
            raise self.error(
                key, f"expected a table, got {_kind(value)}", f"write a [{key}] header"
            )
        return value

    def name(self) -> str:
        name = self.required_string("name")
        if not _NAME.fullmatch(name):
            raise self.error(
                "name",
                f"invalid name {name!r}",
                "use lower-case letters, digits and '-', e.g. 'schema-additive'",
            )
        return name

    def required_string(self, key: str) -> str:
        assert SCHEMA[self.kind][key].required, key  # the schema documents what is required
        value = self.string(key)
        if value is None:
            # no such line: the error points at the table's header
            raise self.error(key, f"missing key {key!r}", f'add {key} = "..."')
        return value

    def string(self, key: str) -> str | None:
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self.error(key, f"expected a string, got {_kind(value)}", f'write {key} = "..."')
        return value

    def boolean(self, key: str) -> bool:
        value = self.data.get(key, False)
        if not isinstance(value, bool):
            raise self.error(
                key, f"expected true or false, got {_kind(value)}", f"write {key} = true"
            )
        return value

    def strings(self, key: str, *, nonempty: bool = False) -> list[str]:
        value = self.data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise self.error(
                key,
                f"expected an array of strings, got {_kind(value)}",
                f'write {key} = ["...", "..."]',
            )
        if nonempty and key in self.data and not value:
            raise self.error(key, "empty array matches nothing", f"list some or remove {key}")
        return value

    def pattern(self, text: str) -> Pattern:
        try:
            return compile_glob(text)
        except ValueError as error:
            problem, _, fix = str(error).partition("; ")
            raise self.error(
                "paths",
                f"invalid pattern {text!r}: {problem}",
                fix or "patterns follow .gitignore syntax",
                value=text,
            ) from None


def _kind(value: object) -> str:
    names = {bool: "a boolean", str: "a string", int: "an integer", float: "a float"}
    for python_type, name in names.items():
        if isinstance(value, python_type):
            return f"{name} ({value!r})"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return "a date/time"


_HEADER = re.compile(r"\s*(\[\[?)\s*([A-Za-z0-9_.-]+|\"[^\"]*\"|'[^']*')\s*\]\]?\s*(#.*)?")


class _Locator:
    """Finds the line of a table, key or value: tomllib reports none."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        # (line number, table name, is an array of tables) for every header
        self.headers: list[tuple[int, str, bool]] = []
        closing: str | None = None  # delimiter of the multi-line string we are in
        for number, line in enumerate(self.lines, start=1):
            if closing is None:
                header = _HEADER.fullmatch(line)
                if header:
                    name = header[2].strip("\"'")
                    self.headers.append((number, name, header[1] == "[["))
                    continue
            for delimiter in ('"""', "'''"):
                if closing in (None, delimiter) and line.count(delimiter) % 2 == 1:
                    closing = None if closing else delimiter

    def find(self, kind: str, index: int | None, key: str | None, value: str | None) -> int:
        start, end = self._span(kind, index)
        if key is None:
            return start
        key_pattern = re.compile(
            rf"\s*(?:{re.escape(key)}|\"{re.escape(key)}\"|'{re.escape(key)}')\s*="
        )
        for number in range(start, end):
            if key_pattern.match(self.lines[number - 1]):
                if value is not None:
                    return self._value_line(number, end, value)
                return number
        return start

    def _span(self, kind: str, index: int | None) -> tuple[int, int]:
        """[first, last) lines of a table; the root ends at the first header."""
        ends = [number for number, _, _ in self.headers] + [len(self.lines) + 1]
        if not kind:
            return 1, ends[0]
        matches = [
            (number, ends[position + 1])
            for position, (number, name, array) in enumerate(self.headers)
            if name == kind and array == (index is not None)
        ]
        position = index or 0
        if position < len(matches):
            return matches[position]
        # written inline (category = [{...}]): the best we can do is the root key
        root_end = ends[0]
        return self.find("", None, kind, None), root_end

    def _value_line(self, start: int, end: int, value: str) -> int:
        quoted = ('"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"', f"'{value}'")
        for number in range(start, end):
            if any(form in self.lines[number - 1] for form in quoted):
                return number
        return start
