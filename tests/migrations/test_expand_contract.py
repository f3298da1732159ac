"""stager.migrations.expand_contract: a mixed revision cut in two, or kept whole with the reason."""

from __future__ import annotations

import datetime
import hashlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stager.migrations.ec_classify import Side, classify
from stager.migrations.expand_contract import (
    ExpandContract,
    KeptWhole,
    expand_filename,
    expand_revision_id,
    plan_split,
)
from stager.migrations.parse import parse_migration
from stager.migrations.revision_files import MigrationFile, Operation
from stager.types import RepoPath, Revision, Sha
from tests.examples import examples

R = Revision("54d55e878dad")
PATH = RepoPath("alembic/versions/54d55e878dad_add_historical_snapshot.py")
T = "compliance_report_summary"

HEADER = '''"""add historical snapshot, drop credits offsets

Revision ID: 54d55e878dad
Revises: 1a2b3c4d5e6f
Create Date: 2024-03-05 10:11:12.123456

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = '54d55e878dad'
down_revision: Union[str, None] = '1a2b3c4d5e6f'
branch_labels: Union[str, Sequence[str], None] = ('reports',)
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
'''


def revision_file(upgrade: str, downgrade: str) -> str:
    return f"{HEADER}{upgrade}\n\ndef downgrade() -> None:\n{downgrade}"


# The seed's mixed migration, as autogenerate writes it (long lines), with a
# multi-line drop and comments added to check what moves with a statement.
SEED = (Path(__file__).parent / "revisions" / "54d55e878dad_mixed.py.txt").read_text()


def read(text: str | bytes, path: RepoPath = PATH) -> MigrationFile:
    data = text.encode() if isinstance(text, str) else text
    return parse_migration(path, Sha("0" * 40), data)


def split(text: str, **options: object) -> ExpandContract | KeptWhole:
    return plan_split(read(text), text.encode(), taken_ids=set(), **options)  # type: ignore[arg-type]


def done(text: str, **options: object) -> ExpandContract:
    result = split(text, **options)
    assert isinstance(result, ExpandContract), result
    return result


def kept(text: str, **options: object) -> KeptWhole:
    result = split(text, **options)
    assert isinstance(result, KeptWhole), result
    return result


def shape(operation: Operation) -> tuple[str, str, str | None, tuple[str, ...], str | None]:
    return operation.name, operation.function, operation.table, operation.columns, operation.sql


def shapes(operations: tuple[Operation, ...]) -> list[tuple[object, ...]]:
    return [shape(operation) for operation in operations]


def test_the_seed_migration_splits_into_expand_and_contract() -> None:
    result = done(SEED)
    expand, contract = read(result.expand_source, result.expand_path), read(result.contract_source)
    compile(result.expand_source, "expand", "exec")
    compile(result.contract_source, "contract", "exec")
    assert shapes(expand.operations) == [
        ("add_column", "upgrade", T, ("historical_snapshot",), None),
        ("drop_column", "downgrade", T, ("historical_snapshot",), None),
    ]
    assert shapes(contract.operations) == [
        ("drop_column", "upgrade", T, ("credits_offset_a",), None),
        ("drop_column", "upgrade", T, ("credits_offset_b",), None),
        ("drop_column", "upgrade", T, ("credits_offset_c",), None),
        ("add_column", "downgrade", T, ("credits_offset_c",), None),
        ("add_column", "downgrade", T, ("credits_offset_b",), None),
        ("add_column", "downgrade", T, ("credits_offset_a",), None),
    ]
    # identifiers: R_e takes R's parent, R revises R_e, labels stay with R
    new = hashlib.sha1(f"{R}:expand".encode()).hexdigest()[:12]
    assert result.expand_revision == expand.revision == new
    assert expand.down_revisions == ("1a2b3c4d5e6f",) == result.expand_parents
    assert expand.branch_labels == ()
    assert expand.title == f"Expand part of {R}: add historical snapshot, drop credits offsets"
    assert expand.revises == ("1a2b3c4d5e6f",)
    assert f"Revision ID: {new}\n" in result.expand_source.decode()
    assert "Create Date: 2024-03-05 10:11:12.123456\n" in result.expand_source.decode()
    assert contract.revision == R
    assert contract.down_revisions == (new,) and contract.revises == (new,)
    assert contract.branch_labels == ("reports",)
    assert result.dropped == tuple(("column", T, f"credits_offset_{c}") for c in "abc")


