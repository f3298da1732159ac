"""The eight revisions the feature branch adds, in their final upgrade order.

Like the real branch the demo imitates, they mix every kind of change:
additive schema (safe to ship first), reference data, an enum value that
PostgreSQL only accepts outside a transaction, a data backfill, and a contract
step that drops the columns the backfill preserved. ``CREATE_PENALTY_LOG_FIRST``
is the penalty log revision as first committed, written in parallel with the
company overview one and chained onto the same parent (two heads) until the
"fix migration order" commit re-chained it.
"""

from __future__ import annotations

import dataclasses

from stager.demo.alembic_files import Migration
from stager.demo.migrations_base import ADD_COMPLIANCE_REPORT_INDEXES

ADD_COMPANY_OVERVIEW = Migration(
    revision="a3c5e7f9b1d3",
    down_revision=ADD_COMPLIANCE_REPORT_INDEXES.revision,
    message="add organization company overview",
    created="2024-04-08 10:30",
    upgrade="""
op.add_column("organization", sa.Column("company_details", sa.Text(), nullable=True))
op.add_column(
    "organization", sa.Column("company_representation_agreements", sa.Text(), nullable=True)
)
op.add_column("organization", sa.Column("company_acting_as_aggregator", sa.Text(), nullable=True))
op.add_column("organization", sa.Column("company_additional_notes", sa.Text(), nullable=True))
""",
    downgrade="""
op.drop_column("organization", "company_additional_notes")
op.drop_column("organization", "company_acting_as_aggregator")
op.drop_column("organization", "company_representation_agreements")
op.drop_column("organization", "company_details")
""",
)

CREATE_PENALTY_LOG = Migration(
    revision="f4e6a8c0b2d4",
    down_revision=ADD_COMPANY_OVERVIEW.revision,
    message="create penalty log",
    created="2024-04-09 14:15",
    upgrade="""
op.create_table(
    "penalty_log",
    sa.Column("penalty_log_id", sa.Integer(), nullable=False),
    sa.Column("organization_id", sa.Integer(), nullable=False),
    sa.Column("compliance_period_id", sa.Integer(), nullable=False),
    sa.Column("contravention_type", sa.String(length=50), nullable=False),
    sa.Column("penalty_amount", sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column("offence_history", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    sa.Column("notes", sa.Text(), nullable=True),
    sa.Column(
        "create_date", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
    ),
    sa.ForeignKeyConstraint(["compliance_period_id"], ["compliance_period.compliance_period_id"]),
    sa.ForeignKeyConstraint(["organization_id"], ["organization.organization_id"]),
    sa.PrimaryKeyConstraint("penalty_log_id"),
)
op.create_index("ix_penalty_log_organization_id", "penalty_log", ["organization_id"])
""",
    downgrade="""
op.drop_index("ix_penalty_log_organization_id", table_name="penalty_log")
op.drop_table("penalty_log")
""",
)

CREATE_PENALTY_LOG_FIRST = dataclasses.replace(
    CREATE_PENALTY_LOG, down_revision=ADD_COMPLIANCE_REPORT_INDEXES.revision
)

CREATE_TARGET_CARBON_INTENSITY = Migration(
    revision="6b8d0f2a4c6e",
    down_revision=CREATE_PENALTY_LOG.revision,
    message="create target carbon intensity",
    created="2024-04-16 11:00",
    upgrade="""
op.create_table(
    "target_carbon_intensity",
    sa.Column("target_carbon_intensity_id", sa.Integer(), nullable=False),
    sa.Column("compliance_period_id", sa.Integer(), nullable=False),
    sa.Column("fuel_category", sa.String(length=20), nullable=False),
    sa.Column("target_carbon_intensity", sa.Numeric(precision=10, scale=2), nullable=False),
    sa.Column("reduction_target_percentage", sa.Numeric(precision=5, scale=2), nullable=False),
    sa.ForeignKeyConstraint(["compliance_period_id"], ["compliance_period.compliance_period_id"]),
    sa.PrimaryKeyConstraint("target_carbon_intensity_id"),
    sa.UniqueConstraint("compliance_period_id", "fuel_category"),
)
""",
    downgrade="""
op.drop_table("target_carbon_intensity")
""",
)

ADD_HISTORICAL_REFERENCE_DATA = Migration(
    revision="1b3d5f7a9c1e",
    down_revision=CREATE_TARGET_CARBON_INTENSITY.revision,
    message="add historical reference data",
    created="2024-04-16 11:30",
    notes="Compliance periods 2013-2018, their carbon intensity targets, renewable diesel.",
    imports="from datetime import date",
    upgrade='''
compliance_period = sa.table(
    "compliance_period",
    sa.column("description", sa.String),
    sa.column("effective_date", sa.Date),
    sa.column("expiration_date", sa.Date),
    sa.column("display_order", sa.Integer),
)
# display_order continues after the periods 2019-2024 (1-6) created earlier
op.bulk_insert(
    compliance_period,
    [
        {
            "description": str(year),
            "effective_date": date(year, 1, 1),
            "expiration_date": date(year, 12, 31),
            "display_order": year - 2006,
        }
        for year in range(2013, 2019)
    ],
)
op.execute(
    """
    INSERT INTO target_carbon_intensity
        (compliance_period_id, fuel_category, target_carbon_intensity,
         reduction_target_percentage)
    SELECT cp.compliance_period_id, t.fuel_category, t.target, t.reduction
    FROM (VALUES
        ('2013', 'Gasoline', 91.21, 1.00), ('2013', 'Diesel', 93.55, 1.00),
        ('2014', 'Gasoline', 90.28, 2.00), ('2014', 'Diesel', 92.60, 2.00),
        ('2015', 'Gasoline', 89.36, 2.50), ('2015', 'Diesel', 91.65, 2.50),
        ('2016', 'Gasoline', 88.44, 3.50), ('2016', 'Diesel', 90.70, 3.50),
        ('2017', 'Gasoline', 87.52, 4.50), ('2017', 'Diesel', 89.75, 4.50),
        ('2018', 'Gasoline', 86.60, 5.50), ('2018', 'Diesel', 88.80, 5.50)
    ) AS t (period, fuel_category, target, reduction)
    JOIN compliance_period cp ON cp.description = t.period
    """
)
op.execute(
    "INSERT INTO fuel_type (fuel_type, fossil_derived, default_carbon_intensity, units) "
    "VALUES ('Renewable diesel', false, 40.26, 'L')"
)
''',
    downgrade="""
op.execute("DELETE FROM fuel_type WHERE fuel_type = 'Renewable diesel'")
op.execute(
    "DELETE FROM target_carbon_intensity WHERE compliance_period_id IN "
    "(SELECT compliance_period_id FROM compliance_period "
    "WHERE description IN ('2013', '2014', '2015', '2016', '2017', '2018'))"
)
op.execute(
    "DELETE FROM compliance_period "
    "WHERE description IN ('2013', '2014', '2015', '2016', '2017', '2018')"
)
""",
)

