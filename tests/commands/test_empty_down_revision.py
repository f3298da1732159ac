"""``down_revision = ""``: Alembic 1.12 read it as a root, newer Alembic stops on it.

Netflix/dispatch kept one on its first revision for years and fixed it to None
when it moved to Alembic 1.14. A branch with that fix must split: read as a
parent named "", the fix looked like a re-parented revision, and split refused
the whole stack ("down_revision None in the previous phase, None here").
"""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from stager.cli import cli
from stager.git.refs import list_refs
from stager.git.repository import Repository
from stager.migrations.parse import parse_migration
from stager.types import RepoPath, Sha
from tests.gitrepo import GitRepo
from tests.plan.helpers import RULES, make_branch, revision_file, version_path

ROOT, CHILD, NEW = "r00000000001", "c00000000002", "n00000000003"


def empty_parent(revision: str) -> str:
    return revision_file(revision, None).replace("down_revision = None", 'down_revision = ""')


def test_an_empty_down_revision_names_no_parent_and_says_to_write_none() -> None:
    text = empty_parent(ROOT).encode()
    parsed = parse_migration(RepoPath(version_path(ROOT)), Sha("0" * 40), text)
    assert parsed.down_revisions == ()
    (problem,) = parsed.problems
    assert "down_revision ''" in problem.message and "write None" in problem.message


def test_a_branch_that_fixes_it_to_none_splits(repo: GitRepo, tmp_path: Path) -> None:
    make_branch(
        repo,
        {version_path(ROOT): empty_parent(ROOT), version_path(CHILD): revision_file(CHILD, ROOT)},
        {
            version_path(ROOT): revision_file(ROOT, None),  # the fix
            version_path(NEW): revision_file(NEW, CHILD, 'op.create_table("penalty")'),
        },
    )
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES, encoding="utf-8")
    before = list_refs(Repository(repo.path), "refs/heads/")
    result = CliRunner().invoke(
        cli, ["-C", str(repo.path), "split", "--all", "--rules", str(rules), "--base", "main"]
    )
    assert result.exit_code == 0, result.output
    assert "skip revisions" not in result.output
    after = list_refs(Repository(repo.path), "refs/heads/")
    assert set(after) - set(before), "the phase branches were written"