def test_parts_hold_exactly_the_original_operations_in_order() -> None:
    result = done(SEED)
    original = read(SEED).operations
    both = result.expand_operations + result.contract_operations
    assert sorted(both, key=lambda op: op.line) == list(original)
    for part in (result.expand_operations, result.contract_operations):
        assert list(part) == sorted(part, key=lambda op: (op.function != "upgrade", op.line))
    # what each file reads back as is what the result says it holds
    assert shapes(read(result.expand_source).operations) == shapes(result.expand_operations)
    assert shapes(read(result.contract_source).operations) == shapes(result.contract_operations)


def test_untouched_lines_keep_their_bytes() -> None:
    result = done(SEED)
    original = SEED.splitlines(keepends=True)
    contract = result.contract_source.decode().splitlines(keepends=True)
    expand = result.expand_source.decode().splitlines(keepends=True)
    changed = {"Revises: 1a2b3c4d5e6f\n", "down_revision: Union[str, None] = '1a2b3c4d5e6f'\n"}
    assert {line for line in contract if line not in original} == {
        line.replace("1a2b3c4d5e6f", result.expand_revision) for line in changed
    }
    assert {line for line in expand if line not in original} == {
        f'"""Expand part of {R}: add historical snapshot, drop credits offsets\n',
        f"Revision ID: {result.expand_revision}\n",
        f"revision: str = '{result.expand_revision}'\n",
        "branch_labels: Union[str, Sequence[str], None] = None\n",
    }
    # the multi-line drop moved whole, with its comment line and its inline comment
    assert "    # the last one too\n" in contract and "    # the last one too\n" not in expand
    assert f"        '{T}',  # keep this comment\n" in contract
    # alembic's markers stay in both
    for part in (contract, expand):
        assert part.count("    # ### end Alembic commands ###\n") == 2


def test_expand_parents_given_by_the_caller() -> None:
    result = done(SEED, expand_parents=(Revision("cafe"), Revision("babe")))
    assert read(result.expand_source).down_revisions == ("cafe", "babe")


@pytest.mark.parametrize(
    ("upgrade", "downgrade", "reason"),
    [
        (
            "    op.add_column('t', sa.Column('n', sa.Text()))\n"
            "    op.alter_column('t', 'a', new_column_name='b')\n",
            "    op.alter_column('t', 'b', new_column_name='a')\n    op.drop_column('t', 'n')\n",
            "add-copy-drop",
        ),
        (
            "    op.add_column('t', sa.Column('n', sa.Text()))\n"
            "    op.alter_column('t', 'a', type_=sa.String(10), existing_type=sa.String(50))\n",
            "    op.alter_column('t', 'a', type_=sa.String(50))\n    op.drop_column('t', 'n')\n",
            "not provably widening",
        ),
        (
            "    op.add_column('t', sa.Column('n', sa.Text()))\n    op.drop_column('t', 'o')\n",
            "    op.drop_column('t', 'n')\n    op.drop_table('other')\n",
            "matches no upgrade operation",
        ),
        (
            "    op.add_column('t', sa.Column('n', sa.Text()))\n    op.drop_column('t', 'o')\n",
            "    op.execute('ALTER TABLE t ADD COLUMN o int; ALTER TABLE t DROP COLUMN n')\n",
            "undoes operations of both",
        ),
        (
            "    op.add_column('t', sa.Column('n', sa.Text()))\n    op.drop_column('t', 'o')\n"
            "    op.execute(build_sql())\n",
            "    pass\n",
            "cannot read",
        ),
        (
            "    op.execute('ALTER TABLE t ADD COLUMN n text; ALTER TABLE t DROP COLUMN o')\n",
            "    pass\n",
            "does both expand and contract",
        ),
        (
            "    op.add_column('t', sa.Column('n', sa.Text())); op.drop_column('t', 'o')\n",
            "    pass\n",
            "shares its line",
        ),
        (
            "    for column in ('o',):\n"
            "        op.add_column('t', sa.Column('n', sa.Text()))\n"
            "        op.drop_column('t', column)\n",
            "    pass\n",
            "holds operations of both parts",
        ),
        (
            "    op.add_column('t', sa.Column('n', sa.Text()))\n    _drop()\n\n\n"
            "def _drop():\n    op.drop_column('t', 'o')\n",
            "    pass\n",
            "helper function",
        ),
        (
            "    op.drop_column('t', 'o')\n    op.add_column('t', sa.Column('o', sa.Text()))\n",
            "    pass\n",
            "both created or widened and dropped",
        ),
        (
            "    op.add_column('t', sa.Column('n', sa.Text(), nullable=False))\n"
            "    op.drop_column('t', 'o')\n",
            "    pass\n",
            "NOT NULL column without a server default",
        ),
        (
            "    op.create_foreign_key('fk', 't', 'u', ['u_id'], ['id'])\n"
            "    op.drop_column('t', 'o')\n",
            "    pass\n",
            "NOT VALID",
        ),
        (
            "    t = op.create_table('t2', sa.Column('id', sa.Integer()))\n"
            "    op.drop_column('t', 'o')\n    op.bulk_insert(t, [{'id': 1}])\n",
            "    op.drop_table('t2')\n",
            "'t' is assigned by an operation of one part",
        ),
    ],
    ids=[
        "rename",
        "narrowing-type",
        "unmatched-downgrade",
        "downgrade-of-both",
        "opaque-sql",
        "mixed-sql-string",
        "shared-line",
        "loop-of-both",
        "helper",
        "same-object-both-sides",
        "not-null-without-default",
        "validated-constraint",
        "name-across-parts",
    ],
)
def test_kept_whole_with_the_reason(upgrade: str, downgrade: str, reason: str) -> None:
    result = kept(revision_file(upgrade, downgrade))
    assert reason in result.reason
    assert result.mixed
    finding = result.finding(PATH)
    assert finding is not None and finding.rule == "SP004"
    assert finding.message.startswith(f"mixed migration {R} kept whole: ")


