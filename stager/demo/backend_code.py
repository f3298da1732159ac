"""Services, tests and packaging of the demo's backend, version by version.

``TRANSFER_SERVICE`` is the file both sides change after the branch point:
``main`` fixes a bug in ``validate_transfer`` while the branch adds a query at
the end of the file. A split that copies the branch's version onto ``main``
silently reverts the fix; a three-way merge keeps both.
"""

from __future__ import annotations

from stager.demo.edits import replace_once

APP_INIT = '"""Fuel credits backend: organizations, compliance reports and credit transfers."""\n'

DB = '''\
"""Database sessions, one per request."""

import os
from collections.abc import Iterator

from sqlalchemy import create_engine
from sqlalchemy.orm import Session, sessionmaker

engine = create_engine(
    os.environ.get("DATABASE_URL", "postgresql://fuelcredits:fuelcredits@localhost/fuelcredits")
)
SessionLocal = sessionmaker(bind=engine, expire_on_commit=False)


def get_session() -> Iterator[Session]:
    with SessionLocal() as session:
        yield session
'''

ORGANIZATION_SERVICE = '''\
"""Organizations and their users."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Organization, UserProfile


def get_organization(session: Session, organization_id: int) -> Organization | None:
    return session.get(Organization, organization_id)


def active_users(session: Session, organization_id: int) -> list[UserProfile]:
    stmt = (
        select(UserProfile)
        .where(UserProfile.organization_id == organization_id)
        .where(UserProfile.is_active.is_(True))
        .order_by(UserProfile.keycloak_username)
    )
    return list(session.scalars(stmt))
'''

ORGANIZATION_SERVICE_WITH_OVERVIEW = (
    ORGANIZATION_SERVICE
    + '''

OVERVIEW_FIELDS = (
    "company_details",
    "company_representation_agreements",
    "company_acting_as_aggregator",
    "company_additional_notes",
)


def update_company_overview(
    session: Session, organization: Organization, changes: dict[str, str | None]
) -> Organization:
    """Set the company overview fields present in ``changes``; other keys are refused."""
    unknown = set(changes) - set(OVERVIEW_FIELDS)
    if unknown:
        raise ValueError(f"not company overview fields: {', '.join(sorted(unknown))}")
    for name, value in changes.items():
        setattr(organization, name, value)
    session.flush()
    return organization
'''
)

COMPLIANCE_SERVICE = '''\
"""Compliance reports: totals and the credits an organization offsets."""

from decimal import Decimal

from app.models import ComplianceReport, ComplianceReportSummary, ReportStatus


def total_credits_offset(summary: ComplianceReportSummary) -> int:
    """Credits offset on lines A, B and C of the summary."""
    return sum(
        value or 0
        for value in (summary.credits_offset_a, summary.credits_offset_b, summary.credits_offset_c)
    )


def can_edit(report: ComplianceReport) -> bool:
    return report.status is ReportStatus.DRAFT and not report.summary.is_locked


def penalty_payable(summary: ComplianceReportSummary) -> Decimal:
    return summary.total_payable or Decimal("0.00")
'''

COMPLIANCE_SERVICE_WITH_SNAPSHOT = COMPLIANCE_SERVICE + (
    "\n"
    "\n"
    "def historical_values(summary: ComplianceReportSummary) -> dict[str, object]:\n"
    '    """The legacy system\'s values for this report, empty until the ETL ran."""\n'
    "    return dict(summary.historical_snapshot or {})\n"
)

# The contract step: credits offset now come from the snapshot only.
COMPLIANCE_SERVICE_CONTRACTED = replace_once(
    COMPLIANCE_SERVICE_WITH_SNAPSHOT,
    '''    """Credits offset on lines A, B and C of the summary."""
    return sum(
        value or 0
        for value in (summary.credits_offset_a, summary.credits_offset_b, summary.credits_offset_c)
    )
''',
    '''    """Credits offset on lines A, B and C, as recorded in the historical snapshot."""
    snapshot = summary.historical_snapshot or {}
    return sum(
        int(snapshot.get(key) or 0)
        for key in ("credits_offset_a", "credits_offset_b", "credits_offset_c")
    )
''',
)

TRANSFER_SERVICE = '''\
"""Credit transfers between organizations."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Transfer, TransferStatus


class TransferError(ValueError):
    """A transfer that the rules of the credit market do not allow."""


@dataclass(frozen=True)
class TransferSummary:
    transfer_id: int
    quantity: int
    total_value: Decimal


def total_value(transfer: Transfer) -> Decimal:
    """The value of a transfer in dollars, rounded to cents."""
    return (transfer.quantity * transfer.price_per_unit).quantize(Decimal("0.01"))


def validate_transfer(transfer: Transfer) -> None:
    """Raise TransferError when a transfer breaks a market rule."""
    if transfer.quantity <= 0:
        raise TransferError("a transfer moves at least one credit")
    if transfer.price_per_unit < 0:
        raise TransferError("the price per credit cannot be negative")


def can_record(transfer: Transfer, today: date) -> bool:
    """A sent transfer is recorded once its agreement date has passed."""
    return (
        transfer.status is TransferStatus.SENT
        and transfer.agreement_date is not None
        and transfer.agreement_date <= today
    )


def summarize(session: Session, organization_id: int) -> list[TransferSummary]:
    stmt = (
        select(Transfer)
        .where(Transfer.from_organization_id == organization_id)
        .order_by(Transfer.transfer_id)
    )
    return [
        TransferSummary(t.transfer_id, t.quantity, total_value(t)) for t in session.scalars(stmt)
    ]
'''

