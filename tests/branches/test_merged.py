"""Merged phases, whatever the merge method: by ancestry (a merge commit) or by content
(squash, rebase-merge), partly, or merged and reverted. On the expand/contract seed,
whose phases carry files stager derived, so head's versions differ from the built ones."""

from __future__ import annotations

import json
from typing import Any

import pytest

from stager.branches.merged import (
    BY_ANCESTRY,
    BY_CONTENT,
    MERGED,
    PARTIAL,
    REVERTED,
    base_owned_revisions,
    branch_records,
    judge,
    overwritten_on_base,
)
from stager.git.repository import Repository
from tests.commands.test_expand_contract import (
    MIGRATION,
    MODEL,
    R_E,
    SERVICE,
    branch_of,
    seed,
    stager,
)
from tests.gitrepo import GitRepo

__all__ = ["seed"]  # the fixture, imported for pytest


@pytest.fixture
def split(seed: GitRepo) -> GitRepo:
    """The seed split into its phases (1: the expand revision and the model's early hunk,
    3: the model and the service, 4: the ETL and the contract revision); main checked out."""
    built = stager(seed, "split", "--base", "main", "--all")
    assert built.exit_code == 0, built.output
    seed.git("switch", "-q", "main")
    return seed


def squash(repo: GitRepo, number: int) -> None:
    """A squash merge as GitHub makes it: one commit on main with the phase's tree."""
    tree = repo.git("rev-parse", f"{branch_of(repo, number)}^{{tree}}")
    commit = repo.git("commit-tree", tree, "-p", "main", "-m", f"phase {number} (#{number})")
    repo.git("reset", "-q", "--hard", commit)


def analyze(repo: GitRepo, command: str = "analyze") -> dict[str, Any]:
    result = stager(repo, command, "--base", "main", "--head", "feature", "--format", "json")
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def merged(repo: GitRepo) -> dict[int, tuple[str, str]]:
    return {m["number"]: (m["state"], m["how"]) for m in analyze(repo)["merged_phases"]}


def changed(repo: GitRepo) -> set[str]:
    return {f["path"] for f in analyze(repo)["files"]}


def test_nothing_is_merged_right_after_the_split(split: GitRepo) -> None:
    assert merged(split) == {}
    assert changed(split) == {MIGRATION, MODEL, SERVICE, "etl/tfrs_import.py"}


def test_a_merge_commit_merges_the_phase_by_ancestry(split: GitRepo) -> None:
    split.git("merge", "-q", "--no-ff", "-m", "Merge phase 1", branch_of(split, 1))
    assert merged(split) == {1: (MERGED, BY_ANCESTRY)}


def test_a_squash_merges_the_phase_by_its_built_content_not_heads(split: GitRepo) -> None:
    squash(split, 1)
    # The model on main is phase 1's (its early hunk only), not head's: still merged.
    assert split.git("rev-parse", f"main:{MODEL}") != split.git("rev-parse", f"feature:{MODEL}")
    assert merged(split) == {1: (MERGED, BY_CONTENT)}
    # Phase 3 still ships the rest of the model: it stays the branch's.
    assert changed(split) == {MIGRATION, MODEL, SERVICE, "etl/tfrs_import.py"}


def test_a_rebase_merge_of_phases_1_to_3_leaves_their_files_out(split: GitRepo) -> None:
    commits = split.git("rev-list", "--reverse", f"main..{branch_of(split, 3)}").split()
    split.git("cherry-pick", *commits)  # GitHub's rebase-merge: each commit re-applied
    assert merged(split) == {1: (MERGED, BY_CONTENT), 3: (MERGED, BY_CONTENT)}
    document = analyze(split)
    assert {f["path"] for f in document["files"]} == {MIGRATION, "etl/tfrs_import.py"}
    # The merged files are the base's now: no "likely conflict" with the branch.
    assert not [f for f in document["findings"] if f["rule"] == "SB001"]
    plan = analyze(split, "plan")
    planned = {f["path"] for phase in plan["phases"] for f in phase["files"]}
    assert planned == {MIGRATION, "etl/tfrs_import.py"}
    assert [m["number"] for m in plan["merged_phases"]] == [1, 3]


def test_a_phase_with_only_some_paths_on_the_base_is_partially_merged(split: GitRepo) -> None:
    squash(split, 1)
    split.git("checkout", branch_of(split, 3), "--", SERVICE)
    split.commit("only the service of phase 3")
    (phase,) = [m for m in analyze(split)["merged_phases"] if m["number"] == 3]
    assert (phase["state"], phase["how"]) == (PARTIAL, BY_CONTENT)
    assert (phase["on_base"], phase["missing"]) == ([SERVICE], [MODEL])
    assert SERVICE in changed(split)  # a partial merge settles nothing


def test_a_merged_then_reverted_phase_says_so(split: GitRepo) -> None:
    split.git("merge", "-q", "--no-ff", "-m", "Merge phase 1", branch_of(split, 1))
    split.git("revert", "--no-edit", "-m", "1", "HEAD")
    (phase,) = analyze(split)["merged_phases"]
    assert (phase["state"], phase["how"]) == (REVERTED, BY_ANCESTRY)
    expand = split.git("diff", "--name-only", "--diff-filter=A", f"{phase['branch']}^!")
    assert sorted(phase["missing"]) == sorted([MODEL, expand])
    assert R_E in expand
    assert phase["on_base"] == []
    result = stager(split, "analyze", "--base", "main", "--head", "feature")
    assert "merged: phase 1 (stage/1-foundation) is merged and reverted on the base" in " ".join(
        result.output.split()
    )


