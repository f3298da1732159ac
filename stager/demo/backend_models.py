"""SQLAlchemy models of the demo's backend, one version per commit that changes them.

The models mirror the migrations: the branch adds columns to ``Organization``
and ``ComplianceReportSummary``, a ``BETA_TESTER`` role, two new models, and
finally removes the legacy ``credits_offset_*`` columns; ``main`` meanwhile
adds ``recorded_by_user_id`` to ``Transfer``.
"""

from __future__ import annotations

from stager.demo.edits import replace_once

MODELS = "backend/app/models"

BASE = '''\
"""Declarative base shared by every model."""

from datetime import datetime

from sqlalchemy import DateTime, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Auditable:
    """Adds the create_date column every table carries."""

    create_date: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
'''

ORGANIZATION = """\
from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Auditable, Base


class Organization(Auditable, Base):
    __tablename__ = "organization"

    organization_id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True, index=True)
    registration_number: Mapped[str] = mapped_column(String(20), unique=True)
"""

ORGANIZATION_WITH_ADDRESS = replace_once(
    ORGANIZATION,
    "String(20), unique=True)\n",
    "String(20), unique=True)\n"
    "\n"
    "    street_address: Mapped[str | None] = mapped_column(String(500))\n"
    "    city: Mapped[str | None] = mapped_column(String(100))\n"
    "    province_state: Mapped[str | None] = mapped_column(String(50))\n"
    "    postal_code_zip: Mapped[str | None] = mapped_column(String(10))\n",
)

ORGANIZATION_WITH_OVERVIEW = replace_once(
    replace_once(ORGANIZATION_WITH_ADDRESS, "import String\n", "import String, Text\n"),
    "mapped_column(String(10))\n",
    "mapped_column(String(10))\n"
    "\n"
    "    # company overview, shown on the organization's public profile\n"
    "    company_details: Mapped[str | None] = mapped_column(Text)\n"
    "    company_representation_agreements: Mapped[str | None] = mapped_column(Text)\n"
    "    company_acting_as_aggregator: Mapped[str | None] = mapped_column(Text)\n"
    "    company_additional_notes: Mapped[str | None] = mapped_column(Text)\n",
)

USER = """\
import enum

from sqlalchemy import Boolean, Enum, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Auditable, Base


class Role(enum.Enum):
    ADMINISTRATOR = "ADMINISTRATOR"
    ANALYST = "ANALYST"
    SUPPLIER = "SUPPLIER"
    GOVERNMENT = "GOVERNMENT"


class UserProfile(Auditable, Base):
    __tablename__ = "user_profile"

    user_profile_id: Mapped[int] = mapped_column(primary_key=True)
    keycloak_username: Mapped[str] = mapped_column(String(150), unique=True)
    email: Mapped[str] = mapped_column(String(255))
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organization.organization_id")
    )
    role: Mapped[Role] = mapped_column(Enum(Role, name="user_role"))
    is_active: Mapped[bool] = mapped_column(Boolean, server_default="true")
"""

USER_WITH_BETA_TESTER = replace_once(
    USER,
    '    GOVERNMENT = "GOVERNMENT"\n',
    '    GOVERNMENT = "GOVERNMENT"\n    BETA_TESTER = "BETA_TESTER"\n',
)

FUEL = """\
from datetime import date
from decimal import Decimal

from sqlalchemy import Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class FuelType(Base):
    __tablename__ = "fuel_type"

    fuel_type_id: Mapped[int] = mapped_column(primary_key=True)
    fuel_type: Mapped[str] = mapped_column(String(100), unique=True)
    fossil_derived: Mapped[bool]
    default_carbon_intensity: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    units: Mapped[str] = mapped_column(String(20))


class CompliancePeriod(Base):
    __tablename__ = "compliance_period"

    compliance_period_id: Mapped[int] = mapped_column(primary_key=True)
    description: Mapped[str] = mapped_column(String(10), unique=True)
    effective_date: Mapped[date]
    expiration_date: Mapped[date]
    display_order: Mapped[int]
"""

FUEL_WITH_TARGETS = replace_once(
    FUEL,
    "from sqlalchemy import Numeric, String\n",
    "from sqlalchemy import ForeignKey, Numeric, String, UniqueConstraint\n",
) + (
    "\n"
    "\n"
    "class TargetCarbonIntensity(Base):\n"
    '    __tablename__ = "target_carbon_intensity"\n'
    '    __table_args__ = (UniqueConstraint("compliance_period_id", "fuel_category"),)\n'
    "\n"
    "    target_carbon_intensity_id: Mapped[int] = mapped_column(primary_key=True)\n"
    "    compliance_period_id: Mapped[int] = mapped_column(\n"
    '        ForeignKey("compliance_period.compliance_period_id")\n'
    "    )\n"
    "    fuel_category: Mapped[str] = mapped_column(String(20))\n"
    "    target_carbon_intensity: Mapped[Decimal] = mapped_column(Numeric(10, 2))\n"
    "    reduction_target_percentage: Mapped[Decimal] = mapped_column(Numeric(5, 2))\n"
)

