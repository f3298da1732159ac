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
from stager.globs import Pattern, combine, compile_glob, decide, match_patterns
from stager.migrations.lint.catalogue import DEFAULT_POSTGRES_VERSION, KNOWN_RULES
from stager.migrations.model import MigrationKind
from stager.types import Risk

DEFAULT_SOURCE = "rules.toml"
"""How the packaged default rules are named in reasons and errors."""

ANY_MIGRATION = "any"
RULE_TABLE = "rules.ID"
"""SCHEMA section of each ``[rules.SM010]``-style table."""
UNASSIGNED_LAST = "last"
UNASSIGNED_ERROR = "error"
DEFAULT_SPLIT_BRANCH = "stage/{number}-{name}"
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
        Key("postgres", "table", "The PostgreSQL server the migrations run on."),
        Key("rules", "table", "Per-rule settings, one [rules.ID] table per rule id."),
        Key("github", "table", "Where `stager open-pr` opens pull requests, and who reviews."),
        Key("split", "table", "How `stager split` names the phase branches."),
    ),
    "split": _keys(
        Key(
            "branch",
            "string",
            "Branch of each phase; {number} and {name} are replaced "
            '(default "stage/{number}-{name}").',
        ),
    ),
    "github": _keys(
        Key(
            "repo", "string", "OWNER/NAME of the GitHub repository; default: from the remote's URL."
        ),
        Key(
            "api_url",
            "string",
            "REST API root (GitHub Enterprise: 'https://HOST/api/v3'); "
            "default: GITHUB_API_URL, else from the remote's host.",
        ),
        Key("reviewers", "table", "Category name → GitHub logins asked to review its files."),
        Key("team_reviewers", "table", "Category name → team slugs asked to review its files."),
    ),
    "postgres": _keys(
        Key(
            "version",
            "integer",
            f"Major version; rules and hints follow it (default {DEFAULT_POSTGRES_VERSION}).",
        ),
    ),
    RULE_TABLE: _keys(
        Key("enabled", "boolean", "false turns the rule off (default true)."),
        Key("risk", "string", "Replaces the rule's risk: low, medium, high or critical."),
        Key("ignore", "array of strings", "gitignore-style patterns of paths the rule skips."),
    ),
    "stager": _keys(
        Key("base", "string", "Base ref when --base is not given, e.g. 'develop'."),
        Key(
            "unassigned",
            "string",
            'Phase of files whose category no [[phase]] lists: "last", "error" or a phase name.',
        ),
        Key(
            "rechain",
            "boolean",
            "Re-chain migrations onto the head the previous phase left (default true).",
        ),
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
        Key("paths", "array of strings", "gitignore-style patterns: files this phase takes."),
        Key("migrations", "array of strings", "Alembic revision ids this phase takes."),
        Key(
            "maintenance_window",
            "boolean",
            "Flag the phase as needing a maintenance window; default: from its files.",
        ),
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
    paths: tuple[Pattern, ...] = ()  # files taken before any category
    migrations: tuple[str, ...] = ()  # revision ids taken before paths and categories
    maintenance_window: bool | None = None  # None: decided from the phase's files

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
class RuleSetting:
    """A ``[rules.SM010]`` table: turn a rule off, change its risk, skip some paths."""

    rule: str
    enabled: bool = True
    risk: Risk | None = None
    ignore: tuple[Pattern, ...] = ()
    line: int = 0
    source: str = DEFAULT_SOURCE

    def ignores(self, path: str) -> bool:
        return match_patterns(self.ignore, path) is not None


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
    github: GitHubRules = dataclasses.field(default_factory=lambda: GitHubRules())  # noqa: PLW0108  # defined below
    split: SplitRules = dataclasses.field(default_factory=lambda: SplitRules())  # noqa: PLW0108  # defined below
    base_line: int = 0  # line of [stager] base in ``source`` (0: not set there)

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
    stager: _Table | None = None
    unassigned: str | None = None
    rechain: bool | None = None
    if "stager" in doc:
        stager = _Table(ctx, "stager", None, root.table("stager"))
        stager.check_keys()
        base = stager.string("base")
        unassigned = stager.string("unassigned")
        rechain = stager.boolean("rechain") if "rechain" in stager.data else None
    category_tables = root.tables("category")
    categories = [_category(table) for table in category_tables]
    _check_unique(categories, category_tables)
    phase_tables = root.tables("phase")
    phases = [_phase(table) for table in phase_tables]
    _check_unique([phase for phase, _ in phases], phase_tables)

    rules = Rules(source, base, tuple(categories), (), extends)
    inherited: Rules | None = None
    if extends is not None:
        inherited = default if default is not None else default_rules()
        rules = _extend(rules, inherited)
    if not rules.categories:
        raise RulesError(
            f"{source}:1: category: no [[category]] table",
            'add one, or set extends = "default" to build on the default rules',
        )
    _check_phase_categories(phases, {category.name for category in rules.categories})
    _check_phase_migrations(phases)
    project_phases = tuple(phase for phase, _ in phases)
    rules = _number(dataclasses.replace(rules, phases=_merge_phases(project_phases, rules.phases)))
    rules = dataclasses.replace(
        rules,
        unassigned=unassigned or (inherited.unassigned if inherited else UNASSIGNED_LAST),
        rechain=rechain if rechain is not None else (inherited.rechain if inherited else True),
    )
    if stager is not None and unassigned is not None:
        _check_unassigned(rules, stager)
    rules = _with_github(_with_lint_settings(rules, root, inherited), root, inherited)
    rules = _with_split(rules, root, inherited)
    if stager is not None and base is not None:
        rules = dataclasses.replace(rules, base_line=stager.line("base"))
    return rules


# git check-ref-format's rules, for the branch names the template gives.
_BAD_BRANCH = re.compile(
    r"(^|/)\.|\.\.|[\x00-\x20\x7f~^:?*\[\\]|@\{|//|\.lock(/|$)|^/|/$|\.$|^@$|^-"
)


@dataclass(frozen=True)
class SplitRules:
    """``[split]``: how `stager split` names the phase branches."""

    branch: str = DEFAULT_SPLIT_BRANCH

    def branch_name(self, number: int, name: str) -> str:
        return self.branch.format(number=number, name=name)


def _with_split(rules: Rules, root: _Table, inherited: Rules | None) -> Rules:
    """``[split] branch``: a template that gives every phase its own valid branch name."""
    if "split" not in root.data:
        return dataclasses.replace(rules, split=inherited.split) if inherited else rules
    table = _Table(root.ctx, "split", None, root.table("split"))
    table.check_keys()
    template = table.string("branch")
    if template is None:
        return rules
    fix = 'write e.g. branch = "stage/{number}-{name}"'
    fields = set(re.findall(r"\{([^{}]*)\}", template))
    if not fields <= {"number", "name"} or not fields:
        raise table.error(
            "branch",
            f"{template!r} must use {{number}} or {{name}} (and no other {{field}})",
            fix,
            value=template,
        )
    try:
        sample = template.format(number=12, name="foundation")
    except (ValueError, IndexError, KeyError):
        raise table.error("branch", f"{template!r} is not a valid template", fix) from None
    if _BAD_BRANCH.search(sample):
        raise table.error(
            "branch",
            f"{template!r} gives {sample!r}, which is not a valid git branch name",
            "use letters, digits, '-', '_', '.' and '/'; " + fix,
            value=template,
        )
    return dataclasses.replace(rules, split=SplitRules(template))


def _with_lint_settings(rules: Rules, root: _Table, inherited: Rules | None) -> Rules:
    """``[postgres] version`` and the ``[rules.ID]`` tables (project settings win)."""
    version = inherited.postgres_version if inherited else DEFAULT_POSTGRES_VERSION
    if "postgres" in root.data:
        postgres = _Table(root.ctx, "postgres", None, root.table("postgres"))
        postgres.check_keys()
        value = postgres.data.get("version", version)
        if isinstance(value, float) and value in {9.0, 9.1, 9.2, 9.3, 9.4, 9.5, 9.6}:
            value = 9  # 9.x were major versions; the rules only tell 9 from 10+
        if isinstance(value, bool) or not isinstance(value, int) or not 9 <= value <= 19:
            raise postgres.error(
                "version",
                f"expected a PostgreSQL major version (9.6 to 19), got {_kind(value)}",
                "write version = 14 (the major version only: 14.5 → 14)",
            )
        version = value
    settings = dict(inherited.rule_settings) if inherited else {}
    for rule_id, data in (root.table("rules") if "rules" in root.data else {}).items():
        table = _Table(root.ctx, f"rules.{rule_id}", None, data, schema=RULE_TABLE)
        if rule_id not in KNOWN_RULES:
            raise table.error(
                None,
                f"unknown rule id {rule_id!r}",
                _suggest(rule_id, set(KNOWN_RULES), "rule ids") + " (docs/rules.md lists them)",
            )
        if not isinstance(data, dict):
            raise table.error(
                None, f"expected a table, got {_kind(data)}", f"write a [rules.{rule_id}] header"
            )
        table.check_keys()
        risk_text = table.string("risk")
        try:
            risk = Risk.parse(risk_text) if risk_text is not None else None
        except ValueError:
            raise table.error(
                "risk",
                f"unknown risk {risk_text!r}",
                _suggest(risk_text or "", Risk.names(), "risks"),
            ) from None
        settings[rule_id] = RuleSetting(
            rule=rule_id,
            enabled=table.boolean("enabled") if "enabled" in data else True,
            risk=risk,
            ignore=tuple(table.pattern(text, key="ignore") for text in table.strings("ignore")),
            line=table.line(),
            source=root.ctx.source,
        )
    return dataclasses.replace(rules, postgres_version=version, rule_settings=settings)


@dataclass(frozen=True)
class GitHubRules:
    """``[github]``: where `stager open-pr` opens pull requests, and whom it asks to review."""

    repo: str | None = None
    api_url: str | None = None
    reviewers: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (category, logins), file order
    team_reviewers: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (category, team slugs)

    def reviewers_for(self, categories: Sequence[str]) -> tuple[str, ...]:
        """Logins for files of ``categories``, each once, in the order rules.toml lists them."""
        return _members(self.reviewers, categories)

    def team_reviewers_for(self, categories: Sequence[str]) -> tuple[str, ...]:
        return _members(self.team_reviewers, categories)


def _members(
    table: tuple[tuple[str, tuple[str, ...]], ...], categories: Sequence[str]
) -> tuple[str, ...]:
    names = [name for category, names in table if category in categories for name in names]
    return tuple(dict.fromkeys(names))


_LOGIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})")
_TEAM = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_REPO = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")


