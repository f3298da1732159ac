"""stager.git.refs: one transaction, exact names, checked-out branches."""

from __future__ import annotations

from pathlib import Path

import pytest

from stager.errors import StagerError
from stager.git.refs import (
    RefUpdate,
    checked_out_branches,
    read_refs,
    update_refs,
    worktree_add,
    worktree_remove,
)
from stager.git.repository import Repository
from stager.types import Sha
from tests.gitrepo import GitRepo


def test_update_refs_is_all_or_nothing(repo: GitRepo) -> None:
    first = Sha(repo.commit("one", {"a": "1\n"}))
    second = Sha(repo.commit("two", {"a": "2\n"}))
    found = Repository(repo.path)
    update_refs(
        found, [RefUpdate("refs/heads/x", first, None), RefUpdate("refs/heads/y", first, None)]
    )
    assert read_refs(found, ["refs/heads/x", "refs/heads/y", "refs/heads/z"]) == {
        "refs/heads/x": first,
        "refs/heads/y": first,
    }
    with pytest.raises(StagerError, match="no branch was changed"):
        update_refs(
            found,
            [
                RefUpdate("refs/heads/x", second, first),
                RefUpdate("refs/heads/y", second, second),  # wrong old value
            ],
        )
    assert repo.git("rev-parse", "x") == first
    update_refs(found, [RefUpdate("refs/heads/x", None, first)])
    assert read_refs(found, ["refs/heads/x"]) == {}


def test_read_refs_matches_whole_names_only(repo: GitRepo) -> None:
    sha = Sha(repo.commit("one", {"a": "1\n"}))
    repo.git("branch", "stage/1-x/sub")
    assert read_refs(Repository(repo.path), ["refs/heads/stage/1-x"]) == {}
    assert read_refs(Repository(repo.path), ["refs/heads/stage/1-x/sub"]) == {
        "refs/heads/stage/1-x/sub": sha
    }


def test_checked_out_branches_of_every_worktree(repo: GitRepo, tmp_path: Path) -> None:
    repo.commit("one", {"a": "1\n"})
    repo.git("worktree", "add", "-q", "-b", "other", str(tmp_path / "wt"))
    busy = checked_out_branches(Repository(repo.path))
    assert busy["refs/heads/main"] == repo.path
    assert busy["refs/heads/other"] == tmp_path / "wt"


def test_a_locked_ref_error_keeps_gits_reason(repo: GitRepo) -> None:
    sha = Sha(repo.commit("one", {"a": "1\n"}))
    (repo.path / ".git" / "refs" / "heads" / "x.lock").write_text("")
    with pytest.raises(StagerError) as error:
        update_refs(Repository(repo.path), [RefUpdate("refs/heads/x", sha, None)])
    assert "cannot lock ref 'refs/heads/x'" in str(error.value)
    assert "x.lock" in str(error.value)


def test_worktree_remove_after_an_interrupted_worktree_add(repo: GitRepo, tmp_path: Path) -> None:
    """A stopped ``git worktree add`` leaves its entry locked ("initializing") and no .git
    file: ``git worktree remove`` and ``prune`` both refuse it. Only that entry goes, not the
    user's own worktree whose folder is missing (on a drive not mounted now)."""
    commit = Sha(repo.commit("one", {"a": "1\n"}))
    found = Repository(repo.path)
    repo.git("worktree", "add", "-q", "--detach", str(tmp_path / "usb" / "mine"), commit)
    (tmp_path / "usb" / "mine" / ".git").unlink()  # the drive is not mounted
    worktree = tmp_path / "stager-verify" / "tree"
    worktree_add(found, worktree, commit)
    (repo.path / ".git" / "worktrees" / "tree" / "locked").write_text("initializing\n")
    (worktree / ".git").unlink()
    worktree_remove(found, worktree)
    assert not worktree.exists()
    listed = repo.git("worktree", "list", "--porcelain").splitlines()
    assert [line for line in listed if line.startswith("worktree ")] == [
        f"worktree {repo.path}",
        f"worktree {tmp_path / 'usb' / 'mine'}",
    ]