def upgrade_names(source: bytes) -> list[str]:
    return [op.name for op in read(source).operations if op.function == "upgrade"]


BACKFILL = revision_file(
    "    op.add_column('t', sa.Column('n', sa.Text()))\n"
    '    op.execute("UPDATE t SET n = o WHERE n IS NULL")\n'
    "    op.drop_column('t', 'o')\n",
    "    op.add_column('t', sa.Column('o', sa.Text()))\n    op.drop_column('t', 'n')\n",
)


def test_data_needed_early_and_idempotent_is_repeated_in_the_expand_revision() -> None:
    result = done(BACKFILL, data_needed_early=True)
    assert upgrade_names(result.expand_source) == ["add_column", "execute"]
    assert upgrade_names(result.contract_source) == ["execute", "drop_column"]
    assert [op.sql for op in result.repeated] == ["UPDATE t SET n = o WHERE n IS NULL"]
    compile(result.expand_source, "expand", "exec")
    compile(result.contract_source, "contract", "exec")


def test_a_split_knows_what_its_data_fills_and_its_variant_for_early_data() -> None:
    result = done(BACKFILL)
    assert upgrade_names(result.expand_source) == ["add_column"]
    assert upgrade_names(result.contract_source) == ["execute", "drop_column"]
    assert result.fills == (("column", "t", "n"),)
    assert not result.repeated
    early = result.early_data
    assert isinstance(early, ExpandContract)
    assert upgrade_names(early.expand_source) == ["add_column", "execute"]
    assert early.early_data is None


@pytest.mark.parametrize(
    "statement",
    [
        '    op.execute("UPDATE t SET n = o, m = 1 WHERE x > 0 AND t.n IS NULL")\n',
        '    op.execute("INSERT INTO t (n) SELECT o FROM u ON CONFLICT DO NOTHING")\n',
        '    op.execute("INSERT INTO t (n) SELECT o FROM u WHERE NOT EXISTS '
        '(SELECT 1 FROM t WHERE t.n = u.o)")\n',
        '    op.get_bind().execute(sa.text("UPDATE t SET n = :v WHERE n IS NULL"), {"v": 1})\n',
    ],
    ids=["update-is-null", "on-conflict-do-nothing", "where-not-exists", "get-bind-parameter"],
)
def test_provably_idempotent_data_statements_are_repeated(statement: str) -> None:
    text = revision_file(
        f"    op.add_column('t', sa.Column('n', sa.Text()))\n{statement}"
        "    op.drop_column('t', 'o')\n",
        "    op.add_column('t', sa.Column('o', sa.Text()))\n    op.drop_column('t', 'n')\n",
    )
    result = done(text, data_needed_early=True)
    assert len(result.repeated) == 1
    assert len(upgrade_names(result.expand_source)) == 2


