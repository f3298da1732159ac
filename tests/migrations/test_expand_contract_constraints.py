"""Constraints on what the migration itself creates, and downgrades that restore a dropped column.

Both shapes come from real projects' mixed migrations (polarsource/polar), which
stager kept whole before: a foreign key on a column the same migration adds,
and a ``downgrade()`` that re-adds a dropped column and then makes it NOT NULL.
"""

from __future__ import annotations

from stager.migrations.expand_contract import ExpandContract, KeptWhole, plan_split
from stager.migrations.parse import parse_migration
from stager.types import RepoPath, Sha

PATH = RepoPath("migrations/versions/2025-01-03-1443_add_customer_user_id.py")

HEADER = '''"""Add Customer.user_id and remove UserCustomer

Revision ID: c996df1d397f
Revises: 81faf775fce0
Create Date: 2025-01-03 14:43:11.123456

"""

import sqlalchemy as sa
from alembic import op

revision = "c996df1d397f"
down_revision = "81faf775fce0"
branch_labels: tuple[str] | None = None
depends_on: tuple[str] | None = None


def upgrade() -> None:
'''


def split(upgrade: str, downgrade: str) -> ExpandContract | KeptWhole:
    text = f"{HEADER}{upgrade}\n\ndef downgrade() -> None:\n{downgrade}"
    migration = parse_migration(PATH, Sha("0" * 40), text.encode())
    return plan_split(migration, text.encode(), taken_ids=set())


def upgrade_lines(source: bytes) -> str:
    return source.decode().split("def upgrade() -> None:")[1].split("def downgrade")[0]


FOREIGN_KEY_ON_NEW_COLUMN = """\
    op.add_column("customers", sa.Column("user_id", sa.Uuid(), nullable=True))
    op.create_foreign_key(
        op.f("customers_user_id_fkey"),
        "customers",
        "users",
        ["user_id"],
        ["id"],
        ondelete="set null",
    )
    op.drop_table("user_customers")
"""
FOREIGN_KEY_DOWNGRADE = """\
    op.create_table(
        "user_customers",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
    )
    op.drop_constraint(op.f("customers_user_id_fkey"), "customers", type_="foreignkey")
    op.drop_column("customers", "user_id")
"""


def test_a_foreign_key_on_a_column_the_migration_adds_nullable_goes_with_the_expand() -> None:
    result = split(FOREIGN_KEY_ON_NEW_COLUMN, FOREIGN_KEY_DOWNGRADE)
    assert isinstance(result, ExpandContract), result
    expand = upgrade_lines(result.expand_source)
    assert "create_foreign_key" in expand and "add_column" in expand
    assert "drop_table" not in expand
    assert "drop_table" in upgrade_lines(result.contract_source)


def test_a_foreign_key_on_an_existing_column_still_keeps_the_migration_whole() -> None:
    upgrade = FOREIGN_KEY_ON_NEW_COLUMN.replace('["user_id"]', '["owner_id"]')
    result = split(upgrade, FOREIGN_KEY_DOWNGRADE)
    assert isinstance(result, KeptWhole)
    assert "not NOT VALID" in result.reason


def test_a_foreign_key_on_a_new_column_with_a_default_keeps_the_migration_whole() -> None:
    # Old code leaves the column at its default, which the foreign key checks.
    upgrade = FOREIGN_KEY_ON_NEW_COLUMN.replace(
        "nullable=True)", 'nullable=True, server_default="00000000-0000-0000-0000-000000000000")'
    )
    assert isinstance(split(upgrade, FOREIGN_KEY_DOWNGRADE), KeptWhole)


def test_a_unique_constraint_on_a_new_nullable_column_keeps_the_migration_whole() -> None:
    # NULLS NOT DISTINCT would make old code's NULLs collide: stager does not read that flag.
    upgrade = FOREIGN_KEY_ON_NEW_COLUMN.replace(
        """op.create_foreign_key(
        op.f("customers_user_id_fkey"),
        "customers",
        "users",
        ["user_id"],
        ["id"],
        ondelete="set null",
    )""",
        'op.create_unique_constraint("customers_user_id_key", "customers", ["user_id"])',
    )
    downgrade = FOREIGN_KEY_DOWNGRADE.replace('type_="foreignkey"', 'type_="unique"').replace(
        "customers_user_id_fkey", "customers_user_id_key"
    )
    assert isinstance(split(upgrade, downgrade), KeptWhole)


def test_any_constraint_on_a_table_the_migration_creates_goes_with_the_expand() -> None:
    upgrade = """\
    op.create_table("payout_attempts", sa.Column("id", sa.Uuid(), nullable=False))
    op.create_unique_constraint("payout_attempts_id_key", "payout_attempts", ["id"])
    op.drop_column("payouts", "processor_id")
"""
    downgrade = """\
    op.add_column("payouts", sa.Column("processor_id", sa.String(), nullable=True))
    op.drop_constraint("payout_attempts_id_key", "payout_attempts", type_="unique")
    op.drop_table("payout_attempts")
"""
    result = split(upgrade, downgrade)
    assert isinstance(result, ExpandContract), result
    assert "create_unique_constraint" in upgrade_lines(result.expand_source)


