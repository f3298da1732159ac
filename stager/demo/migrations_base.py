"""The twelve revisions on ``main`` at the branch point, and the one ``main`` gains after it.

A linear chain written over three months by a small team: tables, enum types,
reference data, added columns and indexes. ``CREATE_TRANSFER_EDITED`` is the
feature branch's edit of an old revision (it adds an index to a migration that
has already run in every environment): the mistake stager must flag.
"""

from __future__ import annotations

import dataclasses

from stager.demo.alembic_files import Migration

CREATE_ORGANIZATION = Migration(
    revision="3f2a1b9c0d1e",
    down_revision=None,
    message="create organization",
    created="2024-01-08 09:30",
    legacy=True,
    upgrade="""
op.create_table(
    'organization',
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('registration_number', sa.String(length=20), nullable=False),
    sa.Column('create_date', sa.DateTime(timezone=True), server_default=sa.text('now()'),
              nullable=False),
    sa.PrimaryKeyConstraint('organization_id'),
    sa.UniqueConstraint('registration_number'),
)
op.create_index('ix_organization_name', 'organization', ['name'], unique=True)
""",
    downgrade="""
op.drop_index('ix_organization_name', table_name='organization')
op.drop_table('organization')
""",
)

CREATE_USER_PROFILE = Migration(
    revision="8c41d2e7a9b0",
    down_revision="3f2a1b9c0d1e",
    message="create user profile",
    created="2024-01-08 10:15",
    legacy=True,
    upgrade="""
op.create_table(
    'user_profile',
    sa.Column('user_profile_id', sa.Integer(), nullable=False),
    sa.Column('keycloak_username', sa.String(length=150), nullable=False),
    sa.Column('email', sa.String(length=255), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=True),
    sa.Column('role', sa.Enum('ADMINISTRATOR', 'ANALYST', 'SUPPLIER', 'GOVERNMENT',
                              name='user_role'), nullable=False),
    sa.Column('is_active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('create_date', sa.DateTime(timezone=True), server_default=sa.text('now()'),
              nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.organization_id']),
    sa.PrimaryKeyConstraint('user_profile_id'),
    sa.UniqueConstraint('keycloak_username'),
)
""",
    downgrade="""
op.drop_table('user_profile')
# drop_table leaves the enum type behind on PostgreSQL
op.execute('DROP TYPE user_role')
""",
)

CREATE_FUEL_TYPE = Migration(
    revision="b7e9f0a1c2d3",
    down_revision="8c41d2e7a9b0",
    message="create fuel type",
    created="2024-01-15 14:00",
    legacy=True,
    upgrade="""
fuel_type = op.create_table(
    'fuel_type',
    sa.Column('fuel_type_id', sa.Integer(), nullable=False),
    sa.Column('fuel_type', sa.String(length=100), nullable=False),
    sa.Column('fossil_derived', sa.Boolean(), nullable=False),
    sa.Column('default_carbon_intensity', sa.Numeric(precision=10, scale=2), nullable=True),
    sa.Column('units', sa.String(length=20), nullable=False),
    sa.PrimaryKeyConstraint('fuel_type_id'),
    sa.UniqueConstraint('fuel_type'),
)
op.bulk_insert(
    fuel_type,
    [
        {'fuel_type': 'Gasoline', 'fossil_derived': True,
         'default_carbon_intensity': 93.67, 'units': 'L'},
        {'fuel_type': 'Diesel', 'fossil_derived': True,
         'default_carbon_intensity': 100.21, 'units': 'L'},
        {'fuel_type': 'Ethanol', 'fossil_derived': False,
         'default_carbon_intensity': 49.72, 'units': 'L'},
        {'fuel_type': 'Biodiesel', 'fossil_derived': False,
         'default_carbon_intensity': 33.60, 'units': 'L'},
        {'fuel_type': 'Electricity', 'fossil_derived': False,
         'default_carbon_intensity': 12.14, 'units': 'kWh'},
        {'fuel_type': 'Hydrogen', 'fossil_derived': False,
         'default_carbon_intensity': 123.96, 'units': 'kg'},
        {'fuel_type': 'Propane', 'fossil_derived': True,
         'default_carbon_intensity': 79.87, 'units': 'L'},
    ],
)
""",
    downgrade="""
op.drop_table('fuel_type')
""",
)

