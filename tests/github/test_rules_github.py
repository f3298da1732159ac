"""The ``[github]`` table of rules.toml."""

from __future__ import annotations

import pytest

from stager.errors import RulesError
from stager.rules.sections import GitHubRules
from stager.rules.settings import default_rules, load_rules

FULL = """\
extends = "default"

[github]
repo = "acme/fuel"
api_url = "https://ghe.corp.example/api/v3"

[github.reviewers]
migration-data = ["dba-alice", "bob"]
models = ["bob", "carol"]

[github.team_reviewers]
migration-data = ["dbas"]
"""


def test_github_table() -> None:
    github = load_rules(FULL, "rules.toml").github
    assert (github.repo, github.api_url) == ("acme/fuel", "https://ghe.corp.example/api/v3")
    # in rules.toml order, each login once
    assert github.reviewers_for(["models", "migration-data"]) == ("dba-alice", "bob", "carol")
    assert github.team_reviewers_for(["migration-data"]) == ("dbas",)
    assert github.reviewers_for(["frontend"]) == ()


def test_default_rules_have_no_github_settings() -> None:
    assert default_rules().github == GitHubRules()
    assert load_rules('extends = "default"\n', "rules.toml").github == GitHubRules()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[github]\nrepo = "acme"\n', r"rules.toml:4: github.repo: invalid repository 'acme'"),
        ('[github]\napi_url = "ghe/api"\n', r"rules.toml:4: github.api_url: invalid URL"),
        (
            '[github]\nrepos = "a/b"\n',
            r"github.repos: unknown key in \[github\] — did you mean 'repo'",
        ),
        (
            '[github.reviewers]\nmigration-dat = ["a"]\n',
            r"rules.toml:4: github.reviewers.migration-dat: unknown category .* did you mean "
            r"'migration-data'",
        ),
        ('[github.reviewers]\nmodels = "bob"\n', r"expected an array of strings"),
        ('[github.reviewers]\nmodels = ["bob smith"]\n', r"invalid name 'bob smith'"),
        (
            '[github.team_reviewers]\nmodels = ["acme/dbas"]\n',
            r"write the team's slug without the organisation",
        ),
    ],
)
def test_github_errors_say_where_and_how_to_fix(text: str, message: str) -> None:
    with pytest.raises(RulesError, match=message):
        load_rules('extends = "default"\n\n' + text, "rules.toml")
