"""``[[phase]] hunks``: routes of hunks to a phase, read and checked (rules/hunk_rules.py)."""

from __future__ import annotations

from textwrap import dedent

import pytest

from stager.errors import RulesError
from stager.plan.hunks import Route, routes_of
from stager.rules.settings import Rules, default_rules, load_rules


def load(text: str) -> Rules:
    return load_rules(dedent(text).lstrip("\n"), "rules.toml")


def error_of(text: str) -> str:
    with pytest.raises(RulesError) as info:
        load(text)
    return str(info.value)


RULES = """
extends = "default"

[[phase]]
name = "application"
categories = ["backend"]
hunks = [
  { path = "backend/app/models/*.py", match = 'credits_offset_\\w+' },
  { path = "etl/", match = "historical_snapshot" },
]
"""


def test_a_phase_reads_its_hunks() -> None:
    rules = load(RULES)
    phase = next(phase for phase in rules.phases if phase.name == "application")
    assert [(rule.path.text, rule.match.pattern, rule.line) for rule in phase.hunks] == [
        ("backend/app/models/*.py", r"credits_offset_\w+", 7),
        ("etl/", "historical_snapshot", 8),
    ]
    first, second = phase.hunks
    assert first.takes("backend/app/models/summary.py", ("    credits_offset_a = Column(Integer)",))
    assert not first.takes("backend/app/models/summary.py", ("    total = Column(Integer)",))
    assert not first.takes("backend/app/services/x.py", ("credits_offset_a",))
    assert second.takes("etl/jobs/load.py", ("row.historical_snapshot = {}",))
    assert all(not phase.hunks for phase in default_rules().phases)


def test_the_planner_gets_them_as_routes_in_phase_order() -> None:
    rules = load(RULES)
    number = next(phase.number for phase in rules.phases if phase.name == "application")
    routes = routes_of(rules.phases)
    assert [(route.phase, route.path.text, route.match.pattern) for route in routes] == [
        (number, "backend/app/models/*.py", r"credits_offset_\w+"),
        (number, "etl/", "historical_snapshot"),
    ]
    assert all(isinstance(route, Route) for route in routes)


def _phase_with(hunks: str) -> str:
    return f'extends = "default"\n\n[[phase]]\nname = "mine"\nhunks = {hunks}\n'


@pytest.mark.parametrize(
    ("hunks", "message"),
    [
        pytest.param(
            '[{ path = "*.py", match = "credits_offset_(" }]',
            "rules.toml:5: phase.hunks[0].match: invalid regular expression 'credits_offset_(': "
            "missing ), unterminated subpattern at position 15 — write a Python regular "
            "expression (re module syntax); escape a literal '(', '[', '+' or '*' with a "
            "backslash, e.g. match = 'credits_offset_\\w+'",
            id="bad-regex",
        ),
        pytest.param(
            '[{ path = "*.py", match = "a" }, { path = "*.py", match = "*b" }]',
            "rules.toml:5: phase.hunks[1].match: invalid regular expression '*b': nothing to "
            "repeat at position 0",
            id="bad-regex-second-entry",
        ),
        pytest.param(
            '[{ path = "*.py", match = "a", phase = 2 }]',
            "rules.toml:5: phase.hunks[0].phase: unknown key in a phase's hunks — known keys: "
            "match, path",
            id="unknown-key",
        ),
        pytest.param(
            '[{ path = "*.py", mach = "a" }]',
            "rules.toml:5: phase.hunks[0].mach: unknown key in a phase's hunks — did you mean "
            "'match'?",
            id="misspelt-key",
        ),
        pytest.param(
            '[{ match = "a" }]',
            "rules.toml:5: phase.hunks[0].path: missing key 'path' — add path = ",
            id="missing-path",
        ),
        pytest.param(
            '[{ path = "*.py" }]',
            "rules.toml:5: phase.hunks[0].match: missing key 'match' — add match = ",
            id="missing-match",
        ),
        pytest.param(
            '[{ path = "*.py", match = 3 }]',
            "rules.toml:5: phase.hunks[0].match: expected a string, got an integer (3)",
            id="not-a-string",
        ),
        pytest.param(
            '[{ path = "[a", match = "x" }]',
            "rules.toml:5: phase.hunks[0].path: invalid pattern '[a': unclosed '['",
            id="bad-glob",
        ),
        pytest.param(
            '[{ path = "!*.py", match = "x" }]',
            "rules.toml:5: phase.hunks[0].path: '!*.py' is negated",
            id="negated-glob",
        ),
        pytest.param(
            '[{ path = "*.py", match = "" }]',
            "rules.toml:5: phase.hunks[0].match: is empty",
            id="empty-regex",
        ),
        pytest.param(
            '[{ path = "*.py", match = "a\\u001b[31m" }]',
            "rules.toml:5: phase.hunks[0].match: control character '\\x1b'",
            id="control-character",
        ),
        pytest.param("[]", "rules.toml:5: phase.hunks: empty array matches nothing", id="empty"),
        pytest.param(
            '"*.py"',
            "rules.toml:5: phase.hunks: expected an array of inline tables, got a string",
            id="not-an-array",
        ),
        pytest.param(
            '["*.py"]',
            "rules.toml:5: phase.hunks: expected an array of inline tables, got an array",
            id="array-of-strings",
        ),
    ],
)
def test_a_bad_entry_is_refused_at_its_line_with_the_fix(hunks: str, message: str) -> None:
    assert error_of(_phase_with(hunks)).startswith(message)


def test_the_line_is_the_entry_s_own_in_a_multiline_array() -> None:
    text = RULES.replace("historical_snapshot", "historical_snapshot[")
    assert error_of(text).startswith("rules.toml:8: phase.hunks[1].match: invalid regular")
