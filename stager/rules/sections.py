"""The settings sections of rules.toml: [split], [verify], [postgres], [rules.ID] and [github].

Each reader validates its section and returns its value; a project that does
not write a section keeps the one it inherits (``extends = "default"``).
"""

from __future__ import annotations

import re
import shlex
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from stager.errors import StagerError, suggest
from stager.rules.catalogue import RULES
from stager.rules.globs import Pattern, match_patterns
from stager.rules.toml_schema import DEFAULT_SOURCE, RULE_TABLE
from stager.rules.toml_tables import Table, value_kind
from stager.types import Risk, VersionTable

DEFAULT_SPLIT_BRANCH = "stage/{number}-{name}"
DEFAULT_PYTHON = "python3"


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


# git check-ref-format's rules, for the branch names the template gives.
_BAD_BRANCH = re.compile(
    r"(^|/)\.|\.\.|[\x00-\x20\x7f~^:?*\[\\]|@\{|//|\.lock(/|$)|^/|/$|\.$|^@$|^-"
)


def branch_name(template: str, number: int, name: str) -> str:
    """A phase's branch from a ``[split] branch`` template, refused unless git accepts it."""
    branch = template.format(number=number, name=name)
    if branch.startswith("refs/"):
        raise StagerError(
            f"branch name {branch!r} (from [split] branch = {template!r}) starts with 'refs/': "
            f"git would create refs/heads/{branch}",
            'write the short branch name in [split] branch, e.g. "stage/{number}-{name}"',
        )
    if not branch or _BAD_BRANCH.search(branch):
        raise StagerError(
            f"branch name {branch!r} (from [split] branch = {template!r}) is not a valid git "
            "branch",
            "use letters, digits, '-', '_' and '/' in [split] branch and in the phase names, "
            'e.g. "stage/{number}-{name}"',
        )
    return branch


@dataclass(frozen=True)
class SplitRules:
    """``[split]``: how `stager split` names the phase branches; may it split a migration."""

    branch: str = DEFAULT_SPLIT_BRANCH
    # A mixed migration that would otherwise ship whole with SP001 becomes an
    # expand revision early and the original reduced to its contract later.
    expand_contract: bool = True

    def branch_name(self, number: int, name: str) -> str:
        """Phase ``number``'s branch: what split builds, open-pr pushes and the plan names."""
        return branch_name(self.branch, number, name)

    def is_phase_branch(self, branch: str) -> bool:
        """Whether the short name ``branch`` is one the template gives (some number and name).

        ``{number}`` stands for digits, ``{name}`` for any text.
        """
        parts: list[str] = []
        for literal, field, _, _ in string.Formatter().parse(self.branch):
            parts.append(re.escape(literal))
            if field == "number":
                parts.append("[0-9]+")
            elif field is not None:
                parts.append(".+")
        return re.fullmatch("".join(parts), branch) is not None


def _section(root: Table, name: str) -> Table | None:
    """The top-level table ``[name]``, its keys checked; None when the file has none."""
    if name not in root.data:
        return None
    table = Table(root.ctx, name, None, root.table(name))
    table.check_keys()
    return table


def split_rules(root: Table, inherited: SplitRules) -> SplitRules:
    """``[split] branch``: a template that gives every phase its own valid branch name."""
    table = _section(root, "split")
    if table is None:
        return inherited
    expand_contract = (
        table.boolean("expand_contract")
        if "expand_contract" in table.data
        else inherited.expand_contract
    )
    template = table.string("branch")
    if template is None:
        return SplitRules(inherited.branch, expand_contract)
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
    if sample.startswith("refs/"):
        raise table.error(
            "branch",
            f"{template!r} gives {sample!r}: a branch name, not a ref, is expected (git would "
            f"create refs/heads/{sample})",
            "leave out the leading refs/heads/; " + fix,
            value=template,
        )
    if _BAD_BRANCH.search(sample):
        raise table.error(
            "branch",
            f"{template!r} gives {sample!r}, which is not a valid git branch name",
            "use letters, digits, '-', '_', '.' and '/'; " + fix,
            value=template,
        )
    return SplitRules(template, expand_contract)


