"""stager.branches.verify: each check passes on a real split and fails on a broken one."""

from __future__ import annotations

import pytest

from stager.branches import heads
from stager.branches.split import split_branch
from stager.branches.split_types import SplitOptions
from stager.branches.verify import ALEMBIC, CHECK, COMPILES, PLAN, Verification, verify_split
from stager.errors import StagerError
from stager.git.repository import Repository
from stager.migrations.parse import parse_migration
from stager.migrations.revision_files import MigrationFile
from stager.plan.phase import Phase
from stager.types import RepoPath, Sha
from tests.branches.helpers import (
    FEATURE_PHASES,
    VERSIONS,
    analyze,
    feature_repo,
    make_phases,
    module,
    with_phases,
)
from tests.gitrepo import GitRepo

TEMPLATE = "stage/{number}-{name}"


@pytest.fixture
def feature(repo: GitRepo) -> GitRepo:
    feature_repo(repo)
    return repo


def phases_of(repo: GitRepo) -> tuple[Phase, ...]:
    return make_phases(analyze(repo), FEATURE_PHASES)


def do_split(repo: GitRepo) -> None:
    analysis = analyze(repo)
    phases = make_phases(analysis, FEATURE_PHASES)
    split_branch(Repository(repo.path), with_phases(analysis, phases), SplitOptions(), phases)


def check(repo: GitRepo, **options: object) -> Verification:
    analysis = analyze(repo)
    phases = make_phases(analysis, FEATURE_PHASES)
    return verify_split(
        Repository(repo.path),
        analysis,
        phases,
        branch_template=TEMPLATE,
        **options,  # type: ignore[arg-type]
    )


def failing(result: Verification) -> dict[tuple[int, str], tuple[str, ...]]:
    return {
        (item.phase.number, found.name): found.details
        for item in result.phases
        for found in item.checks
        if not found.ok
    }


def amend_branch(repo: GitRepo, branch: str, files: dict[str, str | None]) -> None:
    """Add a commit to ``branch`` without checking it out (a reviewer's fixup)."""
    current = repo.git("symbolic-ref", "--short", "HEAD")
    repo.checkout(branch)
    for path, content in files.items():
        if content is None:
            repo.remove(path)
        else:
            repo.write(path, content)
    repo.commit("fixup", {})
    repo.checkout(current)


def test_a_good_split_passes_every_check(feature: GitRepo) -> None:
    do_split(feature)
    result = check(feature)
    assert result.ok, result
    assert [item.branch for item in result.phases] == [
        "stage/1-part1",
        "stage/2-part2",
        "stage/3-part3",
    ]
    assert [check.name for check in result.phases[0].checks] == [PLAN, ALEMBIC, COMPILES]
    assert result.lossless.ok and not result.lossless.skipped


def test_a_file_added_to_a_phase_fails_the_plan_and_breaks_the_stack(feature: GitRepo) -> None:
    do_split(feature)
    amend_branch(feature, "stage/2-part2", {"docs/extra.md": "not planned\n"})
    result = check(feature)
    problems = failing(result)
    assert problems[2, PLAN] == ("docs/extra.md: changed, but not in this phase",)
    assert any("does not start from" in line for line in problems[3, PLAN])
    assert not result.ok


def test_a_lost_change_fails_nothing_lost(feature: GitRepo) -> None:
    do_split(feature)
    amend_branch(feature, "stage/3-part3", {"docs/readme.md": "something else\n"})
    result = check(feature)
    assert not result.lossless.ok
    assert any(line.startswith("docs/readme.md:") for line in result.lossless.details)
    assert any(line.startswith("docs/readme.md:") for line in failing(result)[3, PLAN])
    feature.git("branch", "-D", "stage/3-part3")
    missing = check(feature)
    assert missing.lossless.details == ("phase 3 has no branch: its files are missing",)
    assert failing(missing)[3, PLAN] == ("branch stage/3-part3 does not exist",)


def test_a_dangling_down_revision_fails_alembic(feature: GitRepo) -> None:
    do_split(feature)
    widget = feature.git("show", f"stage/1-part1:{VERSIONS}/0003_widget.py") + "\n"
    broken = widget.replace('= "base2"', '= "nowhere"')
    amend_branch(feature, "stage/1-part1", {f"{VERSIONS}/0003_widget.py": broken})
    problems = failing(check(feature, only=1))
    assert any(
        "down_revision nowhere is not in this phase" in line for line in problems[1, ALEMBIC]
    )
    assert any("2 Alembic heads" in line for line in problems[1, ALEMBIC])


def test_a_python_file_that_does_not_compile(feature: GitRepo) -> None:
    feature.commit("broken", {"app/new.py": "def broken(:\n"})
    do_split(feature)
    problems = failing(check(feature))
    assert list(problems) == [(2, COMPILES)]
    assert problems[2, COMPILES][0] == "app/new.py:1: invalid syntax"
    assert "set [verify] python in rules.toml" in problems[2, COMPILES][1]  # which Python said so


def test_check_command_runs_in_a_temporary_worktree_of_each_phase(feature: GitRepo) -> None:
    do_split(feature)
    result = check(feature, check="echo phase $STAGER_PHASE; test -f app/new.py")
    results = {
        item.phase.number: next(c for c in item.checks if c.name == CHECK) for item in result.phases
    }
    assert not results[1].ok and results[1].details == ("exit 1", "phase 1")
    assert results[2].ok and results[3].ok and results[2].details == ("exit 0", "phase 2")
    assert not result.ok
    assert len(feature.git("worktree", "list").splitlines()) == 1  # removed again


def test_one_phase_only(feature: GitRepo) -> None:
    do_split(feature)
    result = check(feature, only=2)
    assert [item.phase.number for item in result.phases] == [2]
    assert result.lossless.skipped and result.ok


def test_branches_made_without_stager_are_still_verified(feature: GitRepo) -> None:
    do_split(feature)
    feature.git("update-ref", "-d", "refs/stager/record/feature")
    assert check(feature).ok


def test_nothing_to_verify_and_unknown_phase(feature: GitRepo) -> None:
    with pytest.raises(StagerError, match="no phase branch exists"):
        check(feature)
    do_split(feature)
    with pytest.raises(StagerError, match="there is no phase 9"):
        check(feature, only=9)


def test_head_blob_is_what_phase_two_must_hold(feature: GitRepo) -> None:
    do_split(feature)
    amend_branch(feature, "stage/2-part2", {"app/new.py": module("new", 2)})
    problems = failing(check(feature, only=2))
    assert (
        problems[2, PLAN][0].startswith("app/new.py: ") and "where head has" in problems[2, PLAN][0]
    )


def test_revision_files_the_analysis_parsed_are_not_parsed_again(
    feature: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """verify reads the phases' graphs from the analysis's revision files, by blob."""
    do_split(feature)
    analysis = analyze(feature)
    phases = make_phases(analysis, FEATURE_PHASES)
    parsed: list[str] = []
    original = parse_migration

    def counting(path: RepoPath, blob: Sha, source: bytes) -> MigrationFile:
        parsed.append(blob)
        return original(path, blob, source)

    monkeypatch.setattr(heads, "parse_migration", counting)
    result = verify_split(Repository(feature.path), analysis, phases, branch_template=TEMPLATE)
    assert result.ok, result
    assert not set(parsed) & set(analysis.migrations.parsed)
