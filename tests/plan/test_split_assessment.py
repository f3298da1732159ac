"""What a phase's judgement says of the expand/contract parts it ships: the rollback's words."""

from __future__ import annotations

import pytest

from stager.plan.split_assessment import ContractPart, contract_rollback, restores_what
from stager.types import RepoPath, Revision


def contract(revision: str, *dropped: str) -> ContractPart:
    return ContractPart(
        revision=Revision(revision),
        path=RepoPath(f"versions/{revision}.py"),
        dropped=dropped,
        tables=tuple(dict.fromkeys(name.split(".")[0] for name in dropped)),
        expand_revision=Revision(f"{revision}e"),
        expand_path=RepoPath(f"versions/{revision}e.py"),
        expand_phase=1,
    )


@pytest.mark.parametrize(
    ("dropped", "restored"),
    [
        (("summary.a", "summary.b"), "the columns"),
        (("legacy",), "the tables"),
        (("summary.a", "legacy"), "the columns and tables"),
    ],
)
def test_the_downgrade_restores_what_the_contract_dropped(
    dropped: tuple[str, ...], restored: str
) -> None:
    assert restores_what(dropped) == restored
    assert contract("r1", *dropped).restores == restored


def test_the_rollback_names_every_contract_revision_and_each_table_once() -> None:
    text = contract_rollback([contract("r1", "summary.a", "summary.b"), contract("r2", "legacy")])
    assert text == (
        "the downgrade of `r1`, `r2` restores the columns and tables, not their values — "
        "restore `summary`, `legacy` from the backup taken before this phase"
    )