@dataclass(frozen=True)
class VerifyRules:
    """``[verify]``: how `stager verify` checks the phase branches."""

    python: str = DEFAULT_PYTHON  # the compile check's interpreter, a command line
    alembic: str | None = None  # verify --database: the project's Alembic (None: discovered)
    env: tuple[tuple[str, str], ...] = ()  # verify --database: variable → template of its URL
    seed: str | None = None  # verify --database: a .sql file or a command, after the base
    # verify --database: where the project's Alembic keeps its revisions (None: env.py says)
    version_table: VersionTable | None = None


DATABASE_PLACEHOLDERS = ("url", "host", "port", "database", "user", "password")
_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _database_env(table: Table) -> tuple[tuple[str, str], ...]:
    """``[verify] env``: variable names, each with a template of stager's database."""
    if "env" not in table.data:
        return ()
    fix = (
        'write env = { APP_DATABASE = "{url}" } (placeholders: '
        + ", ".join("{" + name + "}" for name in DATABASE_PLACEHOLDERS)
        + ")"
    )
    value = table.data["env"]
    if not isinstance(value, dict):
        raise table.error("env", f"expected a table, got {value_kind(value)}", fix)
    pairs: list[tuple[str, str]] = []
    for name, template in value.items():
        if not _VARIABLE.fullmatch(name):
            raise table.error("env", f"{name!r} is not an environment variable name", fix)
        if not isinstance(template, str):
            raise table.error("env", f"{name}: expected a string, got {value_kind(template)}", fix)
        try:
            fields = [field for _, field, _, _ in string.Formatter().parse(template) if field]
        except ValueError as error:
            raise table.error(
                "env", f"{name}: {template!r} is no template ({error})", fix
            ) from None
        unknown = sorted(set(fields) - set(DATABASE_PLACEHOLDERS))
        if unknown:
            raise table.error("env", f"{name}: unknown placeholder {{{unknown[0]}}}", fix)
        pairs.append((name, template))
    return tuple(pairs)


# PostgreSQL's unquoted identifiers (SQLAlchemy quotes one with upper case: kept as written)
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_$]{0,62}")


def _version_table(table: Table) -> VersionTable | None:
    """``[verify] version_table``: ``schema.table``, or a table of ``public``."""
    written = table.string("version_table")
    if written is None:
        return None
    parts = written.split(".")
    if len(parts) > 2 or not all(_IDENTIFIER.fullmatch(part) for part in parts):
        raise table.error(
            "version_table",
            f"{written!r} is not a table name, with its schema or without",
            "write the schema and the table as env.py's version_table_schema and version_table "
            'name them, e.g. version_table = "dispatch_core.alembic_version"',
            value=written,
        )
    if len(parts) == 1:
        return VersionTable(name=parts[0])
    return VersionTable(parts[0], parts[1])


def verify_rules(root: Table, inherited: VerifyRules) -> VerifyRules:
    """``[verify]``'s settings; they replace the inherited ones."""
    table = _section(root, "verify")
    if table is None:
        return inherited
    alembic = table.string("alembic")
    if alembic is not None:
        alembic_fix = 'name the command, e.g. alembic = "alembic -c backend/alembic.ini"'
        try:
            if not shlex.split(alembic):
                raise table.error("alembic", "is empty", alembic_fix, value=alembic)
        except ValueError as error:
            raise table.error(
                "alembic", f"{alembic!r} is not a command line ({error})", alembic_fix
            ) from None
    env = _database_env(table)
    seed = table.string("seed")
    if seed is not None and not seed.strip():
        raise table.error(
            "seed", "is empty", 'name a SQL file or a command, e.g. seed = "tests/seed.sql"'
        )
    version_table = _version_table(table)
    python = table.string("python")
    if python is None:
        return VerifyRules(alembic=alembic, env=env, seed=seed, version_table=version_table)
    fix = 'name the interpreter, e.g. python = "python3.14" or python = ".venv/bin/python"'
    try:
        words = shlex.split(python)
    except ValueError as error:
        raise table.error("python", f"{python!r} is not a command line ({error})", fix) from None
    if not words:
        raise table.error("python", "is empty", fix, value=python)
    return VerifyRules(python, alembic, env, seed, version_table)