COMPLIANCE_REPORT = """\
import enum
from decimal import Decimal

from sqlalchemy import Boolean, Enum, ForeignKey, Numeric
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Auditable, Base


class ReportStatus(enum.Enum):
    DRAFT = "DRAFT"
    SUBMITTED = "SUBMITTED"
    ASSESSED = "ASSESSED"
    REJECTED = "REJECTED"


class ComplianceReport(Auditable, Base):
    __tablename__ = "compliance_report"

    compliance_report_id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.organization_id"))
    compliance_period_id: Mapped[int] = mapped_column(
        ForeignKey("compliance_period.compliance_period_id")
    )
    status: Mapped[ReportStatus] = mapped_column(
        Enum(ReportStatus, name="report_status"), server_default="DRAFT"
    )
    version: Mapped[int] = mapped_column(server_default="0")

    summary: Mapped["ComplianceReportSummary"] = relationship(back_populates="report")


class ComplianceReportSummary(Base):
    __tablename__ = "compliance_report_summary"

    summary_id: Mapped[int] = mapped_column(primary_key=True)
    compliance_report_id: Mapped[int] = mapped_column(
        ForeignKey("compliance_report.compliance_report_id"), unique=True
    )
    renewable_fuel_target: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    low_carbon_fuel_supplied: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    credits_offset_a: Mapped[int | None]
    credits_offset_b: Mapped[int | None]
    credits_offset_c: Mapped[int | None]
    total_payable: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    is_locked: Mapped[bool] = mapped_column(Boolean, server_default="false")

    report: Mapped[ComplianceReport] = relationship(back_populates="summary")
"""

_WITH_JSONB = replace_once(
    replace_once(
        COMPLIANCE_REPORT,
        "from decimal import Decimal\n\n",
        "from decimal import Decimal\nfrom typing import Any\n\n",
    ),
    "from sqlalchemy import Boolean, Enum, ForeignKey, Numeric\n",
    "from sqlalchemy import Boolean, Enum, ForeignKey, Numeric\n"
    "from sqlalchemy.dialects.postgresql import JSONB\n",
)

COMPLIANCE_REPORT_WITH_SNAPSHOT = replace_once(
    _WITH_JSONB,
    '    is_locked: Mapped[bool] = mapped_column(Boolean, server_default="false")\n',
    '    is_locked: Mapped[bool] = mapped_column(Boolean, server_default="false")\n'
    "    # values of a report as the legacy system computed them, kept read-only\n"
    "    historical_snapshot: Mapped[dict[str, Any] | None] = mapped_column(JSONB)\n",
)

COMPLIANCE_REPORT_CONTRACTED = replace_once(
    COMPLIANCE_REPORT_WITH_SNAPSHOT,
    "    credits_offset_a: Mapped[int | None]\n"
    "    credits_offset_b: Mapped[int | None]\n"
    "    credits_offset_c: Mapped[int | None]\n",
    "",
)

TRANSFER = """\
import enum
from datetime import date
from decimal import Decimal

from sqlalchemy import CheckConstraint, Enum, ForeignKey, Numeric
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Auditable, Base


class TransferStatus(enum.Enum):
    DRAFT = "DRAFT"
    SENT = "SENT"
    RECORDED = "RECORDED"
    REFUSED = "REFUSED"


class Transfer(Auditable, Base):
    __tablename__ = "transfer"
    __table_args__ = (CheckConstraint("quantity > 0", name="ck_transfer_quantity_positive"),)

    transfer_id: Mapped[int] = mapped_column(primary_key=True)
    from_organization_id: Mapped[int] = mapped_column(
        ForeignKey("organization.organization_id"), index=True
    )
    to_organization_id: Mapped[int] = mapped_column(
        ForeignKey("organization.organization_id"), index=True
    )
    quantity: Mapped[int]
    price_per_unit: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    agreement_date: Mapped[date | None]
    status: Mapped[TransferStatus] = mapped_column(Enum(TransferStatus, name="transfer_status"))
"""