@pytest.mark.parametrize(
    ("statement", "why"),
    [
        ('    op.execute("UPDATE t SET n = o")\n', "the UPDATE at line 23 is not guarded"),
        (
            '    op.execute("UPDATE t SET n = o WHERE o IS NULL")\n',
            "the UPDATE at line 23 is not guarded",
        ),
        (
            '    op.execute("UPDATE t SET n = o WHERE n IS NULL OR o > 1")\n',
            "the UPDATE at line 23 is not guarded",
        ),
        (
            '    op.execute("INSERT INTO t (n) VALUES (1)")\n',
            "the INSERT at line 23 is not guarded",
        ),
        (
            "    op.bulk_insert(sa.table('t', sa.column('n')), [{'n': 'x'}])\n",
            "op.bulk_insert at line 23 inserts its rows again on a second run",
        ),
        ("    op.get_bind().execute(make_sql())\n", "the SQL at line 23 is built at run time"),
        ('    op.execute("DELETE FROM t WHERE n = 1")\n', "the DELETE at line 23 is not a guarded"),
    ],
    ids=["no-where", "guards-another-column", "or", "insert", "bulk-insert", "built", "delete"],
)
def test_data_needed_early_that_is_not_idempotent_keeps_it_whole(statement: str, why: str) -> None:
    text = revision_file(
        f"    op.add_column('t', sa.Column('n', sa.Text()))\n{statement}"
        "    op.drop_column('t', 'o')\n",
        "    op.add_column('t', sa.Column('o', sa.Text()))\n    op.drop_column('t', 'n')\n",
    )
    result = kept(text, data_needed_early=True)
    assert result.line == 23
    assert result.reason.startswith(
        "the data statement at line 23 fills column t.n, which code shipped before the "
        "contract reads: it would have to run in the expand revision too, so twice, and "
    )
    assert why in result.reason
    assert "UPDATE … WHERE <the column it sets> IS NULL" in result.reason
    early = done(text).early_data
    assert isinstance(early, KeptWhole) and early.reason == result.reason


def test_data_that_fills_nothing_the_expand_part_creates_is_never_repeated() -> None:
    text = revision_file(
        "    op.add_column('t', sa.Column('n', sa.Text()))\n"
        '    op.execute("UPDATE u SET o = 0")\n'
        "    op.drop_column('t', 'o')\n",
        "    op.add_column('t', sa.Column('o', sa.Text()))\n    op.drop_column('t', 'n')\n",
    )
    result = done(text, data_needed_early=True)
    assert not result.fills and not result.repeated and result.early_data is None
    assert upgrade_names(result.expand_source) == ["add_column"]


@pytest.mark.parametrize(
    ("change", "written"),
    [
        ("    op.rename_table('t', 't2')\n", "op.rename_table('t')"),
        ("    op.alter_column('t', 'a', new_column_name='b')\n", "op.alter_column('t', 'a')"),
        ('    op.execute("ALTER TABLE t RENAME COLUMN a TO b")\n', "ALTER TABLE t RENAME COLUMN"),
        ("    op.execute(\"ALTER TYPE e RENAME VALUE 'x' TO 'y'\")\n", "ALTER TYPE e RENAME VALUE"),
        (
            "    op.alter_column('t', 'a', type_=sa.SmallInteger(), existing_type=sa.Integer())\n",
            "op.alter_column('t', 'a')",
        ),
        (
            "    op.alter_column('t', 'a', type_=sa.Integer(), existing_type=sa.String(10))\n",
            "op.alter_column('t', 'a')",
        ),
        ("    op.alter_column('t', 'a', type_=sa.BigInteger())\n", "op.alter_column('t', 'a')"),
        ('    op.execute("ALTER TABLE t ALTER COLUMN a TYPE bigint")\n', "ALTER TABLE t ALTER"),
    ],
    ids=[
        "rename-table",
        "rename-column",
        "rename-column-sql",
        "rename-enum-value",
        "int-to-smallint",
        "varchar-to-int",
        "no-existing-type",
        "type-in-sql",
    ],
)
def test_renames_and_unproven_type_changes_point_to_add_copy_drop(
    change: str, written: str
) -> None:
    text = revision_file(
        f"    op.add_column('t', sa.Column('n', sa.Text()))\n{change}",
        "    op.drop_column('t', 'n')\n",
    )
    result = kept(text)
    assert result.line == 23
    assert result.reason.startswith(written)
    assert result.reason.endswith(
        "write it as add-copy-drop: add the new column or table (expand), backfill it from the "
        "old one, switch the code to it, then drop the old one (contract)"
    )


