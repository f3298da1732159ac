"""The catalogue: stable ids, and docs/rules.md documents every rule."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from stager.migrations.compare import RISKS
from stager.rules.catalogue import OTHER_RULES, RULES
from stager.types import Risk

DOCS = Path(__file__).resolve().parents[3] / "docs" / "rules.md"


def sections() -> dict[str, str]:
    """Rule id → its section of docs/rules.md (heading included)."""
    text = DOCS.read_text(encoding="utf-8")
    parts = re.split(r"^(?=## )", text, flags=re.MULTILINE)
    found: dict[str, str] = {}
    for part in parts:
        match = re.match(r"## (SM\d{3}) — ", part)
        if match:
            found[match.group(1)] = part
    return found


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_ids_are_stable_and_consecutive() -> None:
    assert list(RULES) == [f"SM{number:03d}" for number in range(1, len(RULES) + 1)]
    for rule in RULES.values():
        assert rule.title and rule.hint and rule.hint == rule.hint_for(99)


@pytest.mark.parametrize("rule_id", list(RULES))
def test_every_rule_has_a_documentation_section(rule_id: str) -> None:
    rule = RULES[rule_id]
    section = sections().get(rule_id)
    assert section is not None, f"docs/rules.md has no '## {rule_id} — ...' section"
    heading = section.splitlines()[0]
    assert heading == f"## {rule_id} — {rule.title}"
    assert f"**Risk:** {rule.risk.label}" in section
    assert "**What:**" in section
    assert "**Why it is dangerous on PostgreSQL:**" in section
    assert "**Bad:**" in section and "**Good" in section
    assert section.count("```python") >= 2, "a bad and a good example"
    row = f"| [{rule_id}](#{github_slug(heading[3:])}) | {rule.risk.label} | {rule.title} |"
    assert row in DOCS.read_text(encoding="utf-8"), row


def test_no_section_for_an_unknown_rule() -> None:
    assert set(sections()) == set(RULES)


def test_branch_rules_are_referenced_with_their_risks() -> None:
    text = DOCS.read_text(encoding="utf-8")
    risks = {**RISKS, "SB001": Risk.HIGH}
    assert set(OTHER_RULES) == set(risks)
    for rule_id, title in OTHER_RULES.items():
        assert f"| {rule_id} | {risks[rule_id].label} | {title} |" in text
    assert "SG006" in text.split("## SM001")[0]  # edits to base migrations: referenced, not copied
