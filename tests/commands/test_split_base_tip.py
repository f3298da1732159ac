"""`stager split` builds onto the base's tip when the base moved since the merge base."""

from __future__ import annotations

import json

from click.testing import CliRunner, Result

from stager.cli import cli
from stager.demo import DemoRepository
from tests.branches.helpers import VERSIONS, Checkout, feature_repo, migration, module
from tests.gitrepo import GitRepo


def stager(path: object, *args: str) -> Result:
    return CliRunner().invoke(cli, ["-C", str(path), *args])


def test_the_default_split_builds_onto_the_moved_base_and_says_so(
    demo: DemoRepository, git_env: dict[str, str]
) -> None:
    # main gained a migration after the merge base: a phase 1 built from the merge base
    # would give main two Alembic heads once merged.
    result = stager(demo.path, "split", "--all", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["start"] == demo.base and data["onto"] == demo.base_branch
    assert data["phases"][0]["parent"] == demo.base
    onto = [r for p in data["phases"] for r in p["rewrites"] if r["reason"] == "onto"]
    assert [r["down_revision"] for r in onto] == [["0c2e4a6c8e0f"]]
    built = next(note for note in data["notes"] if note.startswith("built onto"))
    assert f"{demo.base_branch}'s tip {demo.base[:12]}" in built
    assert "--from-merge-base" in built
    assert any("re-chained onto main's Alembic head 0c2e4a6c8e0f" in n for n in data["notes"])
    table = stager(demo.path, "split", "--all", "--dry-run")
    assert "built onto main's tip" in table.stdout
    verified = stager(demo.path, "verify")
    assert verified.exit_code == 0, verified.output


def test_from_merge_base_keeps_the_old_build_with_the_two_heads_warning(
    demo: DemoRepository, git_env: dict[str, str]
) -> None:
    result = stager(demo.path, "split", "--all", "--from-merge-base", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["start"] == demo.merge_base and data["onto"] is None
    assert not [r for p in data["phases"] for r in p["rewrites"] if r["reason"] == "onto"]
    warning = next(note for note in data["notes"] if "two Alembic heads" in note)
    assert "SG008" in warning and "0c2e4a6c8e0f" in warning
    assert "without --from-merge-base" in warning


def test_onto_and_from_merge_base_exclude_each_other(demo: DemoRepository) -> None:
    result = stager(demo.path, "split", "--all", "--onto", "main", "--from-merge-base")
    assert result.exit_code == 2
    assert "--from-merge-base" in result.output


def test_a_base_that_did_not_move_builds_exactly_as_before(
    repo: GitRepo, git_env: dict[str, str]
) -> None:
    feature_repo(repo)
    default = stager(repo.path, "split", "--all", "--base", "main", "--dry-run", "--format", "json")
    old = stager(
        repo.path,
        *("split", "--all", "--base", "main", "--dry-run", "--format", "json"),
        "--from-merge-base",
    )
    assert default.exit_code == 0, default.output
    assert default.stdout == old.stdout
    data = json.loads(default.stdout)
    assert data["start"] == data["merge_base"] and data["onto"] is None
    assert not any("built onto" in note or "two Alembic heads" in note for note in data["notes"])


def test_a_conflict_with_the_moved_base_lists_the_files_and_writes_nothing(
    repo: GitRepo, git_env: dict[str, str]
) -> None:
    feature_repo(repo)
    repo.checkout("main")
    fix = repo.commit(
        "conflicting fix",
        {"app/a.py": module("a", 7), f"{VERSIONS}/0003_main.py": migration("m3", "base2")},
    )
    repo.checkout("feature")
    before = Checkout.of(repo)
    refs = repo.git("for-each-ref")
    objects = repo.git("count-objects", "-v")
    result = stager(repo.path, "split", "--all", "--base", "main")
    assert result.exit_code == 1, result.output
    assert "app/a.py" in result.stderr and f"changed on main by {fix[:10]}" in result.stderr
    assert "nothing was written" in result.stderr and "--from-merge-base" in result.stderr
    assert repo.git("for-each-ref") == refs
    assert repo.git("count-objects", "-v") == objects
    assert Checkout.of(repo) == before
    # The old build is still there for who wants it, with its warning.
    old = stager(repo.path, "split", "--all", "--base", "main", "--from-merge-base")
    assert old.exit_code == 0, old.output
    assert "two Alembic heads" in old.stdout