CREATE_COMPLIANCE_PERIOD = Migration(
    revision="0d5e6f7a8b9c",
    down_revision="b7e9f0a1c2d3",
    message="create compliance period",
    created="2024-01-15 14:30",
    legacy=True,
    upgrade="""
compliance_period = op.create_table(
    'compliance_period',
    sa.Column('compliance_period_id', sa.Integer(), nullable=False),
    sa.Column('description', sa.String(length=10), nullable=False),
    sa.Column('effective_date', sa.Date(), nullable=False),
    sa.Column('expiration_date', sa.Date(), nullable=False),
    sa.Column('display_order', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('compliance_period_id'),
    sa.UniqueConstraint('description'),
)
op.bulk_insert(
    compliance_period,
    [
        {'description': str(year), 'effective_date': date(year, 1, 1),
         'expiration_date': date(year, 12, 31), 'display_order': year - 2018}
        for year in range(2019, 2025)
    ],
)
""",
    downgrade="""
op.drop_table('compliance_period')
""",
    imports="from datetime import date",
)

CREATE_COMPLIANCE_REPORT = Migration(
    revision="4a6b8c0d2e4f",
    down_revision="0d5e6f7a8b9c",
    message="create compliance report",
    created="2024-01-29 11:00",
    legacy=True,
    upgrade="""
op.create_table(
    'compliance_report',
    sa.Column('compliance_report_id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('compliance_period_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('DRAFT', 'SUBMITTED', 'ASSESSED', 'REJECTED',
                                name='report_status'),
              server_default='DRAFT', nullable=False),
    sa.Column('version', sa.Integer(), server_default='0', nullable=False),
    sa.Column('create_date', sa.DateTime(timezone=True), server_default=sa.text('now()'),
              nullable=False),
    sa.ForeignKeyConstraint(['compliance_period_id'],
                            ['compliance_period.compliance_period_id']),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.organization_id']),
    sa.PrimaryKeyConstraint('compliance_report_id'),
)
""",
    downgrade="""
op.drop_table('compliance_report')
op.execute('DROP TYPE report_status')
""",
)

CREATE_COMPLIANCE_REPORT_SUMMARY = Migration(
    revision="9e1f3a5b7c9d",
    down_revision="4a6b8c0d2e4f",
    message="create compliance report summary",
    created="2024-01-29 11:30",
    legacy=True,
    upgrade="""
op.create_table(
    'compliance_report_summary',
    sa.Column('summary_id', sa.Integer(), nullable=False),
    sa.Column('compliance_report_id', sa.Integer(), nullable=False),
    sa.Column('renewable_fuel_target', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('low_carbon_fuel_supplied', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('credits_offset_a', sa.Integer(), nullable=True),
    sa.Column('credits_offset_b', sa.Integer(), nullable=True),
    sa.Column('credits_offset_c', sa.Integer(), nullable=True),
    sa.Column('total_payable', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('is_locked', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.ForeignKeyConstraint(['compliance_report_id'],
                            ['compliance_report.compliance_report_id']),
    sa.PrimaryKeyConstraint('summary_id'),
    sa.UniqueConstraint('compliance_report_id'),
)
""",
    downgrade="""
op.drop_table('compliance_report_summary')
""",
)

