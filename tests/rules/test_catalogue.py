"""The registry of every rule id: stable ids, and docs/rules.md documents every rule."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from stager.rules.catalogue import DOCS, RULES
from stager.rules.settings import default_rules, load_rules
from stager.types import RepoPath

ROOT = Path(__file__).resolve().parents[2]
FAMILIES = ("SM", "SG", "SB", "SP")


def docs_text() -> str:
    return (ROOT / DOCS).read_text(encoding="utf-8")


def sections() -> dict[str, str]:
    """Rule id → its section of docs/rules.md (heading included)."""
    parts = re.split(r"^(?=## )", docs_text(), flags=re.MULTILINE)
    found: dict[str, str] = {}
    for part in parts:
        match = re.match(r"## ([A-Z]{2}\d{3}) — ", part)
        if match:
            found[match.group(1)] = part
    return found


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_ids_are_stable_and_consecutive() -> None:
    for family in FAMILIES:
        ids = [rule for rule in RULES if rule.startswith(family)]
        assert ids == [f"{family}{number:03d}" for number in range(1, len(ids) + 1)], family
    assert {rule[:2] for rule in RULES} == set(FAMILIES)
    for rule in RULES.values():
        assert rule.title and rule.hint and rule.hint == rule.hint_for(99)


@pytest.mark.parametrize("rule_id", list(RULES))
def test_every_rule_has_a_documentation_section(rule_id: str) -> None:
    rule = RULES[rule_id]
    section = sections().get(rule_id)
    assert section is not None, f"docs/rules.md has no '## {rule_id} — ...' section"
    heading = section.splitlines()[0]
    assert heading == f"## {rule_id} — {rule.title}"
    assert rule.anchor == f"{DOCS}#{github_slug(heading[3:])}"
    assert f"**Risk:** {rule.risk.label}" in section
    assert "**What:**" in section
    if rule_id.startswith("SM"):
        assert "**Why it is dangerous on PostgreSQL:**" in section
        assert "**Bad:**" in section and "**Good" in section
        assert section.count("```python") >= 2, "a bad and a good example"
    else:
        assert "**Why:**" in section and "**What to do:**" in section
    row = f"| [{rule_id}](#{rule.anchor.split('#')[1]}) | {rule.risk.label} | {rule.title} |"
    assert row in docs_text(), row


def test_no_section_for_an_unknown_rule() -> None:
    assert set(sections()) == set(RULES)


def test_edits_to_base_migrations_are_referenced_before_the_sections() -> None:
    assert "SG006" in docs_text().split("## SM001")[0]


@pytest.mark.parametrize("rule_id", list(RULES))
def test_rules_toml_configures_every_registered_rule(rule_id: str) -> None:
    rules = load_rules(
        f'extends = "default"\n[rules.{rule_id}]\nrisk = "low"\nignore = ["legacy/"]\n',
        "rules.toml",
        default=default_rules(),
    )
    setting = rules.rule_settings[rule_id]
    assert setting.line == 2 and setting.ignores("legacy/a.py")


@pytest.mark.parametrize("rule_id", [rule for rule in RULES if RULES[rule].fields])
def test_a_hint_with_fields_is_filled_in(rule_id: str) -> None:
    rule = RULES[rule_id]
    finding = rule.finding(
        RepoPath("a.py"), 3, "message", **{name: f"<{name}>" for name in rule.fields}
    )
    assert (finding.rule, finding.risk, finding.line) == (rule_id, rule.risk, 3)
    assert "{" not in finding.hint
    assert all(f"<{name}>" in finding.hint for name in rule.fields)
    with pytest.raises(AssertionError):
        rule.finding(RepoPath("a.py"), 3, "message")


# Every rule name squawk 2.70 accepts (`squawk --exclude NAME` refuses any other).
SQUAWK_RULES = frozenset(
    [
        "adding-field-with-default",
        "adding-foreign-key-constraint",
        "adding-not-nullable-field",
        "adding-required-field",
        "adding-serial-primary-key-field",
        "ban-add-column",
        "ban-add-composite-attribute",
        "ban-add-enum-value",
        "ban-alter-database-options",
        "ban-alter-domain-with-add-constraint",
        "ban-alter-extension",
        "ban-alter-function-options",
        "ban-alter-generated-expression",
        "ban-alter-identity",
        "ban-alter-policy-condition",
        "ban-alter-policy-roles",
        "ban-alter-role-options",
        "ban-alter-row-level-security",
        "ban-alter-sequence-values",
        "ban-alter-system-options",
        "ban-alter-view-options",
        "ban-char-field",
        "ban-concurrent-index-creation-in-transaction",
        "ban-create-domain-with-constraint",
        "ban-create-policy",
        "ban-detach-inheritance",
        "ban-disable-trigger",
        "ban-drop-column",
        "ban-drop-constraint",
        "ban-drop-database",
        "ban-drop-default",
        "ban-drop-domain",
        "ban-drop-extension",
        "ban-drop-function",
        "ban-drop-generated-expression",
        "ban-drop-index",
        "ban-drop-not-null",
        "ban-drop-policy",
        "ban-drop-schema",
        "ban-drop-sequence",
        "ban-drop-table",
        "ban-drop-trigger",
        "ban-drop-type",
        "ban-drop-view",
        "ban-duplicate-column-assignments",
        "ban-new-write-restriction",
        "ban-replace-view-function",
        "ban-replica-identity",
        "ban-revoke",
        "ban-set-default",
        "ban-set-schema",
        "ban-truncate-cascade",
        "ban-uncommitted-transaction",
        "changing-column-type",
        "constraint-missing-not-valid",
        "disallowed-unique-constraint",
        "identifier-too-long",
        "prefer-bigint-over-int",
        "prefer-bigint-over-smallint",
        "prefer-identity",
        "prefer-repack",
        "prefer-robust-stmts",
        "prefer-text-field",
        "prefer-timestamp-tz",
        "renaming-column",
        "renaming-object",
        "renaming-table",
        "require-concurrent-index-creation",
        "require-concurrent-index-deletion",
        "require-concurrent-partition-detach",
        "require-concurrent-reindex",
        "require-enum-value-ordering",
        "require-lock-timeout",
        "require-statement-timeout",
        "require-table-schema",
        "require-timeout-settings",
        "transaction-nesting",
    ]
)


def squawk_rows() -> list[tuple[str, str, str]]:
    """(squawk rule, stager cell, why) of the mapping table in docs/rules.md."""
    text = docs_text()
    start = text.index("## squawk's rules, and where stager stands")
    section = text[start : text.index("\n## ", start + 1)]
    rows = []
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("| `") and len(cells) == 3:
            rows.append((cells[0].strip("`"), cells[1], cells[2]))
    return rows


def test_squawk_table_lists_every_squawk_rule_once() -> None:
    named = [name for name, _, _ in squawk_rows()]
    assert len(named) == len(set(named)), sorted({n for n in named if named.count(n) > 1})
    assert set(named) == SQUAWK_RULES, set(named) ^ SQUAWK_RULES
    assert named == sorted(named), "keep the table in squawk's alphabetical order"


def test_squawk_table_names_only_existing_stager_rules() -> None:
    for name, stager, why in squawk_rows():
        ids = re.findall(r"\b[A-Z]{2}\d{3}\b", stager + " " + why)
        assert all(rule_id in RULES for rule_id in ids), (name, ids)
        if stager == "not covered":
            assert why, f"{name}: say why stager does not cover it"
        else:
            assert re.fullmatch(r"[A-Z]{2}\d{3}(, [A-Z]{2}\d{3})*", stager), (name, stager)


def test_every_rules_toml_example_in_rules_md_loads_as_given() -> None:
    blocks = re.findall(r"```toml\n(.*?)```", docs_text(), flags=re.DOTALL)
    assert blocks
    for block in blocks:
        load_rules(block, ".stager/rules.toml", default=default_rules())