ADD_BETA_TESTER_ROLE = Migration(
    revision="9a1c3e5a7c9e",
    down_revision=ADD_HISTORICAL_REFERENCE_DATA.revision,
    message="add beta tester role",
    created="2024-04-23 09:15",
    notes=(
        "PostgreSQL cannot use a new enum value in the transaction that adds it,\n"
        "so the ALTER TYPE runs in an autocommit block."
    ),
    upgrade="""
with op.get_context().autocommit_block():
    op.execute("ALTER TYPE user_role ADD VALUE IF NOT EXISTS 'BETA_TESTER'")
""",
    downgrade="""
# PostgreSQL cannot drop an enum value: rebuild the type without it.
op.execute("UPDATE user_profile SET role = 'ANALYST' WHERE role = 'BETA_TESTER'")
op.execute("ALTER TYPE user_role RENAME TO user_role_old")
op.execute("CREATE TYPE user_role AS ENUM ('ADMINISTRATOR', 'ANALYST', 'SUPPLIER', 'GOVERNMENT')")
op.execute(
    "ALTER TABLE user_profile ALTER COLUMN role TYPE user_role USING role::text::user_role"
)
op.execute("DROP TYPE user_role_old")
""",
)

ADD_HISTORICAL_SNAPSHOT = Migration(
    revision="8e2f4a6c8e0a",
    down_revision=ADD_BETA_TESTER_ROLE.revision,
    message="add historical snapshot to summary",
    created="2024-05-02 16:00",
    imports="from sqlalchemy.dialects import postgresql",
    upgrade="""
op.add_column(
    "compliance_report_summary",
    sa.Column("historical_snapshot", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
)
""",
    downgrade="""
op.drop_column("compliance_report_summary", "historical_snapshot")
""",
)

BACKFILL_HISTORICAL_SNAPSHOT = Migration(
    revision="c7a9e1b3d5f7",
    down_revision=ADD_HISTORICAL_SNAPSHOT.revision,
    message="backfill historical snapshot",
    created="2024-05-13 10:00",
    notes="Copies the legacy credits_offset_a/b/c values of every summary into its snapshot.",
    upgrade='''
op.execute(
    """
    UPDATE compliance_report_summary
    SET historical_snapshot = jsonb_build_object(
        'credits_offset_a', credits_offset_a,
        'credits_offset_b', credits_offset_b,
        'credits_offset_c', credits_offset_c,
        'total_payable', total_payable
    )
    WHERE historical_snapshot IS NULL
    """
)
''',
    downgrade="""
op.execute("UPDATE compliance_report_summary SET historical_snapshot = NULL")
""",
)

DROP_CREDITS_OFFSET = Migration(
    revision="4f6a8c0e2a4c",
    down_revision=BACKFILL_HISTORICAL_SNAPSHOT.revision,
    message="drop credits offset columns",
    created="2024-05-20 11:30",
    notes=(
        "Contract step: run only after the ETL has been validated in production.\n"
        "Downgrade re-creates the columns and restores them from historical_snapshot;\n"
        "values of summaries created after the upgrade cannot be recovered (NULL)."
    ),
    upgrade="""
op.drop_column("compliance_report_summary", "credits_offset_c")
op.drop_column("compliance_report_summary", "credits_offset_b")
op.drop_column("compliance_report_summary", "credits_offset_a")
""",
    downgrade='''
for name in ("credits_offset_a", "credits_offset_b", "credits_offset_c"):
    op.add_column("compliance_report_summary", sa.Column(name, sa.Integer(), nullable=True))
op.execute(
    """
    UPDATE compliance_report_summary
    SET credits_offset_a = (historical_snapshot ->> 'credits_offset_a')::integer,
        credits_offset_b = (historical_snapshot ->> 'credits_offset_b')::integer,
        credits_offset_c = (historical_snapshot ->> 'credits_offset_c')::integer
    WHERE historical_snapshot IS NOT NULL
    """
)
''',
)

BRANCH_CHAIN: tuple[Migration, ...] = (
    ADD_COMPANY_OVERVIEW,
    CREATE_PENALTY_LOG,
    CREATE_TARGET_CARBON_INTENSITY,
    ADD_HISTORICAL_REFERENCE_DATA,
    ADD_BETA_TESTER_ROLE,
    ADD_HISTORICAL_SNAPSHOT,
    BACKFILL_HISTORICAL_SNAPSHOT,
    DROP_CREDITS_OFFSET,
)
"""The branch's revisions in upgrade order, as they are at the branch's head."""