_TRANSFER_UPGRADE = """
op.create_table(
    "transfer",
    sa.Column("transfer_id", sa.Integer(), nullable=False),
    sa.Column("from_organization_id", sa.Integer(), nullable=False),
    sa.Column("to_organization_id", sa.Integer(), nullable=False),
    sa.Column("quantity", sa.Integer(), nullable=False),
    sa.Column("price_per_unit", sa.Numeric(precision=10, scale=2), nullable=False),
    sa.Column("agreement_date", sa.Date(), nullable=True),
    sa.Column(
        "status",
        sa.Enum("DRAFT", "SENT", "RECORDED", "REFUSED", name="transfer_status"),
        nullable=False,
    ),
    sa.Column(
        "create_date", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
    ),
    sa.CheckConstraint("quantity > 0", name="ck_transfer_quantity_positive"),
    sa.ForeignKeyConstraint(["from_organization_id"], ["organization.organization_id"]),
    sa.ForeignKeyConstraint(["to_organization_id"], ["organization.organization_id"]),
    sa.PrimaryKeyConstraint("transfer_id"),
)
op.create_index("ix_transfer_from_organization_id", "transfer", ["from_organization_id"])
op.create_index("ix_transfer_to_organization_id", "transfer", ["to_organization_id"])
"""

_TRANSFER_DOWNGRADE = """
op.drop_index("ix_transfer_to_organization_id", table_name="transfer")
op.drop_index("ix_transfer_from_organization_id", table_name="transfer")
op.drop_table("transfer")
op.execute("DROP TYPE transfer_status")
"""

CREATE_TRANSFER = Migration(
    revision="c2d4e6f8a0b1",
    down_revision="9e1f3a5b7c9d",
    message="create transfer",
    created="2024-02-12 10:00",
    upgrade=_TRANSFER_UPGRADE,
    downgrade=_TRANSFER_DOWNGRADE,
)

# The branch's edit: an index added to a revision that production already ran,
# so databases that are past it never get the index.
CREATE_TRANSFER_EDITED = dataclasses.replace(
    CREATE_TRANSFER,
    upgrade=_TRANSFER_UPGRADE
    + 'op.create_index("ix_transfer_agreement_date", "transfer", ["agreement_date"])\n',
    downgrade='op.drop_index("ix_transfer_agreement_date", table_name="transfer")\n'
    + _TRANSFER_DOWNGRADE.lstrip("\n"),
)

CREATE_CREDIT_LEDGER = Migration(
    revision="5b7d9f1a3c5e",
    down_revision="c2d4e6f8a0b1",
    message="create credit ledger",
    created="2024-02-12 10:45",
    upgrade="""
op.create_table(
    "credit_ledger_entry",
    sa.Column("entry_id", sa.Integer(), nullable=False),
    sa.Column("organization_id", sa.Integer(), nullable=False),
    sa.Column("compliance_units", sa.Integer(), nullable=False),
    sa.Column("transfer_id", sa.Integer(), nullable=True),
    sa.Column("compliance_report_id", sa.Integer(), nullable=True),
    sa.Column(
        "create_date", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
    ),
    sa.ForeignKeyConstraint(["compliance_report_id"], ["compliance_report.compliance_report_id"]),
    sa.ForeignKeyConstraint(["organization_id"], ["organization.organization_id"]),
    sa.ForeignKeyConstraint(["transfer_id"], ["transfer.transfer_id"]),
    sa.PrimaryKeyConstraint("entry_id"),
)
op.create_index(
    "ix_credit_ledger_entry_organization_id", "credit_ledger_entry", ["organization_id"]
)
""",
    downgrade="""
op.drop_index("ix_credit_ledger_entry_organization_id", table_name="credit_ledger_entry")
op.drop_table("credit_ledger_entry")
""",
)

ADD_ORGANIZATION_ADDRESS = Migration(
    revision="e8f0a2c4e6a8",
    down_revision="5b7d9f1a3c5e",
    message="add organization address",
    created="2024-02-26 15:30",
    upgrade="""
op.add_column("organization", sa.Column("street_address", sa.String(length=500), nullable=True))
op.add_column("organization", sa.Column("city", sa.String(length=100), nullable=True))
op.add_column("organization", sa.Column("province_state", sa.String(length=50), nullable=True))
op.add_column("organization", sa.Column("postal_code_zip", sa.String(length=10), nullable=True))
""",
    downgrade="""
op.drop_column("organization", "postal_code_zip")
op.drop_column("organization", "province_state")
op.drop_column("organization", "city")
op.drop_column("organization", "street_address")
""",
)

