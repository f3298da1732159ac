"""When the plan must not split a mixed migration, and when it repeats its data step early.

The seed's case (tests/commands/test_expand_contract.py) with one thing
changed each time: a revision that lands between the expand revision R_e and
the contract R and touches what R drops or R_e creates, a backfill in the
mixed migration that code shipped before the contract reads, a rename. Each
split that is refused keeps R whole with SP004 saying why, and SP001 as before.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.commands.test_expand_contract import (
    ETL,
    MIGRATION,
    MODEL,
    SERVICE,
    R,
    plan_json,
    stager,
    text,
)
from tests.gitrepo import GitRepo

BASE = "1a2b3c4d5e6f"
X = "2b3c4d5e6f7a"
X_PATH = f"migrations/versions/{X}_between.py"
TABLE = "compliance_report_summary"
ADD = (
    f"    op.add_column('{TABLE}', sa.Column('historical_snapshot', "
    "postgresql.JSONB(astext_type=sa.Text()), nullable=True))\n"
)


def revision(revision_id: str, parent: str, upgrade: str, downgrade: str = "    pass\n") -> str:
    return (
        f'"""between\n\nRevision ID: {revision_id}\nRevises: {parent}\n'
        'Create Date: 2024-02-01 09:00:00.000000\n\n"""\n'
        "from alembic import op\nimport sqlalchemy as sa\n\n"
        f"revision = '{revision_id}'\ndown_revision = '{parent}'\n"
        "branch_labels = None\ndepends_on = None\n\n\n"
        f"def upgrade() -> None:\n{upgrade}\n\ndef downgrade() -> None:\n{downgrade}"
    )


def mixed(*, after_add: str = "", parent: str = BASE, downgrade_extra: str = "") -> str:
    """The seed's mixed migration, with lines after its add_column and a parent of choice."""
    source = text("54d55e878dad_mixed.py.txt").replace(ADD, ADD + after_add, 1)
    source = source.replace(f"Revises: {BASE}", f"Revises: {parent}")
    source = source.replace(f"= '{BASE}'", f"= '{parent}'")
    marker = "    op.drop_column('compliance_report_summary', 'historical_snapshot')\n"
    return source.replace(marker, downgrade_extra + marker, 1)


def build(
    repo: GitRepo,
    migration: str,
    extra: dict[str, str] | None = None,
    base_extra: dict[str, str] | None = None,
) -> GitRepo:
    """The seed's repository with ``migration`` as the mixed revision (and ``extra`` files)."""
    base = text("1a2b3c4d5e6f_base.py.txt").replace(
        "    )\n",
        f"    )\n    op.create_index('ix_summary_payable', '{TABLE}', ['total_payable'])\n",
        1,
    )
    repo.commit(
        "base",
        {
            "alembic.ini": "[alembic]\nscript_location = migrations\n",
            f"migrations/versions/{BASE}_create_summary.py": base,
            MODEL: text("model_base.py.txt"),
            SERVICE: text("service_base.py.txt"),
            ETL: text("etl_base.py.txt"),
            **(base_extra or {}),
        },
    )
    repo.checkout("-b", "feature")
    repo.commit(
        "historical snapshot instead of the offsets",
        {
            MIGRATION: migration,
            MODEL: text("model_head.py.txt"),
            SERVICE: text("service_head.py.txt"),
            ETL: text("etl_head.py.txt"),
            **(extra or {}),
        },
    )
    return repo


def findings(plan: dict[str, Any], rule: str) -> list[dict[str, Any]]:
    return [f for f in plan["findings"] if f["rule"] == rule]


def kept_whole(plan: dict[str, Any]) -> str:
    """The SP004 message on the mixed migration, checking that nothing was split."""
    assert not plan["splits"]
    (finding,) = findings(plan, "SP004")
    assert finding["path"] == MIGRATION
    assert [f["path"] for f in findings(plan, "SP001")] == [MIGRATION]
    message: str = finding["message"]
    assert message.startswith(f"mixed migration {R} kept whole: ")
    return message


