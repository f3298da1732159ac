"""Real Alembic, offline, over the split branches: the phases run exactly head's SQL.

For phase k, ``alembic upgrade <heads of k-1>:<heads of k> --sql`` (phase 0:
the recorded start); concatenated, they must equal head's ``upgrade
<merge-base heads>:heads --sql``, leaving out ``alembic_version`` and each
run's own BEGIN/COMMIT. Where re-chaining runs an independent revision
earlier, the order cannot be head's: the test names those revisions, and
each revision must still emit head's statements (tests/alembic_offline).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from stager.cli import cli
from stager.demo import DemoRepository
from tests.alembic_offline import check_split_offline
from tests.alembic_offline.revisions import SchemaOp, model_file, revision_file
from tests.commands import test_expand_contract as seed_case
from tests.gitrepo import GitRepo

seed = seed_case.seed
R, R_E = seed_case.R, seed_case.R_E
VERSIONS = "migrations/versions"


def stager(path: Path, *args: str) -> Any:
    return CliRunner().invoke(cli, ["-C", str(path), *args])


def split_all(path: Path, *args: str) -> dict[str, str]:
    """``split --all``; the plan's expand revisions, mapped to the revision each came from."""
    plan = stager(path, "plan", "--format", "json")
    assert plan.exit_code == 0, plan.output
    built = stager(path, "split", "--all", *args)
    assert built.exit_code == 0, built.output
    splits: list[dict[str, Any]] = json.loads(plan.stdout).get("splits", [])
    return {split["expand_revision"]: split["revision"] for split in splits}


@pytest.mark.parametrize("strategy", ["auto", "patch", "cherry-pick"])
def test_the_seeds_phases_run_heads_sql_in_heads_order(
    seed: GitRepo, tmp_path: Path, strategy: str
) -> None:
    origins = split_all(seed.path, "--base", "main", "--strategy", strategy)
    assert origins == {R_E: R}
    check = check_split_offline(seed, tmp_path / "trees", origins=origins)
    check.assert_same_sql()
    # the split really happened: the JSONB column in phase 1, the drops last
    first, *_, last = check.phases
    assert [s.revision for s in first.sections] == [R_E]
    assert first.sections[0].statements == (
        "ALTER TABLE compliance_report_summary ADD COLUMN historical_snapshot JSONB;",
    )
    assert [s.revision for s in last.sections] == [R]
    assert last.sections[0].statements[-1] == (
        "ALTER TABLE compliance_report_summary DROP COLUMN credits_offset_c;"
    )


def test_a_phase_that_runs_other_sql_fails_the_check(seed: GitRepo, tmp_path: Path) -> None:
    origins = split_all(seed.path, "--base", "main")
    last = seed_case.branch_of(seed, 4)
    contract = seed.git("show", f"{last}:{seed_case.MIGRATION}")
    seed.git("switch", "-q", last)
    seed.commit(
        "drop one more",
        {
            seed_case.MIGRATION: contract.replace(
                "def upgrade() -> None:\n",
                "def upgrade() -> None:\n    op.drop_column('compliance_report_summary', 'x')\n",
                1,
            )
        },
    )
    seed.git("switch", "-q", "feature")
    check = check_split_offline(seed, tmp_path / "trees", origins=origins)
    assert not check.exact
    assert list(check.by_revision) == [R]
    with pytest.raises(AssertionError):
        check.assert_same_sql()


STABLE = [f"figure_{n}" for n in range(8)]  # keeps the two model changes in two hunks
ACCOUNT = [
    SchemaOp("create_table", "account", "figure_0"),
    *(SchemaOp("add_column", "account", column) for column in [*STABLE[1:], "legacy_total"]),
    SchemaOp("create_index", "account", "ix_account_legacy", "legacy_total"),
]
MODEL = "backend/app/models/account.py"
SERVICE = "backend/app/services/account_service.py"


def revision(number: int, ops: list[SchemaOp]) -> dict[str, str]:
    """The revision file ``00000000000<number>``, chained onto the one before it."""
    rev, parent = f"{number:012x}", f"{number - 1:012x}" if number > 1 else None
    return {f"{VERSIONS}/{rev}_step.py": revision_file(rev, parent, ops, f"step {number}")}