def _with_github(rules: Rules, root: _Table, inherited: Rules | None) -> Rules:
    """``[github]``, checked against the merged categories; the project's replaces the default's."""
    if "github" not in root.data:
        return dataclasses.replace(rules, github=inherited.github) if inherited else rules
    table = _Table(root.ctx, "github", None, root.table("github"))
    table.check_keys()
    repo = table.string("repo")
    if repo is not None and not _REPO.fullmatch(repo):
        raise table.error("repo", f"invalid repository {repo!r}", 'write repo = "OWNER/NAME"')
    api_url = table.string("api_url")
    if api_url is not None and not re.fullmatch(r"https?://[^/\s]+(/\S*)?", api_url):
        raise table.error(
            "api_url",
            f"invalid URL {api_url!r}",
            'write the REST API root, e.g. api_url = "https://ghe.example.com/api/v3"',
        )
    known = [category.name for category in rules.categories]
    return dataclasses.replace(
        rules,
        github=GitHubRules(
            repo=repo,
            api_url=api_url,
            reviewers=_category_names(table, "reviewers", known, _LOGIN, "a GitHub login"),
            team_reviewers=_category_names(table, "team_reviewers", known, _TEAM, "a team slug"),
        ),
    )


def _category_names(
    github: _Table, key: str, known: Sequence[str], pattern: re.Pattern[str], what: str
) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """A ``[github.KEY]`` table: category name → array of names matching ``pattern``."""
    if key not in github.data:
        return ()
    table = _Table(github.ctx, f"github.{key}", None, github.table(key), schema="github")
    entries = []
    for category in table.data:
        if category not in known:
            raise table.error(
                category, f"unknown category {category!r}", _suggest(category, known, "categories")
            )
        names = table.strings(category)
        for name in names:
            if not pattern.fullmatch(name):
                fix = (
                    "write the team's slug without the organisation, e.g. 'dbas'"
                    if "/" in name
                    else f"write {what}"
                )
                raise table.error(category, f"invalid name {name!r}", fix, value=name)
        entries.append((category, tuple(names)))
    return tuple(entries)