@pytest.mark.parametrize(
    ("upgrade", "phase"),
    [
        (f"    op.add_column('{TABLE}', sa.Column('credits_offset_a', sa.BigInteger()))\n", 1),
        (f'    op.execute("ALTER TABLE {TABLE} ADD COLUMN credits_offset_a bigint")\n', 1),
        (f'    op.execute("UPDATE {TABLE} SET total_payable = 0 WHERE credits_offset_a > 0")\n', 2),
    ],
    ids=["add-column", "add-column-in-sql", "reads-it-in-sql"],
)
def test_a_revision_between_the_parts_that_touches_a_dropped_column_keeps_it_whole(
    repo: GitRepo, upgrade: str, phase: int
) -> None:
    """On the branch X runs after R, when the column is gone; between R_e and R it is there."""
    plan = plan_json(build(repo, mixed(), {X_PATH: revision(X, R, upgrade)}))
    message = kept_whole(plan)
    assert [p["number"] for p in plan["phases"] for m in p["migrations"] if m["revision"] == X] == [
        phase
    ]
    assert (
        f"revision {X} ({X_PATH}) would run between its expand revision (phase 1) and its "
        f"contract (phase 4), and it touches column {TABLE}.credits_offset_a, which {R} drops"
    ) in message
    (finding,) = findings(plan, "SP004")
    assert finding["line"] == 24  # R's drop of that column


def test_a_revision_between_the_parts_that_drops_what_the_expand_part_creates_keeps_it_whole(
    repo: GitRepo,
) -> None:
    """On the branch X drops the constraint before R adds it again; R_e would now add it first.

    X also deletes rows, so the default rules plan it in the data phase, after R_e.
    """
    name = "fk_summary_report"
    drop = revision(
        X,
        BASE,
        f"    op.drop_constraint('{name}', '{TABLE}', type_='foreignkey')\n"
        '    op.execute("DELETE FROM compliance_report WHERE legacy")\n',
    )
    migration = mixed(
        parent=X,
        after_add=f"    op.create_foreign_key('{name}', '{TABLE}', 'compliance_report', "
        "['compliance_report_id'], ['compliance_report_id'], postgresql_not_valid=True)\n",
        downgrade_extra=f"    op.drop_constraint('{name}', '{TABLE}', type_='foreignkey')\n",
    )
    plan = plan_json(build(repo, migration, {X_PATH: drop}))
    message = kept_whole(plan)
    assert (
        f"revision {X} ({X_PATH}) would run between its expand revision (phase 1) and its "
        f"contract (phase 4), and it touches constraint {name}, which the expand "
        f"revision creates: on the branch {X} runs before {R}"
    ) in message


def test_a_revision_between_the_parts_that_touches_neither_keeps_the_split(repo: GitRepo) -> None:
    other = revision(X, BASE, '    op.execute("UPDATE other SET n = 1 WHERE n IS NULL")\n')
    plan = plan_json(build(repo, mixed(parent=X), {X_PATH: other}))
    assert [split["revision"] for split in plan["splits"]] == [R]
    assert not findings(plan, "SP004")


GUARDED = (
    f'    op.execute("UPDATE {TABLE} SET historical_snapshot = '
    "jsonb_build_object('a', credits_offset_a) WHERE historical_snapshot IS NULL\")\n"
)


def test_a_backfill_that_early_code_reads_is_repeated_in_the_expand_revision(
    repo: GitRepo,
) -> None:
    seeded = build(repo, mixed(after_add=GUARDED))
    plan = plan_json(seeded)
    (split,) = plan["splits"]
    assert [op["name"] for op in split["expand_operations"] if op["function"] == "upgrade"] == [
        "add_column",
        "execute",
    ]
    assert [op["name"] for op in split["contract_operations"] if op["function"] == "upgrade"] == [
        "execute",
        "drop_column",
        "drop_column",
        "drop_column",
    ]
    assert f"{SERVICE}" in split["reason"]
    assert "repeated in the expand revision" in split["reason"]
    assert not findings(plan, "SP004") and not findings(plan, "SP001")
    built = stager(seeded, "split", "--base", "main", "--all")
    assert built.exit_code == 0, built.output
    verified = stager(seeded, "verify", "--base", "main")
    assert verified.exit_code == 0, verified.output


def test_a_backfill_that_early_code_reads_and_is_not_idempotent_keeps_it_whole(
    repo: GitRepo,
) -> None:
    unguarded = GUARDED.replace(" WHERE historical_snapshot IS NULL", "")
    plan = plan_json(build(repo, mixed(after_add=unguarded)))
    message = kept_whole(plan)
    assert f"{SERVICE}, in phase 3 before the contract (phase 4), reads " in message
    assert "the UPDATE at line 24 is not guarded" in message
    assert "UPDATE … WHERE <the column it sets> IS NULL" in message


