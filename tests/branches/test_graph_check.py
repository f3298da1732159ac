"""A branch whose own Alembic graph is broken: split refuses it, unless --rechain-broken.

Two heads, a cycle, a dangling down_revision: the plan's re-chaining would
quietly make each phase linear, and verify would pass. These run stager as a
user does (click's CliRunner) on real repositories.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from stager.analysis import analyze_branch
from stager.branches.split import split_branch
from stager.branches.split_types import SplitOptions
from stager.cli import cli
from stager.git.repository import Repository
from tests.branches.helpers import Checkout, migration
from tests.gitrepo import GitRepo
from tests.progress_lines import without_progress

V = "migrations/versions"

# The branch's revision files for each kind of broken graph (the merge base has base1).
BROKEN: dict[str, dict[str, str]] = {
    "cycle": {
        f"{V}/0002_a.py": migration("a", "c"),
        f"{V}/0003_b.py": migration("b", "a"),
        f"{V}/0004_c.py": migration("c", "b"),
    },
    "dangling": {f"{V}/0002_a.py": migration("a", "base1"), f"{V}/0003_b.py": migration("b", "zz")},
    "two heads": {
        f"{V}/0002_a.py": migration("a", "base1"),
        f"{V}/0003_b.py": migration("b", "base1"),
    },
}

# What the refusal names for each: the problem, and the exact re-chaining.
REFUSAL = {
    "cycle": (
        "SG002 migrations/versions/0002_a.py:13: revisions require each other in a cycle",
        "would re-chain migrations/versions/0002_a.py (rev a) from c → base1",
    ),
    "dangling": (
        "SG003 migrations/versions/0003_b.py:13: down_revision of b names 'zz'",
        "would re-chain migrations/versions/0003_b.py (rev b) from zz → base1, "
        "migrations/versions/0002_a.py (rev a) from base1 → b",
    ),
    "two heads": (
        "SG001 migrations/versions/0003_b.py:12: 2 Alembic heads",
        "would re-chain migrations/versions/0002_a.py (rev a) from base1 → b",
    ),
}


def broken_repo(path: Path, env: dict[str, str], files: dict[str, str]) -> GitRepo:
    """main with one revision; ``feature`` (checked out) adds ``files`` and an app module."""
    repo = GitRepo.init(path, env)
    repo.commit(
        "base",
        {
            "alembic.ini": "[alembic]\nscript_location = migrations\n",
            f"{V}/0001_base.py": migration("base1", None),
            "app/x.py": "x = 1\n",
        },
    )
    repo.git("checkout", "-q", "-b", "feature")
    repo.commit("Feature", {**files, "app/y.py": "y = 2\n"})
    return repo


def stager(repo: GitRepo, *args: str) -> Result:
    return CliRunner().invoke(cli, ["-C", str(repo.path), *args])


def state(repo: GitRepo) -> tuple[Checkout, str, str]:
    """The checkout, every ref and the object count: what a refused split must leave as is."""
    return Checkout.of(repo), repo.git("for-each-ref"), repo.git("count-objects", "-v")


@pytest.mark.parametrize("kind", sorted(BROKEN))
def test_split_refuses_a_broken_graph_naming_the_problem_and_the_rechaining(
    kind: str, tmp_path: Path, git_env: dict[str, str]
) -> None:
    repo = broken_repo(tmp_path / "r", git_env, BROKEN[kind])
    before = state(repo)
    dry = stager(repo, "split", "--all", "--dry-run")
    real = stager(repo, "split", "--all")
    assert dry.exit_code == real.exit_code == 1, real.output
    # the dry run shows the same refusal
    assert without_progress(dry.stderr) == without_progress(real.stderr)
    problem, rechaining = REFUSAL[kind]
    assert without_progress(real.stderr).startswith(
        "stager: error: the branch's own Alembic graph is broken, and the split would repair "
        "it by re-chaining; nothing was written: "
    )
    assert problem in real.stderr and rechaining in real.stderr
    assert "run split again with --rechain-broken" in real.stderr
    assert state(repo) == before


def test_rechain_broken_splits_and_every_report_says_what_was_rewritten_and_why(
    tmp_path: Path, git_env: dict[str, str]
) -> None:
    repo = broken_repo(tmp_path / "r", git_env, BROKEN["cycle"])
    dry = stager(repo, "split", "--all", "--dry-run", "--rechain-broken", "--format", "json")
    assert dry.exit_code == 0, dry.output
    result = stager(repo, "split", "--all", "--rechain-broken", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    why = (
        "phase 1: a (migrations/versions/0002_a.py) re-chained to repair the branch's own "
        "broken Alembic graph (--rechain-broken): SG002 migrations/versions/0002_a.py:13: "
        "revisions require each other in a cycle"
    )
    assert any(note.startswith(why) for note in data["notes"]), data["notes"]
    assert data["phases"][0]["rewrites"] == [
        {
            "path": "migrations/versions/0002_a.py",
            "revision": "a",
            "original_down_revision": ["c"],
            "down_revision": ["base1"],
            "reason": "broken",
        }
    ]
    record = json.loads(repo.git("show", "refs/stager/record/feature:record.json"))
    assert [rw["reason"] for rw in record["phases"][0]["rewrites"]] == ["broken"]
    table = stager(repo, "split", "--all", "--dry-run", "--rechain-broken", "--strategy", "patch")
    assert why in table.stdout

    verified = stager(repo, "verify")
    assert verified.exit_code == 0, verified.output
    repo.git("remote", "add", "origin", "https://github.com/o/r.git")
    body = stager(repo, "open-pr", "--all", "--dry-run")
    assert body.exit_code == 0, body.output
    assert "| 1 | `a` | additive | change — re-chained onto `base1` (was `c`) |" in body.stdout
    assert "| SG002 | `migrations/versions/0002_a.py:13` | revisions require each other" in (
        body.stdout
    )


def test_a_duplicate_revision_id_is_refused_even_with_rechain_broken(
    tmp_path: Path, git_env: dict[str, str]
) -> None:
    files = {f"{V}/0002_a.py": migration("a", "base1"), f"{V}/0003_b.py": migration("a", "base1")}
    repo = broken_repo(tmp_path / "r", git_env, files)
    before = state(repo)
    for flags in ((), ("--rechain-broken",), ("--rechain-broken", "--dry-run")):
        result = stager(repo, "split", "--all", *flags)
        assert result.exit_code == 1, result.output
        assert (
            "broken in a way re-chaining cannot repair; nothing was written: SG004 "
            "migrations/versions/0003_b.py:12: revision 'a' is defined by 2 files" in result.stderr
        )
        assert "give one file a new revision id" in result.stderr
    assert state(repo) == before


def _depending(revision: str, parent: str, target: str) -> str:
    return migration(revision, parent).replace(
        "depends_on: Union[str, Sequence[str], None] = None",
        f'depends_on: Union[str, Sequence[str], None] = "{target}"',
    )


@pytest.mark.parametrize(
    ("files", "why"),
    [
        (
            {f"{V}/0002_a.py": _depending("a", "base1", "gone")},
            "(re-chaining keeps depends_on as written)",
        ),
        (
            {
                f"{V}/0002_a.py": _depending("a", "base1", "b"),
                f"{V}/0003_b.py": migration("b", "a"),
            },
            "(a depends_on closes the cycle, and re-chaining keeps depends_on as written)",
        ),
    ],
    ids=["dangling", "cycle"],
)
def test_a_broken_depends_on_is_refused_even_with_rechain_broken(
    files: dict[str, str], why: str, tmp_path: Path, git_env: dict[str, str]
) -> None:
    repo = broken_repo(tmp_path / "r", git_env, files)
    result = stager(repo, "split", "--all", "--rechain-broken")
    assert result.exit_code == 1, result.output
    assert why in result.stderr


def test_a_graph_already_broken_on_the_merge_base_is_not_the_branchs_doing(
    tmp_path: Path, git_env: dict[str, str]
) -> None:
    repo = GitRepo.init(tmp_path / "r", git_env)
    repo.commit(
        "base with two heads",
        {
            "alembic.ini": "[alembic]\nscript_location = migrations\n",
            f"{V}/0001_base.py": migration("base1", None),
            f"{V}/0002_other.py": migration("other", None),
        },
    )
    repo.git("checkout", "-q", "-b", "feature")
    repo.commit("Feature", {f"{V}/0003_a.py": migration("a", "base1"), "app/y.py": "y = 2\n"})
    result = stager(repo, "split", "--all")
    assert result.exit_code == 0, result.output


def test_verify_fails_a_split_that_repaired_the_graph_without_being_told(
    tmp_path: Path, git_env: dict[str, str]
) -> None:
    # What split did before --rechain-broken existed: the plan's re-chaining, recorded as such.
    repo = broken_repo(tmp_path / "r", git_env, BROKEN["cycle"])
    git = Repository(repo.path)
    analysis = analyze_branch(git, None, None, None)
    split_branch(git, analysis, SplitOptions(), analysis.plan.phases)
    result = stager(repo, "verify", "--format", "json")
    assert result.exit_code == 4, result.output
    phase = json.loads(result.stdout)["phases"][0]
    alembic = next(check for check in phase["checks"] if check["name"] == "alembic")
    assert not alembic["ok"]
    assert alembic["details"][0].startswith(
        "migrations/versions/0002_a.py (rev a) from c → base1 repairs the branch's own broken "
        "Alembic graph (SG002 migrations/versions/0002_a.py:13: revisions require each other"
    )
    assert "split again with --rechain-broken --force" in alembic["details"][0]

    again = stager(repo, "split", "--all", "--rechain-broken", "--force")
    assert again.exit_code == 0, again.output
    assert stager(repo, "verify").exit_code == 0


@pytest.mark.parametrize(
    ("kind", "problem"),
    [
        ("cycle", "revisions require each other in a cycle: a → b → c"),
        ("dangling", "b (migrations/versions/0003_b.py): down_revision zz is not in this phase"),
        ("two heads", "2 Alembic heads (a, b) where the base has 1 (base1)"),
        ("duplicate", "revision a is defined by 2 files"),
    ],
)
def test_verify_fails_a_phase_built_by_hand_with_a_broken_graph(
    kind: str, problem: str, tmp_path: Path, git_env: dict[str, str]
) -> None:
    files = BROKEN.get(kind) or {
        f"{V}/0002_a.py": migration("a", "base1"),
        f"{V}/0003_b.py": migration("a", "base1"),
    }
    repo = broken_repo(tmp_path / "r", git_env, files)
    # The phases as someone builds them by hand: the revision files as the branch has them.
    repo.git("checkout", "-q", "-b", "stage/1-foundation", "main")
    repo.commit("Migrations", files)
    repo.git("checkout", "-q", "-b", "stage/3-application")
    repo.commit("Application", {"app/y.py": "y = 2\n"})
    repo.git("checkout", "-q", "feature")
    result = stager(repo, "verify", "--format", "json")
    assert result.exit_code == 4, result.output
    phase = json.loads(result.stdout)["phases"][0]
    alembic = next(check for check in phase["checks"] if check["name"] == "alembic")
    assert not alembic["ok"]
    assert any(problem in detail for detail in alembic["details"]), alembic["details"]
