from __future__ import annotations

import pytest

from stager.errors import GitError, StagerError
from stager.git.repository import Repository
from stager.github.push import (
    BranchPush,
    PushRefused,
    plan_pushes,
    push_arguments,
    push_branches,
    pushed_ref,
    remote_url,
    scrub,
)
from stager.types import Sha
from tests.github.fixtures import Remote
from tests.gitrepo import GitRepo


@pytest.fixture
def local(repo: GitRepo, remote: Remote) -> GitRepo:
    repo.commit("base", {"README.md": "hello\n"})
    repo.git("remote", "add", "origin", str(remote.path))
    repo.git("push", "-q", "origin", "main")
    for number in (1, 2):
        repo.git("branch", f"stage/{number}", "main")
        repo.git("checkout", "-q", f"stage/{number}")
        repo.commit(f"phase {number}", {f"phase{number}.txt": f"{number}\n"})
    repo.git("checkout", "-q", "main")
    return repo


def tips(repo: GitRepo, *branches: str) -> list[tuple[str, Sha]]:
    return [(branch, Sha(repo.git("rev-parse", branch))) for branch in branches]


def test_first_push_records_what_was_pushed(local: GitRepo, remote: Remote) -> None:
    stager = Repository(local.path)
    pushes = plan_pushes(stager, "origin", tips(local, "stage/1", "stage/2"))
    assert [p.recorded for p in pushes] == [None, None]
    assert [p.remote for p in pushes] == [None, None]
    # never pushed: an empty lease, so git refuses if the branch appeared meanwhile
    assert push_arguments("origin", pushes)[5:7] == [
        "--force-with-lease=refs/heads/stage/1:",
        "--force-with-lease=refs/heads/stage/2:",
    ]
    push_branches(stager, "origin", pushes)
    for branch in ("stage/1", "stage/2"):
        sha = local.git("rev-parse", branch)
        assert remote.branch(branch) == sha
        assert local.git("rev-parse", pushed_ref("origin", branch)) == sha
    again = plan_pushes(stager, "origin", tips(local, "stage/1", "stage/2"))
    assert not any(p.needed for p in again)
    assert push_arguments("origin", again) == []


def test_a_rebuilt_branch_is_pushed_with_a_lease_on_what_stager_pushed(
    local: GitRepo, remote: Remote
) -> None:
    stager = Repository(local.path)
    push_branches(stager, "origin", plan_pushes(stager, "origin", tips(local, "stage/1")))
    old = local.git("rev-parse", "stage/1")
    local.git("checkout", "-q", "stage/1")
    local.git("commit", "-q", "--amend", "-m", "phase 1, rebuilt")
    local.git("checkout", "-q", "main")
    pushes = plan_pushes(stager, "origin", tips(local, "stage/1"))
    assert pushes[0].lease == f"--force-with-lease=refs/heads/stage/1:{old}"
    assert "--force" not in push_arguments("origin", pushes)
    push_branches(stager, "origin", pushes)
    assert remote.branch("stage/1") == local.git("rev-parse", "stage/1") != old


def test_someone_elses_remote_branch_is_never_overwritten(local: GitRepo, remote: Remote) -> None:
    theirs = local.git("rev-parse", "main")
    remote.repo.git("update-ref", "refs/heads/stage/1", theirs)
    stager = Repository(local.path)
    with pytest.raises(PushRefused, match="stager did not push it"):
        push_branches(stager, "origin", plan_pushes(stager, "origin", tips(local, "stage/1")))
    assert remote.branch("stage/1") == theirs


def test_a_branch_moved_by_someone_since_stager_pushed_is_refused(
    local: GitRepo, remote: Remote
) -> None:
    stager = Repository(local.path)
    push_branches(stager, "origin", plan_pushes(stager, "origin", tips(local, "stage/1")))
    theirs = local.git("rev-parse", "stage/2")  # someone pushes other commits there
    local.git("push", "-q", "--force", "origin", "stage/2:stage/1")
    local.git("checkout", "-q", "stage/1")
    local.git("commit", "-q", "--amend", "-m", "rebuilt")
    local.git("checkout", "-q", "main")
    with pytest.raises(PushRefused, match="someone else pushed to it"):
        push_branches(stager, "origin", plan_pushes(stager, "origin", tips(local, "stage/1")))
    assert remote.branch("stage/1") == theirs