def squash_every_phase(repo: GitRepo) -> None:
    for number in (1, 3, 4):
        squash(repo, number)


def test_every_phase_squashed_leaves_the_branch_nothing_though_head_differs(
    split: GitRepo,
) -> None:
    squash_every_phase(split)
    # By design the contract revision on main is not head's mixed one.
    assert split.git("rev-parse", f"main:{MIGRATION}") != split.git(
        "rev-parse", f"feature:{MIGRATION}"
    )
    document = analyze(split)
    assert [(m["number"], m["state"]) for m in document["merged_phases"]] == [
        (1, MERGED),
        (3, MERGED),
        (4, MERGED),
    ]
    assert document["files"] == []
    assert any("nothing to analyze" in warning for warning in document["warnings"])


def test_a_revision_file_of_a_merged_phase_is_the_bases_never_heads_again(
    split: GitRepo,
) -> None:
    squash_every_phase(split)
    repo = Repository(split.path)
    records = branch_records(repo, "feature")
    main = repo.resolve("main")
    content = judge(repo, records, main, repo.list_tree(repo.resolve("feature")))
    owned = base_owned_revisions(records, content)
    assert MIGRATION in owned
    assert MODEL not in owned  # a file with some of its hunks is no revision file
    # A rebuild from head would write head's mixed revision over the base's contract.
    assert overwritten_on_base(owned, repo.list_tree(repo.resolve("feature"))) == [MIGRATION]
    assert overwritten_on_base(owned, repo.list_tree(main)) == []


def test_plan_says_which_phases_are_merged_and_how(split: GitRepo) -> None:
    squash(split, 1)
    result = stager(split, "plan", "--base", "main", "--head", "feature")
    assert result.exit_code == 0, result.output
    shown = " ".join(result.output.split())
    assert "merged: phase 1 (stage/1-foundation) is merged on the base (squash or rebase)" in shown


def test_split_leaves_out_the_files_of_merged_phases(split: GitRepo) -> None:
    commits = split.git("rev-list", "--reverse", f"main..{branch_of(split, 3)}").split()
    split.git("cherry-pick", *commits)
    built = stager(
        split,
        *("split", "--base", "main", "--head", "feature", "--all", "--onto", "main"),
        *("--dry-run", "--force", "--format", "json"),
    )
    assert built.exit_code == 0, built.output
    document = json.loads(built.stdout)
    files = {f["path"] for phase in document["phases"] for f in phase["files"]}
    assert files == {MIGRATION, "etl/tfrs_import.py"}
    tips = {
        number: split.git("rev-parse", "--short=12", branch_of(split, number)) for number in (1, 3)
    }
    assert document["notes"][:2] == [
        f"phase 1 (stage/1-foundation, built at {tips[1]}) is merged on the base (squash or "
        "rebase): its files are left out",
        f"phase 3 (stage/3-application, built at {tips[3]}) is merged on the base (squash or "
        "rebase): its files are left out",
    ]


def test_phases_merged_before_the_last_split_still_count(split: GitRepo) -> None:
    """The next split builds only the phases left: its record no longer names phase 1."""
    commits = split.git("rev-list", "--reverse", f"main..{branch_of(split, 3)}").split()
    split.git("cherry-pick", *commits)
    again = stager(
        split, "split", "--base", "main", "--head", "feature", "--all", "--onto", "main", "--force"
    )
    assert again.exit_code == 0, again.output
    record = json.loads(split.git("show", "refs/stager/record/feature:record.json"))
    assert [phase["number"] for phase in record["phases"]] == [4]
    assert merged(split) == {1: (MERGED, BY_CONTENT), 3: (MERGED, BY_CONTENT)}
    assert changed(split) == {MIGRATION, "etl/tfrs_import.py"}


def test_a_deleted_path_is_merged_only_when_the_base_has_it_no_more(repo: GitRepo) -> None:
    repo.commit("base", {"app/old.py": "OLD = 1\n", "app/keep.py": "KEEP = 1\n"})
    repo.checkout("-b", "feature")
    repo.remove("app/old.py")
    repo.commit("drop old, change keep", {"app/keep.py": "KEEP = 2\n"})
    built = stager(repo, "split", "--base", "main", "--all")
    assert built.exit_code == 0, built.output
    (phase,) = json.loads(repo.git("show", "refs/stager/record/feature:record.json"))["phases"]
    repo.git("switch", "-q", "main")
    repo.commit("only keep.py as the phase has it", {"app/keep.py": "KEEP = 2\n"})
    (partly,) = analyze(repo)["merged_phases"]
    assert (partly["state"], partly["missing"]) == (PARTIAL, ["app/old.py"])
    repo.remove("app/old.py")
    repo.commit("and the deletion")
    assert merged(repo) == {phase["number"]: (MERGED, BY_CONTENT)}
    assert changed(repo) == set()


def sg012(repo: GitRepo) -> list[dict[str, Any]]:
    return [f for f in analyze(repo)["findings"] if f["rule"] == "SG012"]


def test_an_edit_to_a_revision_file_the_base_owns_is_a_finding(split: GitRepo) -> None:
    squash_every_phase(split)
    # Head's mixed revision differs from main's contract by design: no finding for that.
    assert sg012(split) == []
    split.git("switch", "-q", "feature")
    path = split.path / MIGRATION
    path.write_text(path.read_text() + "\n# a fix after the merge\n")
    split.commit("edit the merged revision")
    (found,) = sg012(split)
    assert found["path"] == MIGRATION and found["risk"] == "high"
    assert (
        "phase 4" in found["message"]
        and "edited on the branch after the split" in (found["message"])
    )
    assert f"git checkout main -- {MIGRATION}" in found["hint"]
