"""rules.toml: categories (which files carry which risk) and phases (what ships when).

Loaded with tomllib and validated against ``SCHEMA`` (:mod:`stager.rules.toml_schema`), the one
place each key is declared and documented (docs/rules-toml.md must describe every key; a test
checks it). Every problem is a ``RulesError`` reading
``SOURCE:LINE: key: problem — how to fix``.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from stager.errors import RulesError, suggest
from stager.findings import Finding
from stager.resources import packaged_path
from stager.rules.catalogue import DEFAULT_POSTGRES_VERSION
from stager.rules.globs import Pattern, combine, decide, match_patterns
from stager.rules.hunk_rules import HunkRule, hunk_rules
from stager.rules.sections import (
    GitHubRules,
    RuleSetting,
    SplitRules,
    VerifyRules,
    github_rules,
    lint_settings,
    split_rules,
    sql_migration_paths,
    verify_rules,
)
from stager.rules.toml_file import parse_toml, toml_text
from stager.rules.toml_schema import DEFAULT_SOURCE
from stager.rules.toml_tables import Context, Locator, Table
from stager.types import MigrationKind, Risk

ANY_MIGRATION = "any"
UNASSIGNED_LAST = "last"
UNASSIGNED_ERROR = "error"


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
    paths: tuple[Pattern, ...] = ()  # files taken before any category
    migrations: tuple[str, ...] = ()  # revision ids taken before paths and categories
    maintenance_window: bool | None = None  # None: decided from the phase's files
    hunks: tuple[HunkRule, ...] = ()  # hunks taken from files split by hunk
    contract: tuple[str, ...] = ()  # revision ids split into expand and contract, contract here

    @property
    def label(self) -> str:
        return f"phase {self.number} ({self.name})"

    @property
    def location(self) -> str:
        return f"{self.source}:{self.line}"

    def match_path(self, path: str) -> Pattern | None:
        """The pattern of ``paths`` that selects ``path``, or None."""
        return match_patterns(self.paths, path) if self.paths else None


@dataclass(frozen=True)
class Rules:
    """Validated rules: categories in match order, phases in merge order."""

    source: str
    base: str | None
    categories: tuple[CategoryRule, ...]
    phases: tuple[PhaseRule, ...]
    extends: str | None = None
    unassigned: str = UNASSIGNED_LAST  # "last", "error" or a phase name
    rechain: bool = True
    postgres_version: int = DEFAULT_POSTGRES_VERSION
    rule_settings: Mapping[str, RuleSetting] = dataclasses.field(default_factory=dict)
    github: GitHubRules = dataclasses.field(default_factory=GitHubRules)
    split: SplitRules = dataclasses.field(default_factory=SplitRules)
    verify: VerifyRules = dataclasses.field(default_factory=VerifyRules)
    base_line: int = 0  # line of [stager] base in ``source`` (0: not set there)
    # ``[migrations] sql``: plain SQL migration files that analyze and plan lint and classify
    sql_migrations: tuple[Pattern, ...] = ()

    def is_sql_migration(self, path: str) -> bool:
        """``path`` is a plain SQL migration file by ``[migrations] sql``."""
        return bool(self.sql_migrations) and match_patterns(self.sql_migrations, path) is not None

    def unassigned_phase(self) -> PhaseRule | None:
        """The phase of files no phase takes; None with ``unassigned = "error"`` or no phases."""
        if not self.phases or self.unassigned == UNASSIGNED_ERROR:
            return None
        if self.unassigned == UNASSIGNED_LAST:
            return self.phases[-1]
        return next((phase for phase in self.phases if phase.name == self.unassigned), None)

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


def apply_settings(findings: Iterable[Finding], rules: Rules) -> list[Finding]:
    """rules.toml's ``[rules.ID]`` tables: drop disabled or ignored findings, change risks."""
    settings = rules.rule_settings
    if not settings:
        return list(findings)
    kept: list[Finding] = []
    for finding in findings:
        setting = settings.get(finding.rule)
        if setting is None:
            kept.append(finding)
            continue
        if not setting.enabled or (finding.path is not None and setting.ignores(finding.path)):
            continue
        kept.append(dataclasses.replace(finding, risk=setting.risk) if setting.risk else finding)
    return kept