def test_the_lease_protects_against_a_push_after_the_check(local: GitRepo, remote: Remote) -> None:
    """Between ls-remote and push someone pushes: git's lease refuses, atomically."""
    stager = Repository(local.path)
    pushes = plan_pushes(stager, "origin", tips(local, "stage/1", "stage/2"))
    remote.repo.git("update-ref", "refs/heads/stage/2", local.git("rev-parse", "main"))
    with pytest.raises(GitError, match="nothing was pushed"):
        push_branches(stager, "origin", pushes)  # the plan still believes stage/2 is absent
    assert remote.branch("stage/1") is None  # atomic: the other branch did not move either
    assert local.git("for-each-ref", "refs/stager/") == ""


def test_the_record_of_what_was_pushed_moves_only_from_what_was_read(
    local: GitRepo, remote: Remote
) -> None:
    """Another run recorded a push meanwhile: stager does not overwrite its record."""
    stager = Repository(local.path)
    pushes = plan_pushes(stager, "origin", tips(local, "stage/1"))
    theirs = local.git("rev-parse", "main")
    local.git("update-ref", pushed_ref("origin", "stage/1"), theirs)
    with pytest.raises(StagerError, match="git refused the ref update"):
        push_branches(stager, "origin", pushes)
    assert local.git("rev-parse", pushed_ref("origin", "stage/1")) == theirs


def test_same_sha_on_the_remote_is_just_recorded(local: GitRepo, remote: Remote) -> None:
    sha = local.git("rev-parse", "stage/1")
    local.git("push", "-q", "origin", "stage/1")
    stager = Repository(local.path)
    pushes = plan_pushes(stager, "origin", tips(local, "stage/1"))
    assert not pushes[0].needed
    push_branches(stager, "origin", pushes)
    assert local.git("rev-parse", pushed_ref("origin", "stage/1")) == sha


def test_dry_run_plan_asks_no_remote(local: GitRepo) -> None:
    local.git("remote", "set-url", "origin", "https://invalid.invalid/acme/fuel.git")
    stager = Repository(local.path)
    pushes = plan_pushes(stager, "origin", tips(local, "stage/1"), online=False)
    assert pushes[0].remote is None and pushes[0].needed


def test_remote_url_and_unknown_remote(local: GitRepo, remote: Remote) -> None:
    stager = Repository(local.path)
    assert remote_url(stager, "origin") == str(remote.path)
    with pytest.raises(StagerError, match=r"no git remote named 'upstream'.*origin"):
        remote_url(stager, "upstream")


def test_scrub_removes_credentials_from_urls() -> None:
    text = "fatal: unable to access 'https://x:ghp_SECRET@github.com/acme/fuel.git/'"
    assert "ghp_SECRET" not in scrub(text)
    assert "https://github.com/acme/fuel.git/" in scrub(text)


def test_branch_push_properties() -> None:
    push = BranchPush("stage/1", Sha("a" * 40), None, None)
    assert push.needed and push.refspec == f"{'a' * 40}:refs/heads/stage/1"


def test_a_full_ref_name_is_pushed_as_it_is_with_its_lease(local: GitRepo, remote: Remote) -> None:
    """The split's record (refs/stager/record/<branch>) goes in the branches' atomic push."""
    record = "refs/stager/record/feature"
    local.git("update-ref", record, "stage/1")
    stager = Repository(local.path)
    pushes = plan_pushes(stager, "origin", tips(local, "stage/2", record))
    arguments = push_arguments("origin", pushes)
    assert f"--force-with-lease={record}:" in arguments
    assert f"{local.git('rev-parse', record)}:{record}" in arguments
    push_branches(stager, "origin", pushes)
    assert remote.repo.git("rev-parse", record) == local.git("rev-parse", "stage/1")
    assert local.git("rev-parse", pushed_ref("origin", record)) == local.git("rev-parse", record)
    local.git("update-ref", record, "stage/2")
    again = plan_pushes(stager, "origin", tips(local, record))
    assert again[0].lease == f"--force-with-lease={record}:{local.git('rev-parse', 'stage/1')}"
    push_branches(stager, "origin", again)
    assert remote.repo.git("rev-parse", record) == local.git("rev-parse", "stage/2")