def test_a_migration_that_is_not_mixed_is_no_finding() -> None:
    result = kept(
        revision_file("    op.add_column('t', sa.Column('n', sa.Text()))\n", "    pass\n")
    )
    assert not result.mixed and result.finding(PATH) is None


def test_widening_type_changes_are_expand() -> None:
    text = revision_file(
        "    op.alter_column('t', 'a', type_=sa.BigInteger(), existing_type=sa.Integer())\n"
        "    op.alter_column('t', 'b', type_=sa.String(100), existing_type=sa.String(50))\n"
        "    op.alter_column('t', 'c', type_=sa.Text(), existing_type=sa.String(50))\n"
        "    op.drop_column('t', 'o')\n",
        "    op.add_column('t', sa.Column('o', sa.Text()))\n"
        "    op.alter_column('t', 'c', type_=sa.String(50))\n"
        "    op.alter_column('t', 'b', type_=sa.String(50))\n"
        "    op.alter_column('t', 'a', type_=sa.Integer())\n",
    )
    result = done(text)
    expand = read(result.expand_source)
    assert [(op.function, op.columns) for op in expand.operations] == [
        ("upgrade", ("a",)),
        ("upgrade", ("b",)),
        ("upgrade", ("c",)),
        ("downgrade", ("c",)),
        ("downgrade", ("b",)),
        ("downgrade", ("a",)),
    ]


def test_batch_alter_table_blocks_are_split_by_their_inner_operations() -> None:
    text = revision_file(
        "    with op.batch_alter_table('t') as batch_op:\n"
        "        batch_op.add_column(sa.Column('n', sa.Text(), nullable=True))\n"
        "        batch_op.drop_column('o')\n"
        "    with op.batch_alter_table('u') as batch_op:\n"
        "        batch_op.drop_column('p')\n",
        "    with op.batch_alter_table('u') as batch_op:\n"
        "        batch_op.add_column(sa.Column('p', sa.Text()))\n"
        "    with op.batch_alter_table('t') as batch_op:\n"
        "        batch_op.add_column(sa.Column('o', sa.Text()))\n"
        "        batch_op.drop_column('n')\n",
    )
    result = done(text)
    expand, contract = read(result.expand_source), read(result.contract_source)
    assert shapes(expand.operations) == [
        ("batch_alter_table", "upgrade", "t", (), None),
        ("add_column", "upgrade", "t", ("n",), None),
        ("batch_alter_table", "downgrade", "t", (), None),
        ("drop_column", "downgrade", "t", ("n",), None),
    ]
    assert shapes(contract.operations) == [
        ("batch_alter_table", "upgrade", "t", (), None),
        ("drop_column", "upgrade", "t", ("o",), None),
        ("batch_alter_table", "upgrade", "u", (), None),
        ("drop_column", "upgrade", "u", ("p",), None),
        ("batch_alter_table", "downgrade", "u", (), None),
        ("add_column", "downgrade", "u", ("p",), None),
        ("batch_alter_table", "downgrade", "t", (), None),
        ("add_column", "downgrade", "t", ("o",), None),
    ]
    # the block of table u left the expand file whole, not as an empty `with`
    assert "batch_alter_table('u')" not in result.expand_source.decode()