def sql_migration_paths(root: Table, inherited: tuple[Pattern, ...]) -> tuple[Pattern, ...]:
    """``[migrations] sql``: the patterns of plain SQL migration files (the project's win)."""
    migrations = _section(root, "migrations")
    if migrations is None or "sql" not in migrations.data:
        return inherited
    return tuple(migrations.pattern(text, "sql") for text in migrations.strings("sql"))


def lint_settings(
    root: Table, version: int, inherited: Mapping[str, RuleSetting]
) -> tuple[int, dict[str, RuleSetting]]:
    """``[postgres] version`` and the ``[rules.ID]`` tables, over the inherited ones.

    ``version`` and ``inherited`` are what the rules build on; the project's
    settings win.
    """
    postgres = _section(root, "postgres")
    if postgres is not None:
        value = postgres.data.get("version", version)
        if isinstance(value, float) and value in {9.0, 9.1, 9.2, 9.3, 9.4, 9.5, 9.6}:
            value = 9  # 9.x were major versions; the rules only tell 9 from 10+
        if isinstance(value, bool) or not isinstance(value, int) or not 9 <= value <= 19:
            raise postgres.error(
                "version",
                f"expected a PostgreSQL major version (9.6 to 19), got {value_kind(value)}",
                "write version = 14 (the major version only: 14.5 → 14)",
            )
        version = value
    settings = dict(inherited)
    for rule_id, data in (root.table("rules") if "rules" in root.data else {}).items():
        table = Table(root.ctx, f"rules.{rule_id}", None, data, schema=RULE_TABLE)
        if rule_id not in RULES:
            raise table.error(
                None,
                f"unknown rule id {rule_id!r}",
                suggest(rule_id, set(RULES), "rule ids") + " (docs/rules.md lists them)",
            )
        if not isinstance(data, dict):
            raise table.error(
                None,
                f"expected a table, got {value_kind(data)}",
                f"write a [rules.{rule_id}] header",
            )
        table.check_keys()
        risk_text = table.string("risk")
        risk = table.risk(risk_text) if risk_text is not None else None
        settings[rule_id] = RuleSetting(
            rule=rule_id,
            enabled=table.boolean("enabled") if "enabled" in data else True,
            risk=risk,
            ignore=tuple(table.pattern(text, key="ignore") for text in table.strings("ignore")),
            line=table.line(),
            source=root.ctx.source,
        )
    return version, settings


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


def github_rules(root: Table, inherited: GitHubRules, known: Sequence[str]) -> GitHubRules:
    """``[github]``, checked against the merged categories ``known``; replaces the inherited one."""
    table = _section(root, "github")
    if table is None:
        return inherited
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
    return GitHubRules(
        repo=repo,
        api_url=api_url,
        reviewers=_category_names(table, "reviewers", known, _LOGIN, "a GitHub login"),
        team_reviewers=_category_names(table, "team_reviewers", known, _TEAM, "a team slug"),
    )


def _category_names(
    github: Table, key: str, known: Sequence[str], pattern: re.Pattern[str], what: str
) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """A ``[github.KEY]`` table: category name → array of names matching ``pattern``."""
    if key not in github.data:
        return ()
    table = Table(github.ctx, f"github.{key}", None, github.table(key), schema="github")
    entries = []
    for category in table.data:
        if category not in known:
            raise table.error(
                category, f"unknown category {category!r}", suggest(category, known, "categories")
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