TRANSFER_WITH_COMMENTS = replace_once(
    replace_once(TRANSFER, "ForeignKey, Numeric\n", "ForeignKey, Numeric, Text\n"),
    'name="transfer_status"))\n',
    'name="transfer_status"))\n'
    "    from_org_comment: Mapped[str | None] = mapped_column(Text)\n"
    "    to_org_comment: Mapped[str | None] = mapped_column(Text)\n"
    "    gov_comment: Mapped[str | None] = mapped_column(Text)\n",
)

TRANSFER_WITH_RECORDED_BY = replace_once(
    TRANSFER_WITH_COMMENTS,
    "    gov_comment: Mapped[str | None] = mapped_column(Text)\n",
    "    gov_comment: Mapped[str | None] = mapped_column(Text)\n"
    "    recorded_by_user_id: Mapped[int | None] = mapped_column(\n"
    '        ForeignKey("user_profile.user_profile_id")\n'
    "    )\n",
)

CREDIT_LEDGER = '''\
from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Auditable, Base


class CreditLedgerEntry(Auditable, Base):
    """One movement of compliance units; an organization's balance is their sum."""

    __tablename__ = "credit_ledger_entry"

    entry_id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organization.organization_id"), index=True
    )
    compliance_units: Mapped[int]
    transfer_id: Mapped[int | None] = mapped_column(ForeignKey("transfer.transfer_id"))
    compliance_report_id: Mapped[int | None] = mapped_column(
        ForeignKey("compliance_report.compliance_report_id")
    )
'''

FUEL_SUPPLY = """\
from decimal import Decimal

from sqlalchemy import ForeignKey, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class FuelSupply(Base):
    __tablename__ = "fuel_supply"

    fuel_supply_id: Mapped[int] = mapped_column(primary_key=True)
    compliance_report_id: Mapped[int] = mapped_column(
        ForeignKey("compliance_report.compliance_report_id"), index=True
    )
    fuel_type_id: Mapped[int] = mapped_column(ForeignKey("fuel_type.fuel_type_id"))
    quantity: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    units: Mapped[str] = mapped_column(String(20))
    carbon_intensity: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    compliance_units: Mapped[int | None]
"""

PENALTY_LOG = '''\
from decimal import Decimal

from sqlalchemy import ForeignKey, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Auditable, Base


class PenaltyLog(Auditable, Base):
    """An administrative penalty imposed on an organization for one compliance period."""

    __tablename__ = "penalty_log"

    penalty_log_id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organization.organization_id"), index=True
    )
    compliance_period_id: Mapped[int] = mapped_column(
        ForeignKey("compliance_period.compliance_period_id")
    )
    contravention_type: Mapped[str] = mapped_column(String(50))
    penalty_amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    offence_history: Mapped[bool] = mapped_column(server_default="false")
    notes: Mapped[str | None] = mapped_column(Text)
'''

_INIT_HEADER = '"""Every model, imported here so that mappers configure in one place."""\n\n'


def models_init(*modules: str) -> str:
    """``app/models/__init__.py`` importing ``modules`` ("name:Class, Class")."""
    lines = []
    exported = []
    for spec in modules:
        module, names = spec.split(":")
        lines.append(f"from app.models.{module} import {names}\n")
        exported.extend(names.split(", "))
    listing = "".join(f'    "{name}",\n' for name in sorted(exported))
    return _INIT_HEADER + "".join(sorted(lines)) + f"\n__all__ = [\n{listing}]\n"


_USERS = ("organization:Organization", "user:Role, UserProfile")
_FUEL = (*_USERS, "fuel:CompliancePeriod, FuelType")
_REPORTS = (*_FUEL, "compliance_report:ComplianceReport, ComplianceReportSummary, ReportStatus")
_TRANSFERS = (*_REPORTS, "transfer:Transfer, TransferStatus", "credit_ledger:CreditLedgerEntry")
_FUEL_SUPPLY = (*_TRANSFERS, "fuel_supply:FuelSupply")
_PENALTY = (*_FUEL_SUPPLY, "penalty_log:PenaltyLog")
_TARGETS = (
    *(spec for spec in _PENALTY if not spec.startswith("fuel:")),
    "fuel:CompliancePeriod, FuelType, TargetCarbonIntensity",
)

MODELS_INIT_USERS = models_init(*_USERS)
MODELS_INIT_FUEL = models_init(*_FUEL)
MODELS_INIT_REPORTS = models_init(*_REPORTS)
MODELS_INIT_TRANSFERS = models_init(*_TRANSFERS)
MODELS_INIT_FUEL_SUPPLY = models_init(*_FUEL_SUPPLY)
MODELS_INIT_PENALTY = models_init(*_PENALTY)
MODELS_INIT_TARGETS = models_init(*_TARGETS)
