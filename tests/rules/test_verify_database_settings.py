"""``[verify] alembic``, ``env`` and ``version_table``: the settings of `verify --database`."""

from __future__ import annotations

import pytest

from stager.errors import RulesError
from stager.rules.settings import load_rules
from stager.types import VersionTable

EXTENDS = 'extends = "default"\n'


def test_alembic_and_env_are_read() -> None:
    rules = load_rules(
        EXTENDS
        + "[verify]\n"
        + 'alembic = "uv run alembic -c backend/alembic.ini"\n'
        + 'env = { APP_DB = "{url}", APP_DB_HOST = "{host}:{port}", LITERAL = "{{x}}" }\n',
        "rules.toml",
    )
    assert rules.verify.alembic == "uv run alembic -c backend/alembic.ini"
    assert rules.verify.env == (
        ("APP_DB", "{url}"),
        ("APP_DB_HOST", "{host}:{port}"),
        ("LITERAL", "{{x}}"),
    )
    assert rules.verify.python == "python3"


def test_without_them_alembic_is_discovered_and_env_is_empty() -> None:
    rules = load_rules(EXTENDS, "rules.toml")
    assert (rules.verify.alembic, rules.verify.env) == (None, ())
    assert rules.verify.version_table is None  # env.py's, else public.alembic_version


@pytest.mark.parametrize(
    ("written", "table"),
    [
        ("dispatch_core.alembic_version", VersionTable("dispatch_core", "alembic_version")),
        ("Meta.versions", VersionTable("Meta", "versions")),  # as SQLAlchemy quotes it
        ("migrations_done", VersionTable("public", "migrations_done")),
    ],
)
def test_version_table_is_read_with_its_schema_or_in_public(
    written: str, table: VersionTable
) -> None:
    rules = load_rules(EXTENDS + f'[verify]\nversion_table = "{written}"\n', "rules.toml")
    assert rules.verify.version_table == table


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ('env = "APP_DB={url}"', "expected a table, got a string"),
        ('env = { "APP DB" = "{url}" }', "'APP DB' is not an environment variable name"),
        ("env = { APP_DB = 5 }", "APP_DB: expected a string, got an integer"),
        ('env = { APP_DB = "{uri}" }', "APP_DB: unknown placeholder {uri}"),
        ('env = { APP_DB = "{url" }', "APP_DB: '{url' is no template"),
        ('alembic = "alembic \'open"', "is not a command line"),
        ('alembic = " "', "is empty"),
        ('version_table = "a.b.c"', "'a.b.c' is not a table name"),
        ('version_table = "core."', "'core.' is not a table name"),
        ('version_table = "my schema.v"', "'my schema.v' is not a table name"),
        ("version_table = 3", "expected a string, got an integer"),
    ],
)
def test_a_bad_setting_names_its_line_and_the_fix(line: str, problem: str) -> None:
    with pytest.raises(RulesError) as raised:
        load_rules(EXTENDS + "[verify]\n" + line + "\n", "rules.toml")
    message = str(raised.value)
    assert message.startswith("rules.toml:3: verify.")
    assert problem in message
