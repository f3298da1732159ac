"""rules.toml phase keys the planner reads: paths, migrations, maintenance_window, unassigned."""

from __future__ import annotations

import pytest

from stager.errors import RulesError
from stager.rules.settings import default_rules, load_rules

MINIMAL = '[[category]]\nname = "code"\npaths = ["*"]\nrisk = "low"\n'


def test_phase_keys_are_read() -> None:
    rules = load_rules(
        MINIMAL
        + '\n[[phase]]\nname = "one"\npaths = ["app/"]\nmigrations = ["abc123"]\n'
        + "maintenance_window = true\n"
        + '\n[[phase]]\nname = "two"\ncategories = ["code"]\n',
        "rules.toml",
    )
    one, two = rules.phases
    assert one.migrations == ("abc123",)
    assert one.match_path("app/x.py") is not None and one.match_path("lib/x.py") is None
    assert (one.maintenance_window, two.maintenance_window) == (True, None)
    assert two.match_path("app/x.py") is None  # no paths: never by path
    assert (rules.unassigned, rules.rechain) == ("last", True)
    assert rules.unassigned_phase() == two


def test_unassigned_and_rechain_settings() -> None:
    text = '[stager]\nunassigned = "one"\nrechain = false\n' + MINIMAL
    rules = load_rules(text + '\n[[phase]]\nname = "one"\n\n[[phase]]\nname = "two"\n', "r.toml")
    assert rules.unassigned_phase() is not None and rules.unassigned_phase().name == "one"  # type: ignore[union-attr]
    assert rules.rechain is False
    errors = load_rules(
        '[stager]\nunassigned = "error"\n' + MINIMAL + '\n[[phase]]\nname = "one"\n', "r.toml"
    )
    assert errors.unassigned_phase() is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            '[stager]\nunassigned = "lst"\n' + MINIMAL + '\n[[phase]]\nname = "one"\n',
            "r.toml:2: stager.unassigned: unknown value 'lst': no phase has that name — "
            "did you mean 'last'?",
            id="unknown-unassigned",
        ),
        pytest.param(
            MINIMAL + '\n[[phase]]\nname = "one"\nmigrations = ["a1"]\n'
            '\n[[phase]]\nname = "two"\nmigrations = ["a1"]\n',
            "r.toml:12: phase.migrations: revision 'a1' is already in phase 'one'",
            id="revision-in-two-phases",
        ),
        pytest.param(
            MINIMAL + '\n[[phase]]\nname = "one"\nmaintenance_window = "yes"\n',
            "r.toml:8: phase.maintenance_window: expected true or false",
            id="window-not-boolean",
        ),
        pytest.param(
            MINIMAL + '\n[[phase]]\nname = "one"\npaths = ["a//b"]\n',
            "r.toml:8: phase.paths: invalid pattern 'a//b'",
            id="bad-pattern",
        ),
    ],
)
def test_phase_key_errors(text: str, expected: str) -> None:
    with pytest.raises(RulesError) as caught:
        load_rules(text, "r.toml")
    assert str(caught.value).startswith(expected), str(caught.value)


def test_extends_inherits_the_defaults_settings() -> None:
    rules = load_rules('extends = "default"\n[stager]\nunassigned = "application"\n', "r.toml")
    assert rules.unassigned_phase() == default_rules().phase(3)
    assert [phase.name for phase in default_rules().phases] == [
        "foundation",
        "data",
        "application",
        "etl-and-contract",
    ]