def load_rules(text: str, source: str, *, default: Rules | None = None) -> Rules:
    """Parse and validate rules.toml text; ``source`` names it in errors and reasons.

    With ``extends = "default"`` the result is merged with ``default`` (the
    packaged rules when None): see ``_extend``.
    """
    doc = parse_toml(text, source)
    ctx = Context(source, Locator(text))
    root = Table(ctx, "", None, doc)
    root.check_keys()
    extends = root.string("extends")
    if extends is not None and extends != "default":
        raise root.error(
            "extends", f"unknown value {extends!r}", 'the only value is extends = "default"'
        )
    base = None
    stager: Table | None = None
    unassigned: str | None = None
    rechain: bool | None = None
    if "stager" in doc:
        stager = Table(ctx, "stager", None, root.table("stager"))
        stager.check_keys()
        base = stager.string("base")
        unassigned = stager.string("unassigned")
        rechain = stager.boolean("rechain") if "rechain" in stager.data else None
    category_tables = root.tables("category")
    categories = [_category(table) for table in category_tables]
    _check_unique(categories, category_tables)
    phase_tables = root.tables("phase")
    phases = [_phase(table) for table in phase_tables]
    _check_unique(phases, phase_tables)

    rules = Rules(source, base, tuple(categories), (), extends)
    # What the project's settings build on: the defaults of Rules, or the extended rules'.
    inherited = Rules(source, None, (), ())
    if extends is not None:
        inherited = default if default is not None else default_rules()
        rules = _extend(rules, inherited)
    if not rules.categories:
        raise RulesError(
            f"{source}:1: category: no [[category]] table",
            'add one, or set extends = "default" to build on the default rules',
        )
    _check_phases(phases, phase_tables, {category.name for category in rules.categories})
    merged = _merge_phases(tuple(phases), rules.phases)
    rules = dataclasses.replace(
        rules,
        phases=tuple(
            dataclasses.replace(phase, number=number) for number, phase in enumerate(merged, 1)
        ),
        unassigned=unassigned or inherited.unassigned,
        rechain=inherited.rechain if rechain is None else rechain,
    )
    if stager is not None and unassigned is not None:
        _check_unassigned(rules, stager)
    version, settings = lint_settings(root, inherited.postgres_version, inherited.rule_settings)
    return dataclasses.replace(
        rules,
        postgres_version=version,
        rule_settings=settings,
        github=github_rules(
            root, inherited.github, [category.name for category in rules.categories]
        ),
        split=split_rules(root, inherited.split),
        verify=verify_rules(root, inherited.verify),
        base_line=stager.line("base") if stager is not None and base is not None else 0,
        sql_migrations=sql_migration_paths(root, inherited.sql_migrations),
    )


def _check_unassigned(rules: Rules, stager: Table) -> None:
    """``unassigned`` is "last", "error" or the name of a phase of the merged rules."""
    names = [phase.name for phase in rules.phases]
    if rules.unassigned in (UNASSIGNED_LAST, UNASSIGNED_ERROR) or rules.unassigned in names:
        return
    raise stager.error(
        "unassigned",
        f"unknown value {rules.unassigned!r}: no phase has that name",
        suggest(rules.unassigned, [UNASSIGNED_LAST, UNASSIGNED_ERROR, *names], "values"),
        value=rules.unassigned,
    )


def _check_phases(phases: Sequence[PhaseRule], tables: Sequence[Table], known: set[str]) -> None:
    """Every category a phase lists exists; a category or a revision id is in one phase only."""
    for key, noun, owner in (
        ("categories", "category", "category"),
        ("migrations", "revision", "migration"),
    ):
        claimed: dict[str, str] = {}
        for phase, table in zip(phases, tables, strict=True):
            for name in phase.categories if key == "categories" else phase.migrations:
                if key == "categories" and name not in known:
                    raise table.error(
                        key,
                        f"unknown category {name!r} in phase {phase.name!r}",
                        suggest(name, known, "categories"),
                        value=name,
                    )
                if name in claimed:
                    raise table.error(
                        key,
                        f"{noun} {name!r} is already in phase {claimed[name]!r}",
                        f"a {owner} belongs to one phase; remove it from one of them",
                        value=name,
                    )
                claimed[name] = phase.name


@functools.cache
def default_rules() -> Rules:
    """The packaged default rules.toml."""

    return load_rules(toml_text(packaged_path("rules.toml"), DEFAULT_SOURCE), DEFAULT_SOURCE)


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


def _category(table: Table) -> CategoryRule:
    table.check_keys()
    name = table.name()
    paths = tuple(table.pattern(text) for text in table.strings("paths"))
    migration: dict[MigrationKind, None] = {}  # in the order first named
    kinds = [kind.value for kind in MigrationKind]
    for value in table.strings("migration", nonempty=True):
        if value == ANY_MIGRATION:
            migration.update(dict.fromkeys(MigrationKind))
        elif value in kinds:
            migration[MigrationKind(value)] = None
        else:
            raise table.error(
                "migration",
                f"unknown migration kind {value!r}",
                suggest(value, [*kinds, ANY_MIGRATION], "kinds"),
                value=value,
            )
    submodule = table.boolean("submodule")
    risk = table.risk(table.required_string("risk"))
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


def _phase(table: Table) -> PhaseRule:
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
    migrations = table.strings("migrations", nonempty=True)
    for revision in migrations:
        if migrations.count(revision) > 1:
            raise table.error(
                "migrations", f"revision {revision!r} listed twice", "remove one", value=revision
            )
    return PhaseRule(
        number=0,  # numbered once merged
        name=name,
        title=table.string("title") or _title(name),
        description=table.string("description") or "",
        categories=tuple(categories),
        line=table.line(),
        source=table.ctx.source,
        paths=tuple(table.pattern(text) for text in table.strings("paths", nonempty=True)),
        migrations=tuple(migrations),
        maintenance_window=(
            table.boolean("maintenance_window") if "maintenance_window" in table.data else None
        ),
        hunks=hunk_rules(table),
        contract=tuple(dict.fromkeys(table.strings("contract", nonempty=True))),
    )


def _check_unique(entries: Sequence[CategoryRule | PhaseRule], tables: Sequence[Table]) -> None:
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
