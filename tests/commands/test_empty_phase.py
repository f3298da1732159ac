"""A phase whose content the base already has, with no record saying it was merged (someone
cherry-picked it to main): split says the phase is empty, open-pr skips it with a note instead
of GitHub's 422 "No commits between"."""

from __future__ import annotations

import json

from click.testing import CliRunner, Result

from stager.cli import cli
from tests.branches.helpers import migration
from tests.commands.sync_stack import ADD, MODEL, PHASE_1, PHASE_3, REPO, SERVICE
from tests.github.fake_github import FakeGitHub
from tests.github.fixtures import Remote, github, remote
from tests.gitrepo import GitRepo

__all__ = ["github", "remote"]  # fixtures


def _stager(repo: GitRepo, *args: str) -> Result:
    return CliRunner().invoke(cli, ["-C", str(repo.path), *args])


def test_a_phase_already_on_the_base_is_said_empty_and_open_pr_skips_it(
    repo: GitRepo, remote: Remote, github: FakeGitHub
) -> None:
    repo.commit(
        "base",
        {
            "alembic.ini": "[alembic]\nscript_location = migrations\n",
            "migrations/versions/0001_base.py": migration("base1", None, "base"),
            MODEL: "class Thing:\n    pass\n",
        },
    )
    phase_1 = {ADD: migration("add2", "base1", "add"), MODEL: "class Thing:\n    add2 = 1\n"}
    repo.git("checkout", "-q", "-b", "feature")
    repo.commit("feature", {**phase_1, SERVICE: "def f():\n    return 1\n"})
    repo.git("checkout", "-q", "main")
    repo.commit("the foundation, cherry-picked to main", phase_1)
    repo.git("checkout", "-q", "feature")
    repo.git("remote", "add", "origin", str(remote.path))
    repo.git("push", "-q", "origin", "main", "feature")

    split = _stager(repo, "split", "--base", "main", "--all")
    assert split.exit_code == 0, split.output
    said = " ".join(split.output.split())
    assert f"phase 1: empty: its files already are on main ({MODEL}, {ADD})" in said
    assert repo.git("rev-parse", PHASE_1) == repo.git("rev-parse", "main")  # no empty commit

    dry = _stager(repo, "open-pr", "--base", "main", "--all", "--dry-run", "--github-repo", REPO)
    assert dry.exit_code == 0, dry.output
    assert f"note: phase 1 ({PHASE_1}) is empty" in dry.output and f"→ {PHASE_1}" not in dry.output

    opened = _stager(
        repo, "open-pr", "--base", "main", "--all", "--github-repo", REPO, "--format", "json"
    )
    assert opened.exit_code == 0, opened.output
    report = json.loads(opened.stdout)
    assert [pull.head for pull in github.pulls.values()] == [PHASE_3]
    (pull,) = github.pulls.values()
    assert pull.base == "main"
    assert any(
        f"phase 1 ({PHASE_1}) is empty: its files already are on main" in note
        for note in report["notes"]
    ), report
    assert remote.branch(PHASE_1) is None  # never pushed

    one = _stager(repo, "open-pr", "--base", "main", "--phase", "1", "--github-repo", REPO)
    assert one.exit_code == 1
    assert f"phase 1 ({PHASE_1}) is empty: its files already are on main" in " ".join(
        one.output.split()
    )