CREATE_FUEL_SUPPLY = Migration(
    revision="2c4e6a8c0e2a",
    down_revision="e8f0a2c4e6a8",
    message="create fuel supply",
    created="2024-03-11 09:00",
    upgrade="""
op.create_table(
    "fuel_supply",
    sa.Column("fuel_supply_id", sa.Integer(), nullable=False),
    sa.Column("compliance_report_id", sa.Integer(), nullable=False),
    sa.Column("fuel_type_id", sa.Integer(), nullable=False),
    sa.Column("quantity", sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column("units", sa.String(length=20), nullable=False),
    sa.Column("carbon_intensity", sa.Numeric(precision=10, scale=2), nullable=False),
    sa.Column("compliance_units", sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(["compliance_report_id"], ["compliance_report.compliance_report_id"]),
    sa.ForeignKeyConstraint(["fuel_type_id"], ["fuel_type.fuel_type_id"]),
    sa.PrimaryKeyConstraint("fuel_supply_id"),
)
""",
    downgrade="""
op.drop_table("fuel_supply")
""",
)

ADD_TRANSFER_COMMENTS = Migration(
    revision="7a9c1e3a5c7e",
    down_revision="2c4e6a8c0e2a",
    message="add transfer comments",
    created="2024-03-11 09:45",
    upgrade="""
op.add_column("transfer", sa.Column("from_org_comment", sa.Text(), nullable=True))
op.add_column("transfer", sa.Column("to_org_comment", sa.Text(), nullable=True))
op.add_column("transfer", sa.Column("gov_comment", sa.Text(), nullable=True))
""",
    downgrade="""
op.drop_column("transfer", "gov_comment")
op.drop_column("transfer", "to_org_comment")
op.drop_column("transfer", "from_org_comment")
""",
)

ADD_COMPLIANCE_REPORT_INDEXES = Migration(
    revision="d1f3b5d7f9b1",
    down_revision="7a9c1e3a5c7e",
    message="add compliance report indexes",
    created="2024-03-25 16:00",
    upgrade="""
op.create_index(
    "ix_compliance_report_organization_period",
    "compliance_report",
    ["organization_id", "compliance_period_id"],
)
op.create_index("ix_fuel_supply_compliance_report_id", "fuel_supply", ["compliance_report_id"])
""",
    downgrade="""
op.drop_index("ix_fuel_supply_compliance_report_id", table_name="fuel_supply")
op.drop_index("ix_compliance_report_organization_period", table_name="compliance_report")
""",
)

# main, after the feature branch left it: merging the branch as it is gives two heads.
ADD_TRANSFER_RECORDED_BY = Migration(
    revision="0c2e4a6c8e0f",
    down_revision="d1f3b5d7f9b1",
    message="add transfer recorded by",
    created="2024-04-22 10:10",
    upgrade="""
op.add_column("transfer", sa.Column("recorded_by_user_id", sa.Integer(), nullable=True))
op.create_foreign_key(
    "fk_transfer_recorded_by_user_id",
    "transfer",
    "user_profile",
    ["recorded_by_user_id"],
    ["user_profile_id"],
)
""",
    downgrade="""
op.drop_constraint("fk_transfer_recorded_by_user_id", "transfer", type_="foreignkey")
op.drop_column("transfer", "recorded_by_user_id")
""",
)

BASE_CHAIN: tuple[Migration, ...] = (
    CREATE_ORGANIZATION,
    CREATE_USER_PROFILE,
    CREATE_FUEL_TYPE,
    CREATE_COMPLIANCE_PERIOD,
    CREATE_COMPLIANCE_REPORT,
    CREATE_COMPLIANCE_REPORT_SUMMARY,
    CREATE_TRANSFER,
    CREATE_CREDIT_LEDGER,
    ADD_ORGANIZATION_ADDRESS,
    CREATE_FUEL_SUPPLY,
    ADD_TRANSFER_COMMENTS,
    ADD_COMPLIANCE_REPORT_INDEXES,
)
"""The merge base's revisions, in upgrade order."""
