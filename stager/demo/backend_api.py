"""The demo backend's FastAPI application and routes, version by version."""

from __future__ import annotations

from stager.demo.edits import replace_once

MAIN = """\
from fastapi import FastAPI

from app.api import compliance_reports, organizations, transfers

app = FastAPI(title="Fuel credits")
app.include_router(organizations.router)
app.include_router(compliance_reports.router)
app.include_router(transfers.router)
"""

MAIN_WITH_PENALTIES = replace_once(
    replace_once(
        MAIN,
        "import compliance_reports, organizations, transfers\n",
        "import compliance_reports, organizations, penalties, transfers\n",
    ),
    "app.include_router(transfers.router)\n",
    "app.include_router(transfers.router)\napp.include_router(penalties.router)\n",
)

API_ORGANIZATIONS = """\
from fastapi import APIRouter, Depends, HTTPException
from sqlalchemy.orm import Session

from app.db import get_session
from app.services import organization_service

router = APIRouter(prefix="/organizations", tags=["organizations"])


@router.get("/{organization_id}")
def read_organization(organization_id: int, session: Session = Depends(get_session)) -> dict:
    organization = organization_service.get_organization(session, organization_id)
    if organization is None:
        raise HTTPException(status_code=404, detail="organization not found")
    return {"id": organization.organization_id, "name": organization.name}
"""

API_ORGANIZATIONS_WITH_OVERVIEW = (
    API_ORGANIZATIONS
    + """

@router.patch("/{organization_id}/company-overview")
def update_company_overview(
    organization_id: int, changes: dict[str, str | None], session: Session = Depends(get_session)
) -> dict:
    organization = organization_service.get_organization(session, organization_id)
    if organization is None:
        raise HTTPException(status_code=404, detail="organization not found")
    try:
        organization_service.update_company_overview(session, organization, changes)
    except ValueError as error:
        raise HTTPException(status_code=422, detail=str(error)) from error
    session.commit()
    return {name: getattr(organization, name) for name in organization_service.OVERVIEW_FIELDS}
"""
)

API_COMPLIANCE_REPORTS = """\
from fastapi import APIRouter, Depends, HTTPException
from sqlalchemy.orm import Session

from app.db import get_session
from app.models import ComplianceReport
from app.services import compliance_service

router = APIRouter(prefix="/reports", tags=["compliance reports"])


@router.get("/{report_id}/summary")
def read_summary(report_id: int, session: Session = Depends(get_session)) -> dict:
    report = session.get(ComplianceReport, report_id)
    if report is None:
        raise HTTPException(status_code=404, detail="report not found")
    return {
        "credits_offset": compliance_service.total_credits_offset(report.summary),
        "penalty_payable": str(compliance_service.penalty_payable(report.summary)),
        "editable": compliance_service.can_edit(report),
    }
"""

API_COMPLIANCE_REPORTS_WITH_HISTORY = replace_once(
    API_COMPLIANCE_REPORTS,
    '        "editable": compliance_service.can_edit(report),\n',
    '        "editable": compliance_service.can_edit(report),\n'
    '        "historical": compliance_service.historical_values(report.summary),\n',
)

API_TRANSFERS = """\
from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session

from app.db import get_session
from app.services import transfer_service

router = APIRouter(prefix="/transfers", tags=["transfers"])


@router.get("/organization/{organization_id}")
def list_transfers(organization_id: int, session: Session = Depends(get_session)) -> list[dict]:
    return [
        {"id": s.transfer_id, "quantity": s.quantity, "total_value": str(s.total_value)}
        for s in transfer_service.summarize(session, organization_id)
    ]
"""

API_TRANSFERS_BY_DATE = (
    replace_once(
        API_TRANSFERS, "from fastapi import", "from datetime import date\n\nfrom fastapi import"
    )
    + """

@router.get("/agreed")
def list_agreed(start: date, end: date, session: Session = Depends(get_session)) -> list[dict]:
    return [
        {"id": t.transfer_id, "agreement_date": t.agreement_date.isoformat()}
        for t in transfer_service.transfers_agreed_between(session, start, end)
    ]
"""
)

API_PENALTIES = """\
from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session

from app.db import get_session
from app.services import penalty_service

router = APIRouter(prefix="/penalties", tags=["penalties"])


@router.get("/organization/{organization_id}")
def list_penalties(organization_id: int, session: Session = Depends(get_session)) -> dict:
    penalties = penalty_service.penalties_for(session, organization_id)
    return {
        "total": str(penalty_service.total_penalties(penalties)),
        "items": [
            {"id": p.penalty_log_id, "type": p.contravention_type, "amount": str(p.penalty_amount)}
            for p in penalties
        ],
    }
"""