@pytest.fixture
def rechained(repo: GitRepo) -> GitRepo:
    """A table; the branch adds a table, swaps a column its code uses, adds an index.

    The swap's revision adds ``credit_total`` and drops ``legacy_total``, and
    the model and the service move from one to the other, so stager splits it:
    the chain base -> 2 -> 3 -> 4 becomes 2, 3's expand part and 4 early, 3 last.
    """
    repo.commit(
        "base",
        {
            "alembic.ini": "[alembic]\nscript_location = migrations\n",
            **revision(1, ACCOUNT),
            MODEL: model_file("account", [*STABLE, "legacy_total"]),
            SERVICE: "def total(account):\n    return account.legacy_total\n",
        },
    )
    repo.checkout("-b", "feature")
    repo.commit("audit table", revision(2, [SchemaOp("create_table", "audit", "note")]))
    repo.commit(
        "credit_total instead of legacy_total",
        {
            **revision(
                3,
                [
                    SchemaOp("add_column", "account", "credit_total"),
                    SchemaOp("drop_index", "account", "ix_account_legacy", "legacy_total"),
                    SchemaOp("drop_column", "account", "legacy_total"),
                ],
            ),
            MODEL: model_file("account", ["credit_total", *STABLE]),
            SERVICE: "def total(account):\n    return account.credit_total\n",
        },
    )
    repo.commit(
        "index b", revision(4, [SchemaOp("create_index", "account", "ix_account_b", "figure_1")])
    )
    return repo


def test_rechained_revisions_each_run_heads_sql_and_the_moved_ones_are_named(
    rechained: GitRepo, tmp_path: Path
) -> None:
    origins = split_all(rechained.path, "--base", "main")
    check = check_split_offline(rechained, tmp_path / "trees", origins=origins)
    check.assert_same_sql(reordered=["000000000003", "000000000004"])


ASKS = "9f8e7d6c5b4a"
ASKING_REVISION = f'''"""audit table, unless an older deploy made it

Revision ID: {ASKS}
Revises: {R}
Create Date: 2024-03-06 10:00:00

"""
from alembic import op
import sqlalchemy as sa

revision = '{ASKS}'
down_revision = '{R}'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if not sa.inspect(op.get_bind()).has_table('audit'):
        op.create_table('audit', sa.Column('id', sa.Integer(), primary_key=True))


def downgrade() -> None:
    op.drop_table('audit')
'''


def test_a_revision_that_asks_the_database_is_reported_not_checked(
    seed: GitRepo, tmp_path: Path
) -> None:
    seed.commit("audit table", {f"{VERSIONS}/{ASKS}_audit.py": ASKING_REVISION})
    origins = split_all(seed.path, "--base", "main")
    check = check_split_offline(seed, tmp_path / "trees", origins=origins)
    check.assert_same_sql(not_checked=[ASKS])
    assert check.not_checked[ASKS] == (
        f"{ASKS} on head: asks the database: "
        "get_bind() on line 18, has_table() on line 18, inspect() on line 18"
    )
    # it ran in both histories, but none of its SQL is compared
    assert check.head.heads == (ASKS,)
    assert ASKS in {head for run in check.phases for head in run.heads}
    assert not [s for s in check.head_statements if "audit" in s]


REFUSES = "0f1e2d3c4b5a"


def test_a_revision_that_fails_offline_is_reported_not_checked(
    seed: GitRepo, tmp_path: Path
) -> None:
    """No get_bind() to see: the revision refuses offline mode, and says so by failing."""
    refusing = (
        ASKING_REVISION.replace(ASKS, REFUSES)
        .replace("from alembic import op\n", "from alembic import context, op\n")
        .replace(
            "    if not sa.inspect(op.get_bind()).has_table('audit'):\n        op.create_table(",
            "    if context.is_offline_mode():\n"
            "        raise RuntimeError('run this one against the database')\n"
            "    op.create_table(",
        )
    )
    seed.commit("audit table", {f"{VERSIONS}/{REFUSES}_audit.py": refusing})
    origins = split_all(seed.path, "--base", "main")
    check = check_split_offline(seed, tmp_path / "trees", origins=origins)
    check.assert_same_sql(not_checked=[REFUSES])
    assert check.not_checked[REFUSES] == (
        f"{REFUSES} on head: fails offline: RuntimeError('run this one against the database')"
    )


def test_the_demos_phases_run_heads_sql(
    demo: DemoRepository, tmp_path: Path, git_env: dict[str, str]
) -> None:
    origins = split_all(demo.path)
    check = check_split_offline(
        GitRepo(demo.path, git_env),
        tmp_path / "trees",
        branch=demo.head_branch,
        config="backend/alembic.ini",
        origins=origins,
    )
    check.assert_same_sql()
    assert len(check.head.sections) >= 8, check.explain()  # every branch revision emits SQL