def test_a_backfill_no_early_code_reads_stays_in_the_contract_only(repo: GitRepo) -> None:
    """Only a test reads the column before the contract: tests are never deployed."""
    unguarded = GUARDED.replace(" WHERE historical_snapshot IS NULL", "")
    quiet_service = text("service_head.py.txt").replace("summary.historical_snapshot", "{}")
    a_test = "def test_snapshot(summary):\n    assert summary.historical_snapshot == {}\n"
    plan = plan_json(
        build(
            repo,
            mixed(after_add=unguarded),
            {SERVICE: quiet_service, "backend/tests/test_summary_service.py": a_test},
        )
    )
    (split,) = plan["splits"]
    assert [op["name"] for op in split["expand_operations"] if op["function"] == "upgrade"] == [
        "add_column"
    ]
    assert not findings(plan, "SP004")


UNDO_RENAME = f"    op.alter_column('{TABLE}', 'payable', new_column_name='total_payable')\n"


def test_a_rename_in_the_mixed_migration_keeps_it_whole_and_points_to_add_copy_drop(
    repo: GitRepo,
) -> None:
    rename = f"    op.alter_column('{TABLE}', 'total_payable', new_column_name='payable')\n"
    plan = plan_json(
        build(
            repo,
            mixed(
                after_add=rename,
                downgrade_extra=UNDO_RENAME,
            ),
        )
    )
    message = kept_whole(plan)
    assert f"op.alter_column('{TABLE}', 'total_payable') renames: write it as add-copy-drop" in (
        message
    )
    assert "backfill it from the old one, switch the code to it, then drop the old one" in message


def test_a_phase_contract_naming_a_migration_that_cannot_split_reports_why(
    repo: GitRepo,
) -> None:
    rename = f"    op.alter_column('{TABLE}', 'total_payable', new_column_name='payable')\n"
    rules = (
        'extends = "default"\n[split]\nexpand_contract = false\n\n[[phase]]\n'
        'name = "etl-and-contract"\ntitle = "ETL and contract"\n'
        'categories = ["etl-and-scripts", "migration-destructive"]\n'
        f'contract = ["{R}"]\n'
    )
    migration = mixed(
        after_add=rename,
        downgrade_extra=UNDO_RENAME,
    )
    plan = plan_json(build(repo, migration, {".stager/rules.toml": rules}))
    assert "renames: write it as add-copy-drop" in kept_whole(plan)


def test_no_phase_after_the_last_code_that_stops_using_the_columns_keeps_it_whole(
    repo: GitRepo,
) -> None:
    """The ETL (last phase) stops writing an offset too: no phase is left for the contract."""
    etl = text("etl_base.py.txt") + '    summary.credits_offset_a = row["a"]\n'
    plan = plan_json(build(repo, mixed(), base_extra={ETL: etl}))
    assert not plan["splits"]
    (finding,) = findings(plan, "SP004")
    assert finding["message"] == (
        f"mixed migration {R} kept whole: no phase is left after the code that stops using "
        "what it drops, for its contract part"
    )


def test_a_revision_after_it_that_reads_what_its_data_step_fills_needs_the_step_early(
    repo: GitRepo,
) -> None:
    """On the branch X runs after R's backfill; between R_e and R it would read empty values."""
    unguarded = GUARDED.replace(" WHERE historical_snapshot IS NULL", "")
    reader = revision(
        X,
        R,
        f'    op.execute("UPDATE {TABLE} SET total_payable = 0 '
        "WHERE historical_snapshot ->> 'a' = '0'\")\n",
    )
    plan = plan_json(build(repo, mixed(after_add=unguarded), {X_PATH: reader}))
    message = kept_whole(plan)
    assert f"{X_PATH}, in phase 2 before the contract (phase 4), reads column {TABLE}." in message
    assert "the UPDATE at line 24 is not guarded" in message


def test_a_reader_that_already_named_the_word_for_another_table_still_reads_it_early(
    repo: GitRepo,
) -> None:
    """Moving from ``UserCustomer.user_id`` to ``Customer.user_id`` (polarsource/polar)."""
    unguarded = GUARDED.replace(" WHERE historical_snapshot IS NULL", "")
    other_table = 'ARCHIVE_COLUMNS = ("historical_snapshot",)  # the archive table has one\n'
    plan = plan_json(
        build(
            repo,
            mixed(after_add=unguarded),
            {SERVICE: other_table + text("service_head.py.txt")},
            {SERVICE: other_table + text("service_base.py.txt")},
        )
    )
    message = kept_whole(plan)
    assert f"{SERVICE}, in phase 3 before the contract (phase 4), reads " in message