def test_execute_sql_is_classified_statement_by_statement() -> None:
    text = revision_file(
        '    op.execute("CREATE INDEX ix_t_n ON t (n)")\n'
        "    op.execute(\n"
        '        "ALTER TABLE t ADD CONSTRAINT fk FOREIGN KEY (u) REFERENCES u (id) NOT VALID"\n'
        "    )\n"
        "    op.execute(\"ALTER TYPE status ADD VALUE 'archived'\")\n"
        '    op.execute("UPDATE t SET n = o")\n'
        '    op.execute("ALTER TABLE t DROP COLUMN o; DROP INDEX ix_old")\n',
        '    op.execute("CREATE INDEX ix_old ON t (o); ALTER TABLE t ADD COLUMN o text")\n'
        '    op.execute("ALTER TABLE t DROP CONSTRAINT fk")\n'
        '    op.execute("DROP INDEX ix_t_n")\n',
    )
    result = done(text)
    expand, contract = read(result.expand_source), read(result.contract_source)
    assert [op.sql for op in expand.operations] == [
        "CREATE INDEX ix_t_n ON t (n)",
        "ALTER TABLE t ADD CONSTRAINT fk FOREIGN KEY (u) REFERENCES u (id) NOT VALID",
        "ALTER TYPE status ADD VALUE 'archived'",
        "ALTER TABLE t DROP CONSTRAINT fk",
        "DROP INDEX ix_t_n",
    ]
    assert [op.sql for op in contract.operations] == [
        "UPDATE t SET n = o",
        "ALTER TABLE t DROP COLUMN o; DROP INDEX ix_old",
        "CREATE INDEX ix_old ON t (o); ALTER TABLE t ADD COLUMN o text",
    ]


def test_a_function_left_empty_gets_pass() -> None:
    text = revision_file(
        "    op.create_table('n', sa.Column('id', sa.Integer()))\n    op.drop_table('o')\n",
        "    op.drop_table('n')\n",
    )
    result = done(text)
    contract = result.contract_source.decode()
    assert contract.endswith("def downgrade() -> None:\n    pass\n")
    compile(contract, "contract", "exec")


def test_upgrade_data_and_downgrade_restore_go_with_the_contract() -> None:
    text = revision_file(
        "    op.add_column('t', sa.Column('snap', sa.Text()))\n"
        '    op.get_bind().execute(sa.text("UPDATE t SET snap = o::text"))\n'
        "    op.drop_column('t', 'o')\n",
        "    op.add_column('t', sa.Column('o', sa.Integer()))\n"
        '    op.execute("UPDATE t SET o = snap::int")\n'
        "    op.drop_column('t', 'snap')\n",
    )
    result = done(text)
    contract = read(result.contract_source)
    assert [(op.function, op.name) for op in contract.operations] == [
        ("upgrade", "execute"),
        ("upgrade", "drop_column"),
        ("downgrade", "add_column"),
        ("downgrade", "execute"),
    ]


def test_expand_id_counter_on_collision() -> None:
    first = hashlib.sha1(f"{R}:expand".encode()).hexdigest()[:12]
    second = hashlib.sha1(f"{R}:expand:2".encode()).hexdigest()[:12]
    third = hashlib.sha1(f"{R}:expand:3".encode()).hexdigest()[:12]
    assert expand_revision_id(R, set()) == first
    assert expand_revision_id(R, {first}) == second
    assert expand_revision_id(R, {first, second}) == third
    result = plan_split(read(SEED), SEED.encode(), taken_ids={first})
    assert isinstance(result, ExpandContract) and result.expand_revision == second


def test_expand_file_is_named_by_the_file_template() -> None:
    created = datetime.datetime(2024, 3, 5, 10, 11, 12)
    title = "add historical snapshot, drop credits offsets"
    assert (
        expand_filename(Revision("abc"), title, created)
        == "abc_add_historical_snapshot_drop_credits_expand.py"
    )
    template = "%(year)d_%(month).2d_%(day).2d_%(hour).2d%(minute).2d-%(rev)s_%(slug)s"
    assert (
        expand_filename(Revision("abc"), "add x", created, file_template=template)
        == "2024_03_05_1011-abc_add_x_expand.py"
    )
    assert expand_filename(Revision("abc"), "add a b c", None, slug_length=3) == "abc_add_expand.py"
    # no Create Date: a template of dates falls back to alembic's default
    assert expand_filename(Revision("abc"), "add x", None, file_template=template) == (
        "abc_add_x_expand.py"
    )
    result = done(SEED, file_template="%(epoch)s_%(rev)s_%(slug)s")
    epoch = int(datetime.datetime(2024, 3, 5, 10, 11, 12, 123456).timestamp())
    assert result.expand_path == (
        f"alembic/versions/{epoch}_{result.expand_revision}_"
        "add_historical_snapshot_drop_credits_expand.py"
    )


