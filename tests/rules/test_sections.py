"""``[split] branch``: one validated branch name for split, open-pr and the staging document.

``[verify] python``: the interpreter of verify's compile check.
"""

from __future__ import annotations

import pytest

from stager.errors import RulesError, StagerError
from stager.rules.sections import SplitRules, branch_name
from stager.rules.settings import load_rules

EXTENDS = 'extends = "default"\n'


def test_branch_names() -> None:
    assert branch_name("stage/{number}-{name}", 2, "data") == "stage/2-data"
    custom = SplitRules("custom/{number}-{name}")
    assert custom.branch_name(1, "foundation") == "custom/1-foundation"
    for bad in ("stage {number}", "stage/{number}.lock", "x..{number}", "x/{name}/", "-{name}"):
        with pytest.raises(StagerError, match="not a valid git branch"):
            branch_name(bad, 1, "a")


def test_a_phase_name_git_refuses_is_refused_where_every_command_builds_the_name() -> None:
    # the template is checked with a sample name when the rules load; the real name here
    with pytest.raises(StagerError, match=r"'stage/1-two words'.*not a valid git branch"):
        SplitRules().branch_name(1, "two words")


def test_verify_python_defaults_to_python3_and_takes_a_command_line() -> None:
    assert load_rules(EXTENDS, "rules.toml").verify.python == "python3"
    written = load_rules(EXTENDS + '[verify]\npython = "uv run python"\n', "rules.toml")
    assert written.verify.python == "uv run python"


@pytest.mark.parametrize(
    ("value", "problem", "fix"),
    [
        ('"  "', "is empty", 'e.g. python = "python3.14"'),
        ('"python \'3"', '"python \'3" is not a command line', 'e.g. python = "python3.14"'),
        ("3", "expected a string", 'write python = "..."'),
    ],
)
def test_verify_python_must_name_a_command(value: str, problem: str, fix: str) -> None:
    with pytest.raises(RulesError) as info:
        load_rules(EXTENDS + f"[verify]\npython = {value}\n", "rules.toml")
    message = str(info.value)
    assert message.startswith(f"rules.toml:3: verify.python: {problem}"), message
    assert fix in message
