"""A rebuild after phases were merged writes what the base already ran as the record has it,
never head's version: on the expand/contract seed, phase 4 stays the contract part once
phases 1 (the expand revision) and 3 (the code that needed it early) are squash-merged."""

from __future__ import annotations

import json

from tests.branches.test_merged import split, squash
from tests.commands.test_expand_contract import MIGRATION, R_E, branch_of, seed, stager
from tests.gitrepo import GitRepo

__all__ = ["seed", "split"]  # the fixtures, imported for pytest


def resplit(repo: GitRepo) -> dict[str, object]:
    built = stager(
        repo, "split", "--base", "main", "--head", "feature", "--all", "--force", "--format", "json"
    )
    assert built.exit_code == 0, built.output
    document: dict[str, object] = json.loads(built.stdout)
    return document


def test_the_contract_phase_is_not_given_heads_mixed_revision_again(split: GitRepo) -> None:
    contract_before = split.git("show", f"{branch_of(split, 4)}:{MIGRATION}")
    squash(split, 1)
    squash(split, 3)
    resplit(split)
    shipped = split.git("show", f"{branch_of(split, 4)}:{MIGRATION}")
    # R_e, on main, already added the column: the phase must not add it a second time.
    assert "add_column('compliance_report_summary', sa.Column('historical_snapshot'" not in shipped
    assert shipped == contract_before  # main's head is R_e still: the same parents too
    record = json.loads(split.git("show", "refs/stager/record/feature:record.json"))
    (phase,) = record["phases"]
    (rewrite,) = phase["rewrites"]
    assert (rewrite["path"], rewrite["reason"], rewrite["new_parents"]) == (
        MIGRATION,
        "contract",
        [R_E],
    )
    # The base plus the phase: one Alembic head, the contract on R_e.
    squash(split, 4)
    assert split.git("show", f"main:{MIGRATION}") == contract_before


def test_a_mixed_revision_edited_after_its_expand_part_merged_stops_the_rebuild(
    split: GitRepo,
) -> None:
    squash(split, 1)
    squash(split, 3)
    split.git("switch", "-q", "feature")
    source = (split.path / MIGRATION).read_text()
    split.commit("edit", {MIGRATION: source.replace("# the last one too", "# and the last")})
    split.git("switch", "-q", "main")
    before = split.git("for-each-ref")
    built = stager(split, "split", "--base", "main", "--head", "feature", "--all", "--force")
    assert built.exit_code == 1
    shown = " ".join(built.output.split())
    assert f"{MIGRATION} changed on feature since the split that built its expand part" in shown
    assert split.git("for-each-ref") == before


def test_an_edit_to_a_revision_file_the_base_ran_stops_the_rebuild(split: GitRepo) -> None:
    for number in (1, 3, 4):
        squash(split, number)
    split.git("switch", "-q", "feature")
    source = (split.path / MIGRATION).read_text()
    split.commit("edit", {MIGRATION: source.replace("# the last one too", "# and the last")})
    split.git("switch", "-q", "main")
    before = split.git("for-each-ref")
    built = stager(split, "split", "--base", "main", "--head", "feature", "--all", "--force")
    assert built.exit_code == 1
    shown = " ".join(built.output.split())
    assert f"{MIGRATION}: a merged phase put it on the base, and feature changed it since" in shown
    assert "a revision the base ran is never rewritten; nothing was written" in shown
    assert split.git("for-each-ref") == before
