"""Which phase the rules ask for: revision ids, paths, categories, unassigned."""

from __future__ import annotations

from pathlib import Path

import pytest

from stager.plan import PlanError
from stager.plan.phase import PlannedFile
from tests.gitrepo import GitRepo
from tests.plan.helpers import (
    RULES,
    analyze,
    make_branch,
    phases,
    plan_of,
    revision_file,
    version_path,
)

H0 = "h0000000000b"
BASE = {version_path(H0): revision_file(H0, None, 'op.create_table("account")')}
ONE = "a000000000b1"


def branch(repo: GitRepo) -> None:
    make_branch(
        repo,
        BASE,
        {
            version_path(ONE): revision_file(ONE, H0, 'op.create_table("one")'),
            "app/code.py": "X = 1\n",
            "notes.txt": "hello\n",
        },
    )


def test_a_listed_revision_goes_to_its_phase_before_its_category(
    repo: GitRepo, tmp_path: Path
) -> None:
    branch(repo)
    rules = RULES.replace('name = "data"\n', f'name = "data"\nmigrations = ["{ONE}", "zzz"]\n')
    analysis = analyze(repo, tmp_path, rules)
    assert phases(analysis)[version_path(ONE)] == 2
    planned: dict[str, PlannedFile] = {f.path: f for p in plan_of(analysis).phases for f in p.files}
    assert planned[version_path(ONE)].reason.startswith(f"revision {ONE} is listed in [[phase]]")
    # a listed revision the branch does not change is a warning, not an error
    assert any("zzz" in warning for warning in analysis.warnings)
    # analyze's file list shows the planned phase and why
    (item,) = [c for c in analysis.classes if c.path == version_path(ONE)]
    assert item.phase == 2 and any("listed in [[phase]]" in r for r in item.reasons)


def test_paths_take_files_before_categories(repo: GitRepo, tmp_path: Path) -> None:
    branch(repo)
    rules = RULES.replace('name = "schema"\n', 'name = "schema"\npaths = ["app/"]\n')
    analysis = analyze(repo, tmp_path, rules)
    assert phases(analysis)["app/code.py"] == 1
    assert phases(analysis)["notes.txt"] == 3


NO_CATCH_ALL = RULES.replace('paths = ["*"]', 'paths = ["*.py"]').replace(
    '[[category]]\nname = "tests"',
    '[[category]]\nname = "text"\npaths = ["*.txt"]\nrisk = "low"\n\n[[category]]\nname = "tests"',
)


def test_unassigned_files_go_last_or_to_the_named_phase(repo: GitRepo, tmp_path: Path) -> None:
    branch(repo)
    analysis = analyze(repo, tmp_path, NO_CATCH_ALL)
    assert phases(analysis)["notes.txt"] == 4
    (item,) = [c for c in analysis.classes if c.path == "notes.txt"]
    assert (
        item.reasons[-1]
        == "category 'text' is in no [[phase]] (unassigned → last phase: phase 4 (contract))"
    )
    named = analyze(repo, tmp_path, '[stager]\nunassigned = "data"\n' + NO_CATCH_ALL)
    assert phases(named)["notes.txt"] == 2
    (item,) = [c for c in named.classes if c.path == "notes.txt"]
    assert (
        item.reasons[-1]
        == "category 'text' is in no [[phase]] (unassigned → phase: phase 2 (data))"
    )


def test_unassigned_error_lists_the_files(repo: GitRepo, tmp_path: Path) -> None:
    branch(repo)
    with pytest.raises(PlanError) as caught:
        analyze(repo, tmp_path, '[stager]\nunassigned = "error"\n' + NO_CATCH_ALL)
    message = str(caught.value)
    assert "1 changed file is in no phase: notes.txt (category 'text')" in message
    assert 'unassigned = "last"' in message


def test_an_empty_phase_is_skipped_and_the_others_keep_their_numbers(
    repo: GitRepo, tmp_path: Path
) -> None:
    branch(repo)
    plan = plan_of(analyze(repo, tmp_path))
    assert [phase.number for phase in plan.phases] == [1, 3]
    first, third = plan.phases
    assert third.depends_on == ()  # plain code needs nothing of phase 1
    assert first.migrations[0].down_revision == (H0,)
