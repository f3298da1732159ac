"""`stager sync` end to end: a bare remote, the fake GitHub driven by real PyGithub; phase 1
merged by a merge commit, a squash or a rebase-merge, the base moving meanwhile."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stager.migrations.merge_revision import merge_revision_id
from stager.types import Revision
from tests.branches.helpers import migration
from tests.commands.sync_stack import (
    ADD,
    ETL,
    MODEL,
    PHASE_1,
    PHASE_3,
    PHASE_4,
    REPO,
    SERVICE,
    StackTemplate,
    SyncStack,
    build_template,
    copy_template,
)
from tests.github.fake_github import FakeGitHub
from tests.github.fixtures import Remote, github, remote
from tests.gitrepo import GitRepo

__all__ = ["github", "remote"]  # fixtures


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> StackTemplate:
    return build_template(tmp_path_factory.mktemp("sync-stack"))


@pytest.fixture
def stack(template: StackTemplate, tmp_path: Path, remote: Remote, github: FakeGitHub) -> SyncStack:
    """The small stack, split and opened (#1..#3): a copy of the module's template."""
    return copy_template(template, tmp_path / "stack", remote, github)


@pytest.mark.parametrize("how", ["merge", "squash", "rebase"])
def test_phase_1_merged_any_way_leaves_the_rest_rebuilt_retargeted_and_one_head(
    stack: SyncStack, how: str
) -> None:
    main = stack.merge(PHASE_1, 1, how)
    result = stack.sync()
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("# stager sync\n")  # the report only: progress is on stderr
    git = stack.git
    # Phases 3 and 4 start at main's new tip; phase 1's files are not repeated.
    assert git.git("rev-parse", f"{PHASE_3}^") == main
    assert git.git("diff", "--name-only", main, PHASE_3).split() == [SERVICE]
    assert stack.remote.branch(PHASE_3) == git.git("rev-parse", PHASE_3)
    assert stack.remote.branch(PHASE_4) == git.git("rev-parse", PHASE_4)
    assert stack.heads(main) == {"add2"} and stack.heads(PHASE_4) == {"drop3"}
    # Retargeted, none closed; phase 1's branch deleted only after.
    pulls = {pull.number: pull for pull in stack.fake.pulls.values()}
    assert (pulls[2].base, pulls[2].state, pulls[3].state) == ("main", "open", "open")
    assert stack.remote.branch(PHASE_1) is None
    # A second sync writes nothing, anywhere.
    refs, writes = stack.refs(), len(stack.fake.writes)
    again = stack.sync_json()
    assert again["pushed"] == [] and again["deleted"] == []
    assert stack.refs() == refs and len(stack.fake.writes) == writes


def test_another_teams_migration_gets_the_last_phase_rechained_with_the_warning(
    stack: SyncStack,
) -> None:
    stack.merge(PHASE_1, 1, "squash")
    stack.base_commit(
        "other team", {"migrations/versions/0009_other.py": migration("other9", "add2")}
    )
    old = stack.git.git("rev-parse", PHASE_4)
    dry = stack.sync_json("--dry-run")  # says what the real run will: the warning included
    report = stack.sync_json()
    assert stack.heads(PHASE_4) == {"drop3"}
    assert '"other9"' in stack.git.git("show", f"{PHASE_4}:migrations/versions/0003_drop.py")
    new = stack.git.git("rev-parse", PHASE_4)
    warning = (
        f"databases that ran this branch before {new[:12]} must first be downgraded to add2 "
        f"with the old branch (`alembic downgrade add2` in a checkout of {old[:12]})"
    )
    assert warning in " ".join(report["notes"])
    assert warning in " ".join(dry["notes"])
    # The refreshed body of that phase's pull request says it too, and only that one.
    bodies = {pull.head: " ".join(pull.body.split()) for pull in stack.fake.pulls.values()}
    assert warning in bodies[PHASE_4] and f"before {new[:12]}" not in bodies[PHASE_3]


def test_a_conflicting_change_on_the_base_stops_sync_naming_the_file(stack: SyncStack) -> None:
    stack.merge(PHASE_1, 1, "squash")
    stack.base_commit("someone else's ETL", {ETL: "x = 2\n"})
    stack.git.git("fetch", "-q", "origin")
    refs, writes = stack.refs(), len(stack.fake.writes)
    result = stack.sync()
    assert result.exit_code == 1
    assert ETL in result.output and "nothing was written" in result.output
    assert stack.refs() == refs and len(stack.fake.writes) == writes


def test_deleting_the_merged_branch_first_would_have_closed_the_next_pull_request(
    stack: SyncStack,
) -> None:
    """The fake closes a pull request whose base branch a push deletes, as GitHub does."""
    stack.merge(PHASE_1, 1, "squash")
    stack.git.git("push", "-q", "origin", "--delete", PHASE_1)
    assert stack.sync().exit_code == 0
    assert stack.fake.pulls[2].state == "closed"  # what sync's order avoids


def test_a_partly_merged_phase_stops_sync_listing_its_paths(stack: SyncStack) -> None:
    stack.base_commit("only the model of phase 1", {MODEL: "class Thing:\n    add2 = 1\n"})
    refs, writes = stack.refs(), len(stack.fake.writes)
    result = stack.sync()
    assert result.exit_code == 1
    shown = " ".join(result.output.split())
    assert f"phase 1 ({PHASE_1}) is partially merged" in shown
    assert f"on it {MODEL}; not on it {ADD}" in shown and "nothing was written" in shown
    fetched = "refs/remotes/origin/main"  # the fetch is the one thing a stopped sync leaves
    assert [line for line in stack.refs().splitlines() if fetched not in line] == [
        line for line in refs.splitlines() if fetched not in line
    ]
    assert len(stack.fake.writes) == writes


def test_sync_works_from_a_fresh_clone_with_the_pushed_record(
    stack: SyncStack, tmp_path: Path, git_env: dict[str, str]
) -> None:
    stack.merge(PHASE_1, 1, "squash")
    clone = GitRepo(tmp_path / "clone", git_env)
    stack.git.git("clone", "-q", str(stack.remote.path), str(clone.path))
    clone.git("switch", "-q", "feature")
    fresh = SyncStack(clone, stack.remote, stack.fake)
    result = fresh.sync()
    assert result.exit_code == 0, result.output
    main = stack.remote_main()
    assert clone.git("rev-parse", f"{PHASE_3}^") == main
    assert stack.remote.branch(PHASE_3) == clone.git("rev-parse", PHASE_3)
    assert stack.fake.pulls[2].base == "main" and stack.remote.branch(PHASE_1) is None


def test_a_reviewers_commit_on_a_phase_branch_survives_sync(stack: SyncStack) -> None:
    fix = stack.push_commit(
        PHASE_3, "Review: name the function", {SERVICE: "def g():\n    return 1\n"}
    )
    stack.merge(PHASE_1, 1, "squash")
    report = stack.sync_json()
    git = stack.git
    assert report["phases"][0]["kept"] == [fix]
    for branch in (PHASE_3, PHASE_4):  # kept in its phase, and in the phases above it
        assert git.git("show", f"{branch}:{SERVICE}") == "def g():\n    return 1"
    replayed = git.git("log", "-1", "--format=%an|%s", PHASE_3)
    assert replayed == "Rita Reviewer|Review: name the function"
    assert git.git("rev-parse", f"{PHASE_3}~2") == stack.remote_main()
    assert stack.remote.branch(PHASE_3) == git.git("rev-parse", PHASE_3)
    record = json.loads(git.git("show", "refs/stager/record/feature:record.json"))
    (phase,) = [phase for phase in record["phases"] if phase["number"] == 3]
    assert [kept["original"] for kept in phase["kept"]] == [fix]
    refs, writes = stack.refs(), len(stack.fake.writes)
    assert stack.sync_json()["pushed"] == []
    assert stack.refs() == refs and len(stack.fake.writes) == writes


def test_a_reviewers_commit_that_conflicts_with_the_branch_stops_sync(stack: SyncStack) -> None:
    fix = stack.push_commit(PHASE_3, "Review: return 2", {SERVICE: "def f():\n    return 2\n"})
    stack.git.commit("service returns 3", {SERVICE: "def f():\n    return 3\n"})
    change = stack.git.git("rev-parse", "HEAD")
    stack.git.git("fetch", "-q", "origin")
    refs, writes = stack.refs(), len(stack.fake.writes)
    result = stack.sync()
    assert result.exit_code == 1
    shown = " ".join(result.output.split())
    assert f"the commit {fix[:12]} ('Review: return 2')" in shown
    assert f"the feature branch's commit {change[:12]}" in shown
    assert f"in {SERVICE}; nothing was written" in shown
    assert f"git cherry-pick {fix[:12]}" in shown
    assert stack.refs() == refs and len(stack.fake.writes) == writes


def test_dry_run_fetches_pushes_and_calls_nothing(stack: SyncStack) -> None:
    stack.merge(PHASE_1, 1, "squash")
    stack.git.git("fetch", "-q", "origin")
    refs, requests = stack.refs(), len(stack.fake.requests)
    report = stack.sync_json("--dry-run")
    assert report["dry_run"] and [p["branch"] for p in report["phases"]] == [PHASE_3, PHASE_4]
    assert (
        "a real run would push stage/3-application, stage/4-etl-and-contract" in report["notes"][-1]
    )
    assert stack.refs() == refs and len(stack.fake.requests) == requests


def test_without_a_record_sync_says_to_split_first(repo: GitRepo, remote: Remote) -> None:
    repo.commit("base", {"README.md": "hi\n"})
    repo.git("checkout", "-q", "-b", "feature")
    repo.commit("feature", {"app.py": "x = 1\n"})
    repo.git("remote", "add", "origin", str(remote.path))
    repo.git("push", "-q", "origin", "main")
    result = SyncStack(repo, remote, FakeGitHub("o", "n", "t")).sync()
    assert result.exit_code == 1
    assert "feature has no stager record" in result.output
    assert "run `stager split --all`" in result.output


def _object_files(git: GitRepo) -> list[str]:
    """Every file of the repository's object store (loose objects, packs, their indexes)."""
    objects = git.path / ".git" / "objects"
    return sorted(str(path.relative_to(objects)) for path in objects.rglob("*") if path.is_file())


def test_a_base_with_two_heads_one_a_merged_phases_gets_a_merge_revision_first(
    stack: SyncStack,
) -> None:
    """Phase 1 was built before another team's revision landed on the same parent: merging
    it gave main two heads. The next phase starts with the merge revision of exactly those.
    A dry run first writes no object at all (its merge revision lives only in its quarantine)
    and names the commits the real run then builds."""
    stack.base_commit(
        "other team", {"migrations/versions/0009_other.py": migration("other9", "base1")}
    )
    main = stack.merge(PHASE_1, 1, "squash")
    assert stack.heads(main) == {"add2", "other9"}
    merge = merge_revision_id([Revision("add2"), Revision("other9")])
    stack.git.git("fetch", "-q", "origin")  # what the dry run reads: main as last fetched
    refs, objects = stack.refs(), _object_files(stack.git)
    dry = stack.sync_json("--dry-run")
    assert stack.refs() == refs and _object_files(stack.git) == objects
    report = stack.sync_json()
    assert [phase["commit"] for phase in report["phases"]] == [
        phase["commit"] for phase in dry["phases"]
    ]
    git = stack.git
    first = git.git("rev-list", "--reverse", f"{main}..{PHASE_3}").split()[0]
    assert git.git("log", "-1", "--format=%s", first) == "Merge Alembic heads add2, other9"
    assert stack.heads(PHASE_3) == {merge} and stack.heads(PHASE_4) == {"drop3"}
    drop = git.git("show", f"{PHASE_4}:migrations/versions/0003_drop.py")
    assert f'down_revision: Union[str, None] = "{merge}"' in drop
    said = f"the merge revision {merge} of exactly those heads"
    noted = [note for note in report["notes"] if said in note]
    assert noted and [note for note in dry["notes"] if said in note] == noted
    refs, objects, writes = stack.refs(), _object_files(stack.git), len(stack.fake.writes)
    assert stack.sync_json()["pushed"] == []  # the same merge revision, the same commit
    assert stack.refs() == refs and _object_files(stack.git) == objects
    assert len(stack.fake.writes) == writes


def test_a_sync_that_stops_after_the_merge_revision_writes_no_object(stack: SyncStack) -> None:
    """The merge revision is written, then the rebuild stops on a conflict: nothing of it
    reaches the repository."""
    stack.base_commit(
        "other team", {"migrations/versions/0009_other.py": migration("other9", "base1")}
    )
    stack.merge(PHASE_1, 1, "squash")
    stack.base_commit("someone else's ETL", {ETL: "x = 2\n"})
    stack.git.git("fetch", "-q", "origin")
    refs, objects = stack.refs(), _object_files(stack.git)
    result = stack.sync()
    assert result.exit_code == 1 and ETL in result.output
    assert stack.refs() == refs and _object_files(stack.git) == objects


def test_a_merged_branch_an_open_pull_request_is_based_on_is_kept(stack: SyncStack) -> None:
    stack.merge(PHASE_1, 1, "squash")
    stack.git.git("push", "-q", "origin", f"{PHASE_1}:refs/heads/someones-follow-up")
    theirs = stack.fake.add_pull("someones-follow-up", PHASE_1, "Follow-up", "", "rita")
    report = stack.sync_json()
    assert report["deleted"] == [] and stack.remote.branch(PHASE_1) is not None
    assert report["kept"] == [f"{PHASE_1}: the open pull request #{theirs.number} is based on it"]
    assert theirs.state == "open"


def test_open_pr_and_verify_after_sync_leave_the_merged_phase_alone(stack: SyncStack) -> None:
    stack.merge(PHASE_1, 1, "squash")
    assert stack.sync().exit_code == 0
    stack.git.git("fetch", "-q", "origin")
    base = ("--base", "origin/main", "--head", "feature")
    verified = stack.stager("verify", *base, "--all")
    assert verified.exit_code == 0, verified.output
    refs, pulls = stack.refs(), len(stack.fake.pulls)
    opened = stack.stager("open-pr", *base, "--all", "--github-repo", REPO, "--format", "json")
    assert opened.exit_code == 0, opened.output
    assert json.loads(opened.stdout)["pushed"] == []
    assert len(stack.fake.pulls) == pulls and stack.refs() == refs


def test_a_phase_github_says_merged_counts_as_merged_when_git_alone_is_unsure(
    stack: SyncStack,
) -> None:
    """Squash-merged, then the base changed one of its files again (the feature branch took
    the same fix): git sees the phase only partly on the base; GitHub's merged pull request,
    whose merge commit the base holds, settles it."""
    main = stack.merge(PHASE_1, 1, "squash")
    newer = "class Thing:\n    add2 = 1\n    later = 2\n"
    stack.base_commit("the model grows on main", {MODEL: newer})
    stack.git.commit("the model grows here too", {MODEL: newer})
    report = stack.sync_json()
    (merged,) = report["merged_phases"]
    assert (merged["number"], merged["how"]) == (1, "its pull request's merge commit")
    tip = stack.remote_main()
    assert tip != main and stack.git.git("rev-parse", f"{PHASE_3}^") == tip
    assert stack.git.git("diff", "--name-only", tip, PHASE_3).split() == [SERVICE]
    assert stack.git.git("show", f"{PHASE_4}:{MODEL}") == newer.rstrip("\n")
    assert stack.fake.pulls[2].base == "main" and stack.remote.branch(PHASE_1) is None


def test_sync_in_json_outside_a_terminal_prints_no_progress(stack: SyncStack) -> None:
    """Progress goes through the one facility of every command: a program reading the JSON
    (and maybe stderr with it) gets no progress line."""
    stack.merge(PHASE_1, 1, "squash")
    result = stack.sync("--format", "json")
    assert result.exit_code == 0, result.output
    assert PHASE_3 in json.loads(result.stdout)["pushed"]
    assert "stager:" not in result.stderr


def test_a_record_older_than_the_remotes_stops_sync_and_open_pr_with_the_fetch(
    stack: SyncStack,
) -> None:
    """Another clone ran sync: the remote's record is newer than this clone's. Going on would
    take that clone's rebuilt phases for a reviewer's commits; the fix is to fetch the record."""
    git, record = stack.git, "refs/stager/record/feature"
    newer = git.git("commit-tree", f"{record}^{{tree}}", "-p", record, "-m", "another clone")
    git.git("push", "-q", "origin", f"{newer}:{record}")
    stack.merge(PHASE_1, 1, "squash")
    fix = "git fetch origin 'refs/stager/*:refs/stager/*'"
    open_pr = ("open-pr", "--base", "main", "--all", "--github-repo", REPO)
    for command in ("sync", "open-pr"):
        git.git("fetch", "-q", "origin")
        refs, writes = stack.refs(), len(stack.fake.writes)
        result = stack.sync() if command == "sync" else stack.stager(*open_pr)
        assert result.exit_code == 1, result.output
        shown = " ".join(result.output.split())
        assert f"the record of feature on origin ({newer[:12]}) is newer than this clone's" in shown
        assert fix in shown
        assert stack.refs() == refs and len(stack.fake.writes) == writes


def test_without_a_token_sync_goes_by_git_alone_and_says_github_was_not_reached(
    stack: SyncStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack.merge(PHASE_1, 1, "squash")
    monkeypatch.delenv("GITHUB_TOKEN")
    requests = len(stack.fake.requests)
    report = stack.sync_json()
    assert [phase["how"] for phase in report["merged_phases"]] == ["squash or rebase"]
    assert stack.remote.branch(PHASE_3) == stack.git.git("rev-parse", PHASE_3)
    assert any(note.startswith("GitHub was not reached (") for note in report["notes"])
    assert len(stack.fake.requests) == requests and stack.remote.branch(PHASE_1) is not None
