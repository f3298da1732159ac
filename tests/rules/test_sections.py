"""``[split] branch``: one validated branch name for split, open-pr and the staging document."""

from __future__ import annotations

import pytest

from stager.errors import StagerError
from stager.rules.sections import SplitRules, branch_name


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
