"""rules.toml: [postgres] version and [rules.ID] tables, validated; applied to findings."""

from __future__ import annotations

from textwrap import dedent

import pytest

from stager.errors import RulesError
from stager.findings import Finding
from stager.rules.catalogue import DEFAULT_POSTGRES_VERSION
from stager.rules.settings import Rules, apply_settings, default_rules, load_rules
from stager.types import RepoPath, Risk

MINIMAL = """
[[category]]
name = "models"
paths = ["**/models.py"]
risk = "low"
"""


def load(text: str) -> Rules:
    return load_rules(dedent(text).lstrip("\n"), "rules.toml")


def error_of(text: str) -> str:
    with pytest.raises(RulesError) as info:
        load(text)
    return str(info.value)


def finding(rule: str, path: str = "migrations/versions/a.py", risk: Risk = Risk.HIGH) -> Finding:
    return Finding(RepoPath(path), 3, rule, risk, "message", "hint")


def test_defaults() -> None:
    rules = load(MINIMAL)
    assert rules.postgres_version == DEFAULT_POSTGRES_VERSION == 12  # the issue: 12 when absent
    assert rules.rule_settings == {}
    assert default_rules().rule_settings == {}


def test_postgres_version_and_rule_tables() -> None:
    rules = load(
        MINIMAL
        + """
        [postgres]
        version = 11

        [rules.SM025]
        enabled = false

        [rules.SM010]
        risk = "medium"

        [rules.SM002]
        ignore = ["**/versions/*_contract_*.py", "legacy/"]

        [rules.SB001]
        risk = "critical"
        """
    )
    assert rules.postgres_version == 11
    assert set(rules.rule_settings) == {"SM025", "SM010", "SM002", "SB001"}
    assert not rules.rule_settings["SM025"].enabled
    assert rules.rule_settings["SM010"].risk is Risk.MEDIUM
    assert rules.rule_settings["SM010"].enabled
    assert rules.rule_settings["SM010"].line == 12
    contract = rules.rule_settings["SM002"]
    assert contract.ignores("backend/versions/2024_contract_drop.py")
    assert contract.ignores("legacy/versions/a.py")
    assert not contract.ignores("backend/versions/2024_add.py")


def test_apply_settings() -> None:
    rules = load(
        MINIMAL
        + """
        [rules.SM025]
        enabled = false
        [rules.SM010]
        risk = "low"
        [rules.SM002]
        ignore = ["*_contract_*.py"]
        [rules.SG006]
        risk = "critical"
        """
    )
    kept = apply_settings(
        [
            finding("SM025"),
            finding("SM010"),
            finding("SM002", "v/1_contract_x.py"),
            finding("SM002", "v/2_other.py"),
            finding("SG006"),
            finding("SM001"),
        ],
        rules,
    )
    assert [(f.rule, f.path, f.risk) for f in kept] == [
        ("SM010", "migrations/versions/a.py", Risk.LOW),
        ("SM002", "v/2_other.py", Risk.HIGH),
        ("SG006", "migrations/versions/a.py", Risk.CRITICAL),
        ("SM001", "migrations/versions/a.py", Risk.HIGH),
    ]


def test_extends_keeps_the_inherited_settings_and_project_wins() -> None:
    base = load(MINIMAL + "[postgres]\nversion = 12\n[rules.SM010]\nrisk = 'low'\n")
    project = load_rules(
        'extends = "default"\n[rules.SM011]\nenabled = false\n', "p.toml", default=base
    )
    assert project.postgres_version == 12
    assert set(project.rule_settings) == {"SM010", "SM011"}
    override = load_rules(
        'extends = "default"\n[postgres]\nversion = 16\n[rules.SM010]\nrisk = "high"\n',
        "p.toml",
        default=base,
    )
    assert override.postgres_version == 16
    assert override.rule_settings["SM010"].risk is Risk.HIGH


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "[rules.SM999]\nrisk = 'low'\n",
            "rules.toml:6: rules.SM999: unknown rule id 'SM999' — did you mean",
        ),
        ("[rules.sm001]\nenabled = false\n", "unknown rule id 'sm001'"),
        (
            "[rules.SM001]\nrisk = 'severe'\n",
            "rules.toml:7: rules.SM001.risk: unknown risk 'severe'",
        ),
        (
            "[rules.SM001]\nenable = false\n",
            "rules.toml:7: rules.SM001.enable: unknown key in [rules.SM001] — did you mean "
            "'enabled'?",
        ),
        ("[rules.SM001]\nenabled = 'no'\n", "rules.SM001.enabled: expected true or false"),
        ("[rules.SM001]\nignore = 'a.py'\n", "rules.SM001.ignore: expected an array of strings"),
        ("[rules.SM001]\nignore = ['a[']\n", "rules.SM001.ignore: invalid pattern 'a['"),
        ("[rules]\nSM001 = 'off'\n", "rules.SM001: expected a table, got a string"),
        ("[postgres]\nversion = '14'\n", "rules.toml:7: postgres.version: expected a PostgreSQL"),
        ("[postgres]\nversion = 14.5\n", "postgres.version: expected a PostgreSQL major version"),
        ("[postgres]\nversion = 140\n", "postgres.version: expected a PostgreSQL major version"),
        ("[postgres]\nversion = 99\n", "expected a PostgreSQL major version (9.6 to 19)"),
        ("[postgres]\nversion = 8\n", "postgres.version: expected a PostgreSQL major version"),
        ("[postgres]\nrelease = 14\n", "postgres.release: unknown key in [postgres]"),
    ],
)
def test_validation_errors(text: str, expected: str) -> None:
    assert expected in error_of(MINIMAL + "\n" + text)


def test_postgres_9_6_is_a_major_version() -> None:
    assert load(MINIMAL + "\n[postgres]\nversion = 9.6\n").postgres_version == 9
    assert load(MINIMAL + "\n[postgres]\nversion = 19\n").postgres_version == 19