def _check_unassigned(rules: Rules, stager: _Table) -> None:
    """``unassigned`` is "last", "error" or the name of a phase of the merged rules."""
    names = [phase.name for phase in rules.phases]
    if rules.unassigned in (UNASSIGNED_LAST, UNASSIGNED_ERROR) or rules.unassigned in names:
        return
    raise stager.error(
        "unassigned",
        f"unknown value {rules.unassigned!r}: no phase has that name",
        _suggest(rules.unassigned, [UNASSIGNED_LAST, UNASSIGNED_ERROR, *names], "values"),
        value=rules.unassigned,
    )


def _check_phase_migrations(phases: Sequence[tuple[PhaseRule, _Table]]) -> None:
    """A revision id is taken by one phase only."""
    claimed: dict[str, str] = {}
    for phase, table in phases:
        for revision in phase.migrations:
            if revision in claimed:
                raise table.error(
                    "migrations",
                    f"revision {revision!r} is already in phase {claimed[revision]!r}",
                    "a migration belongs to one phase; remove it from one of them",
                    value=revision,
                )
            claimed[revision] = phase.name


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
    migrations = table.strings("migrations", nonempty=True)
    for revision in migrations:
        if migrations.count(revision) > 1:
            raise table.error(
                "migrations", f"revision {revision!r} listed twice", "remove one", value=revision
            )
    phase = PhaseRule(
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

    def __init__(
        self,
        ctx: _Context,
        kind: str,
        index: int | None,
        data: dict[str, Any],
        schema: str | None = None,
    ):
        self.ctx = ctx
        self.kind = kind  # "" for the root, else the table's name in SCHEMA
        self.index = index  # position among [[kind]] tables, None for a plain table
        self.data = data
        self.schema = kind if schema is None else schema  # its SCHEMA section

    def line(self, key: str | None = None, value: str | None = None) -> int:
        return self.ctx.locator.find(self.kind, self.index, key, value)

    def error(
        self, key: str | None, problem: str, fix: str, value: str | None = None
    ) -> RulesError:
        label = f"{self.kind}.{key}" if self.kind and key else key or self.kind
        return RulesError(f"{self.ctx.source}:{self.line(key, value)}: {label}: {problem}", fix)

    def check_keys(self) -> None:
        schema = SCHEMA[self.schema]
        for key in self.data:
            if key not in schema:
                where = f"[[{self.kind}]]" if self.index is not None else "the top level"
                if self.kind and self.index is None:
                    where = f"[{self.kind}]"
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

    def pattern(self, text: str, key: str = "paths") -> Pattern:
        try:
            return compile_glob(text)
        except ValueError as error:
            problem, _, fix = str(error).partition("; ")
            raise self.error(
                key,
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
        # not a key: a table of its own ([stagr] at the top level, [split.x])
        name = f"{kind}.{key}" if kind else key
        for number, header, _array in self.headers:
            if header == name or header.startswith(f"{name}."):
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