def test_a_downgrade_restoring_a_dropped_column_and_tightening_it_goes_with_the_contract() -> None:
    upgrade = """\
    op.add_column(
        "subscriptions",
        sa.Column("scheduler_locked_at", sa.TIMESTAMP(timezone=True), nullable=True),
    )
    op.drop_column("subscriptions", "scheduler_locked")
"""
    downgrade = """\
    op.add_column(
        "subscriptions",
        sa.Column("scheduler_locked", sa.BOOLEAN(), autoincrement=False, nullable=True),
    )
    op.alter_column(
        "subscriptions",
        "scheduler_locked",
        existing_type=sa.BOOLEAN(),
        nullable=False,
        existing_nullable=True,
    )
    op.drop_column("subscriptions", "scheduler_locked_at")
"""
    result = split(upgrade, downgrade)
    assert isinstance(result, ExpandContract), result
    contract_downgrade = result.contract_source.decode().split("def downgrade")[1]
    assert "alter_column" in contract_downgrade and '"scheduler_locked",' in contract_downgrade
    expand_downgrade = result.expand_source.decode().split("def downgrade")[1]
    assert "scheduler_locked_at" in expand_downgrade and "alter_column" not in expand_downgrade


def test_a_downgrade_operation_on_a_column_no_upgrade_touches_still_keeps_it_whole() -> None:
    upgrade = """\
    op.add_column("subscriptions", sa.Column("locked_at", sa.DateTime(), nullable=True))
    op.drop_column("subscriptions", "locked")
"""
    downgrade = """\
    op.add_column("subscriptions", sa.Column("locked", sa.Boolean(), nullable=True))
    op.alter_column("subscriptions", "unrelated", nullable=False)
    op.drop_column("subscriptions", "locked_at")
"""
    result = split(upgrade, downgrade)
    assert isinstance(result, KeptWhole)
    assert "matches no upgrade operation" in result.reason


def test_an_unnamed_foreign_key_and_its_unnamed_drop_in_the_downgrade_are_matched() -> None:
    # What autogenerate writes when the metadata has no naming convention.
    upgrade = """\
    op.drop_constraint("incident_cost_model_id_fkey", "incident", type_="foreignkey")
    op.drop_column("incident", "cost_model_id")
    op.add_column("incident_type", sa.Column("cost_model_id", sa.Integer(), nullable=True))
    op.create_foreign_key(None, "incident_type", "cost_model", ["cost_model_id"], ["id"])
"""
    downgrade = """\
    op.drop_constraint(None, "incident_type", type_="foreignkey")
    op.drop_column("incident_type", "cost_model_id")
    op.add_column(
        "incident", sa.Column("cost_model_id", sa.INTEGER(), autoincrement=False, nullable=True)
    )
    op.create_foreign_key(
        "incident_cost_model_id_fkey", "incident", "cost_model", ["cost_model_id"], ["id"]
    )
"""
    result = split(upgrade, downgrade)
    assert isinstance(result, ExpandContract), result
    expand_downgrade = result.expand_source.decode().split("def downgrade")[1]
    assert 'drop_constraint(None, "incident_type"' in expand_downgrade
    contract_downgrade = result.contract_source.decode().split("def downgrade")[1]
    assert "incident_cost_model_id_fkey" in contract_downgrade


def test_a_unique_index_on_an_existing_table_keeps_the_migration_whole() -> None:
    # A unique index rejects rows as a unique constraint does (op.* and SQL alike).
    downgrade = """\
    op.add_column("devices", sa.Column("legacy_token", sa.String(), nullable=True))
    op.drop_index("ix_devices_token", table_name="devices")
"""
    for create in (
        '    op.create_index("ix_devices_token", "devices", ["token"], unique=True)\n',
        '    op.execute("CREATE UNIQUE INDEX ix_devices_token ON devices (token)")\n',
    ):
        result = split(create + '    op.drop_column("devices", "legacy_token")\n', downgrade)
        assert isinstance(result, KeptWhole), result
        assert "unique index on an existing table" in result.reason


def test_a_unique_index_on_a_table_the_migration_creates_goes_with_the_expand() -> None:
    upgrade = """\
    op.create_table("recipients", sa.Column("token", sa.String(), nullable=False))
    op.create_index("ix_recipients_token", "recipients", ["token"], unique=True)
    op.drop_table("devices")
"""
    downgrade = """\
    op.create_table("devices", sa.Column("token", sa.String(), nullable=False))
    op.drop_index("ix_recipients_token", table_name="recipients")
    op.drop_table("recipients")
"""
    result = split(upgrade, downgrade)
    assert isinstance(result, ExpandContract), result
    assert "create_index" in upgrade_lines(result.expand_source)
