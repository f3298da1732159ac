"""The rules.toml schema: every key, its type and the doc line docs/rules-toml.md repeats."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from stager.rules.catalogue import DEFAULT_POSTGRES_VERSION

DEFAULT_SOURCE = "rules.toml"
"""How the packaged default rules are named in reasons and errors."""

RULE_TABLE = "rules.ID"
"""SCHEMA section of each ``[rules.SM010]``-style table."""

HUNK_TABLE = "phase.hunks"
"""SCHEMA section of each entry of a ``[[phase]]``'s ``hunks``."""


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
        Key("migrations", "table", "Migration files besides Alembic revisions."),
        Key("rules", "table", "Per-rule settings, one [rules.ID] table per rule id."),
        Key("github", "table", "Where `stager open-pr` opens pull requests, and who reviews."),
        Key(
            "split",
            "table",
            "How `stager split` names the phase branches, and whether it splits a mixed migration.",
        ),
        Key("verify", "table", "How `stager verify` checks the phase branches."),
    ),
    "verify": _keys(
        Key(
            "python",
            "string",
            "The project's Python, which compiles the phase's files: a command (split as a "
            'shell would) or a path from the repository root (default "python3").',
        ),
        Key(
            "alembic",
            "string",
            "The project's Alembic for `verify --database`, run from the root of each phase's "
            "tree, or from its configuration's folder when a relative script_location is "
            'found from there only (default: "alembic", with -c naming the configuration '
            "stager found).",
        ),
        Key(
            "env",
            "table",
            "For `verify --database`: more variables for the project's Alembic, each a template "
            "of stager's database: {url}, {host}, {port}, {database}, {user}, {password}.",
        ),
        Key(
            "seed",
            "string",
            "For `verify --database`: rows loaded after the base's upgrade, in the phases' "
            "database and the reference's, whose tables are then compared: a .sql file from "
            "the repository root, or a command run there with stager's database in its "
            "environment (default: none, data migrations run on empty tables).",
        ),
        Key(
            "version_table",
            "string",
            "For `verify --database`: where the project's Alembic keeps its revisions, "
            '"schema.table" or a table of public, e.g. "dispatch_core.alembic_version" '
            "(default: the literal version_table_schema and version_table its env.py passes "
            "to context.configure, else public.alembic_version).",
        ),
    ),
    "split": _keys(
        Key(
            "branch",
            "string",
            "Branch of each phase; {number} and {name} are replaced "
            '(default "stage/{number}-{name}").',
        ),
        Key(
            "expand_contract",
            "boolean",
            "Split a migration that both adds and drops into a new expand revision early and "
            "the original reduced to its drops later, where it would otherwise ship whole with "
            "SP001 (default true).",
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
    "migrations": _keys(
        Key(
            "sql",
            "array of strings",
            "gitignore-style patterns of plain SQL migration files (Flyway, golang-migrate, "
            "dbmate, sqitch) that analyze and plan read as migrations, e.g. "
            '"db/migrations/**/*.sql".',
        ),
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
            "contract",
            "array of strings",
            "Alembic revision ids split into expand and contract even where the plan does not "
            "need it; the contract part ships in this phase or later.",
        ),
        Key(
            "maintenance_window",
            "boolean",
            "Flag the phase as needing a maintenance window; default: from its files.",
        ),
        Key(
            "hunks",
            "array of tables",
            "Hunks this phase takes from files split by hunk: "
            '[{ path = "GLOB", match = "REGEX" }].',
        ),
    ),
    HUNK_TABLE: _keys(
        Key(
            "path",
            "string",
            "gitignore-style pattern of the files whose hunks this entry routes.",
            required=True,
        ),
        Key(
            "match",
            "string",
            "Python regex; a hunk goes to the phase when one of its added or removed lines "
            "matches it.",
            required=True,
        ),
    ),
}