def test_classify_sides() -> None:
    ops = read(
        revision_file(
            "    op.create_table('n', sa.Column('id', sa.Integer()))\n"
            "    op.add_column('t', sa.Column('d', sa.Text(), nullable=False, server_default='x')\n"
            "    )\n"
            "    op.create_index('ix', 't', ['d'])\n"
            "    op.alter_column('t', 'd', server_default=None)\n"
            "    op.alter_column('t', 'e', nullable=False)\n"
            "    op.drop_index('ix_old', table_name='t')\n"
            "    op.bulk_insert(sa.table('n'), [{'id': 1}])\n"
            "    op.execute('SET lock_timeout = 1000')\n",
            "    pass\n",
        )
    ).operations
    assert [classify(op).side for op in ops] == [
        Side.EXPAND,
        Side.EXPAND,
        Side.EXPAND,
        Side.CONTRACT,
        Side.CONTRACT,
        Side.CONTRACT,
        Side.DATA,
        Side.NEUTRAL,
    ]


# Property: random mixes of expand and contract operations, each with its inverse.
_MENU = [
    # (upgrade line, downgrade line), {i} is the operation's own number
    (
        "op.add_column('t', sa.Column('n{i}', sa.Text(), nullable=True))",
        "op.drop_column('t', 'n{i}')",
    ),
    ("op.drop_column('t', 'o{i}')", "op.add_column('t', sa.Column('o{i}', sa.Integer()))"),
    ("op.create_table('new{i}', sa.Column('id', sa.Integer()))", "op.drop_table('new{i}')"),
    ("op.drop_table('old{i}')", "op.create_table('old{i}', sa.Column('id', sa.Integer()))"),
    ("op.create_index('ix{i}', 't', ['a'])", "op.drop_index('ix{i}', table_name='t')"),
    ("op.drop_index('ixo{i}', table_name='t')", "op.create_index('ixo{i}', 't', ['a'])"),
    (
        "op.execute(\n        'CREATE INDEX ixs{i} ON t (a)'\n    )",
        "op.execute('DROP INDEX ixs{i}')",
    ),
    (
        "op.execute('ALTER TABLE t DROP COLUMN s{i}')",
        "op.execute('ALTER TABLE t ADD COLUMN s{i} int')",
    ),
]
_EXPAND = {0, 2, 4, 6}


@settings(max_examples=examples(60), deadline=None)
@given(st.lists(st.sampled_from(range(len(_MENU))), min_size=2, max_size=8))
def test_property_parts_reunite_to_the_original(choices: list[int]) -> None:
    upgrade = "".join(f"    {_MENU[c][0].format(i=i)}\n" for i, c in enumerate(choices))
    downgrade = "".join(
        f"    {_MENU[c][1].format(i=i)}\n" for i, c in reversed(list(enumerate(choices)))
    )
    text = revision_file(upgrade, downgrade)
    result = split(text)
    mixed = any(c in _EXPAND for c in choices) and any(c not in _EXPAND for c in choices)
    if not mixed:
        assert isinstance(result, KeptWhole) and not result.mixed
        return
    assert isinstance(result, ExpandContract), result
    original = read(text).operations
    expand = read(result.expand_source, result.expand_path)
    contract = read(result.contract_source)
    assert not expand.problems and not contract.problems
    for function in ("upgrade", "downgrade"):
        mine = [shape(op) for op in original if op.function == function]
        e = [shape(op) for op in expand.operations if op.function == function]
        c = [shape(op) for op in contract.operations if op.function == function]
        # each part is the original's operations of its side, in order; together all of them
        assert sorted(e + c, key=repr) == sorted(mine, key=repr)
        assert e == [s for s in mine if s in e] and c == [s for s in mine if s in c]
    assert all(
        classify(op).side is Side.EXPAND for op in expand.operations if op.function == "upgrade"
    )
    assert all(
        classify(op).side is Side.CONTRACT for op in contract.operations if op.function == "upgrade"
    )
    assert expand.revision == result.expand_revision
    assert contract.down_revisions == (result.expand_revision,)


