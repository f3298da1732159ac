"""When another clone's record on the remote stops sync and open-pr (refuse_stale_record)."""

from __future__ import annotations

import pytest

from stager.branches.sync_plan import refuse_stale_record
from stager.errors import StagerError
from stager.git.repository import Repository
from stager.types import Sha
from tests.gitrepo import GitRepo


def _records(repo: GitRepo) -> tuple[Sha, Sha, Sha]:
    """An old record, a newer one on top of it, and one that went its own way from the old."""
    repo.commit("old record", {"record.json": "1\n"})
    old = Sha(repo.git("rev-parse", "HEAD"))
    repo.commit("newer record", {"record.json": "2\n"})
    newer = Sha(repo.git("rev-parse", "HEAD"))
    repo.git("checkout", "-q", "-b", "other", old)
    repo.commit("another clone's split", {"record.json": "3\n"})
    return old, newer, Sha(repo.git("rev-parse", "HEAD"))


def test_a_newer_remote_record_stops_with_the_fetch_unless_this_clone_pushed_it(
    repo: GitRepo,
) -> None:
    old, newer, other = _records(repo)
    git = Repository(repo.path)
    with pytest.raises(StagerError) as stopped:
        refuse_stale_record(git, "feature", "origin", old, newer, None)
    assert f"on origin ({newer[:12]}) is newer than this clone's ({old[:12]})" in str(stopped.value)
    assert "git fetch origin 'refs/stager/*:refs/stager/*'" in str(stopped.value)
    # ours is newer (not pushed yet), the same, or the remote's is what we pushed before an undo
    refuse_stale_record(git, "feature", "origin", newer, old, None)
    refuse_stale_record(git, "feature", "origin", old, old, None)
    refuse_stale_record(git, "feature", "origin", old, newer, newer)
    with pytest.raises(StagerError) as apart:
        refuse_stale_record(git, "feature", "origin", newer, other, None)
    assert "went separate ways" in str(apart.value)
    assert "'+refs/stager/*:refs/stager/*'" in str(apart.value)