# main, after the branch point: the bug fix a hand-made split would revert.
TRANSFER_SERVICE_FIXED = replace_once(
    TRANSFER_SERVICE,
    '        raise TransferError("the price per credit cannot be negative")\n',
    '        raise TransferError("the price per credit cannot be negative")\n'
    "    if transfer.from_organization_id == transfer.to_organization_id:\n"
    '        raise TransferError("an organization cannot transfer credits to itself")\n',
)

_AGREED_BETWEEN = '''

def transfers_agreed_between(session: Session, start: date, end: date) -> list[Transfer]:
    """Recorded transfers agreed in [start, end] (served by ix_transfer_agreement_date)."""
    stmt = (
        select(Transfer)
        .where(Transfer.agreement_date.between(start, end))
        .where(Transfer.status == TransferStatus.RECORDED)
        .order_by(Transfer.agreement_date, Transfer.transfer_id)
    )
    return list(session.scalars(stmt))
'''

# the branch: a new query at the end of the file, on top of the unfixed version
TRANSFER_SERVICE_AGREED_BETWEEN = TRANSFER_SERVICE + _AGREED_BETWEEN

PENALTY_SERVICE = '''\
"""Administrative penalties."""

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import PenaltyLog


def penalties_for(session: Session, organization_id: int) -> list[PenaltyLog]:
    stmt = (
        select(PenaltyLog)
        .where(PenaltyLog.organization_id == organization_id)
        .order_by(PenaltyLog.create_date.desc())
    )
    return list(session.scalars(stmt))


def total_penalties(penalties: list[PenaltyLog]) -> Decimal:
    return sum((p.penalty_amount for p in penalties), Decimal("0.00"))
'''

TEST_TRANSFER_SERVICE = """\
from datetime import date
from decimal import Decimal

import pytest

from app.models import Transfer, TransferStatus
from app.services.transfer_service import TransferError, can_record, total_value, validate_transfer


def make_transfer(**overrides: object) -> Transfer:
    values = dict(
        from_organization_id=1,
        to_organization_id=2,
        quantity=10,
        price_per_unit=Decimal("125.50"),
        agreement_date=date(2024, 3, 1),
        status=TransferStatus.SENT,
    )
    values.update(overrides)
    return Transfer(**values)


def test_total_value_rounds_to_cents() -> None:
    transfer = make_transfer(quantity=3, price_per_unit=Decimal("0.333"))
    assert total_value(transfer) == Decimal("1.00")


def test_zero_quantity_is_refused() -> None:
    with pytest.raises(TransferError):
        validate_transfer(make_transfer(quantity=0))


def test_sent_transfer_is_recorded_after_agreement_date() -> None:
    assert can_record(make_transfer(), today=date(2024, 3, 2))
    assert not can_record(make_transfer(), today=date(2024, 2, 28))
"""

TEST_TRANSFER_SERVICE_FIXED = (
    TEST_TRANSFER_SERVICE
    + """

def test_transfer_to_itself_is_refused() -> None:
    with pytest.raises(TransferError, match="itself"):
        validate_transfer(make_transfer(to_organization_id=1))
"""
)

TEST_COMPLIANCE_SERVICE = """\
from app.models import ComplianceReportSummary
from app.services.compliance_service import total_credits_offset


def test_total_credits_offset_ignores_empty_lines() -> None:
    summary = ComplianceReportSummary(
        credits_offset_a=10, credits_offset_b=None, credits_offset_c=5
    )
    assert total_credits_offset(summary) == 15
"""

TEST_COMPLIANCE_SERVICE_CONTRACTED = """\
from app.models import ComplianceReportSummary
from app.services.compliance_service import historical_values, total_credits_offset


def test_total_credits_offset_reads_the_snapshot() -> None:
    summary = ComplianceReportSummary(
        historical_snapshot={
            "credits_offset_a": 10,
            "credits_offset_b": None,
            "credits_offset_c": 5,
        }
    )
    assert total_credits_offset(summary) == 15


def test_historical_values_empty_before_etl() -> None:
    assert historical_values(ComplianceReportSummary(historical_snapshot=None)) == {}
"""

TEST_PENALTY_SERVICE = """\
from decimal import Decimal

from app.models import PenaltyLog
from app.services.penalty_service import total_penalties


def test_total_penalties() -> None:
    penalties = [
        PenaltyLog(penalty_amount=Decimal("500.00")),
        PenaltyLog(penalty_amount=Decimal("1250.25")),
    ]
    assert total_penalties(penalties) == Decimal("1750.25")


def test_no_penalties_total_zero() -> None:
    assert total_penalties([]) == Decimal("0.00")
"""

PYPROJECT = """\
[project]
name = "fuel-credits-backend"
version = "1.4.0"
requires-python = ">=3.11"
dependencies = [
    "fastapi>=0.110",
    "sqlalchemy>=2.0",
    "alembic>=1.13",
    "psycopg2-binary>=2.9",
    "uvicorn>=0.29",
]

[project.optional-dependencies]
dev = ["pytest>=8.0", "httpx>=0.27"]

[tool.pytest.ini_options]
pythonpath = ["."]
testpaths = ["tests"]
"""

PYPROJECT_WITH_ETL = replace_once(
    replace_once(PYPROJECT, '"sqlalchemy>=2.0",', '"sqlalchemy>=2.0.30",'),
    'dev = ["pytest>=8.0", "httpx>=0.27"]\n',
    'dev = ["pytest>=8.0", "httpx>=0.27"]\netl = ["pandas>=2.2", "tenacity>=8.2"]\n',
)