BASE_REVISION = '''"""base

Revision ID: 1a2b3c4d5e6f
Revises:
Create Date: 2024-03-01 10:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '1a2b3c4d5e6f'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('compliance_report_summary', sa.Column('id', sa.Integer(), primary_key=True))


def downgrade() -> None:
    op.drop_table('compliance_report_summary')
'''


def _offline_sql(tmp_path: Path, files: dict[str, bytes], direction: str) -> list[str]:
    """``alembic upgrade/downgrade --sql`` of a fresh environment holding ``files``."""
    from alembic import command
    from alembic.config import Config

    root = tmp_path / str(len(list(tmp_path.iterdir())))
    root.mkdir()
    command.init(Config(str(root / "alembic.ini")), str(root / "env"))
    root = root / "env"
    # No file name: the generated env.py then skips logging.config.fileConfig, which
    # would disable every logger of this process (stager -v's, in later tests).
    config = Config()
    config.set_main_option("script_location", str(root))
    config.set_main_option("sqlalchemy.url", "postgresql://offline/db")
    for name, data in {"1a2b3c4d5e6f_base.py": BASE_REVISION.encode(), **files}.items():
        (root / "versions" / name).write_bytes(data)
    out = root / "out.sql"
    with out.open("w") as stream:
        config.output_buffer = stream
        if direction == "upgrade":
            command.upgrade(config, "1a2b3c4d5e6f:heads", sql=True)
        else:
            command.downgrade(config, f"{R}:1a2b3c4d5e6f", sql=True)
    # "-- Running upgrade A -> B" comments name the revisions, which differ by design
    lines = [line for line in out.read_text().splitlines() if not line.startswith("--")]
    statements = (part.strip() for part in "\n".join(lines).split(";"))
    return [s for s in statements if s and "alembic_version" not in s]


@pytest.mark.parametrize("direction", ["upgrade", "downgrade"])
def test_real_alembic_runs_the_same_sql_offline(tmp_path: Path, direction: str) -> None:
    result = done(SEED)
    original = _offline_sql(tmp_path, {PATH.rsplit("/", 1)[1]: SEED.encode()}, direction)
    phased = _offline_sql(
        tmp_path,
        {
            result.expand_path.rsplit("/", 1)[1]: result.expand_source,
            PATH.rsplit("/", 1)[1]: result.contract_source,
        },
        direction,
    )
    assert any("credits_offset_a" in s for s in original)
    assert sorted(phased) == sorted(original)
    # the expand part runs first on the way up, last on the way down
    snapshot = next(i for i, s in enumerate(phased) if "historical_snapshot" in s)
    drops = [i for i, s in enumerate(phased) if "credits_offset" in s]
    assert (snapshot < min(drops)) if direction == "upgrade" else (snapshot > max(drops))


def test_real_alembic_runs_a_repeated_data_statement_twice_and_nothing_else(
    tmp_path: Path,
) -> None:
    update = (
        "UPDATE compliance_report_summary SET historical_snapshot = "
        "jsonb_build_object('a', credits_offset_a) WHERE historical_snapshot IS NULL"
    )
    marker = "    op.drop_column('compliance_report_summary', 'credits_offset_a')\n"
    source = SEED.replace(marker, f'    op.execute("{update}")\n{marker}', 1)
    result = done(source, data_needed_early=True)
    original = _offline_sql(tmp_path, {PATH.rsplit("/", 1)[1]: source.encode()}, "upgrade")
    phased = _offline_sql(
        tmp_path,
        {
            result.expand_path.rsplit("/", 1)[1]: result.expand_source,
            PATH.rsplit("/", 1)[1]: result.contract_source,
        },
        "upgrade",
    )
    add = next(i for i, s in enumerate(original) if "ADD COLUMN historical_snapshot" in s)
    assert original[add + 1] == update
    assert phased == [*original[: add + 1], update, *original[add + 1 :]]
