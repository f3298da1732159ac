"""The demo's history: who committed what, when, on which branch.

``main`` grows a small fuel credits app over three months; the feature branch
then overhauls it in thirteen commits that mix migrations, models, services,
ETL and frontend, the way a real long-lived branch does. While the branch is
open, ``main`` gains a bug fix in a file the branch also edits and a new
migration (so the branch's first revision must be re-chained before merging).
Commits are listed in date order; a branch's first commit forks from the tip
``main`` had at that moment.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from stager.demo import backend_api as api
from stager.demo import backend_code as code
from stager.demo import backend_models as models
from stager.demo import etl, frontend, project
from stager.demo import migrations_base as mb
from stager.demo import migrations_branch as mf
from stager.demo.alembic_files import ALEMBIC_INI, ENV_PY, SCRIPT_PY_MAKO, Migration

BASE_BRANCH = "main"
HEAD_BRANCH = "feature/fuel-credits-overhaul"


@dataclass(frozen=True)
class Person:
    name: str
    email: str
    utc_offset: str  # as git writes it, e.g. "-0700"


@dataclass(frozen=True)
class DemoCommit:
    """One commit: ``files`` maps a path to its new content (None deletes it)."""

    branch: str
    author: Person
    date: str  # "YYYY-MM-DD HH:MM", local time of the author
    message: str
    files: Mapping[str, str | None]


ALEX = Person("Alex Rivera", "alex.rivera@fuelcredits.example", "-0700")
PRIYA = Person("Priya Natarajan", "priya.natarajan@fuelcredits.example", "-0400")
SAM = Person("Sam Okafor", "sam.okafor@fuelcredits.example", "+0100")
MEI = Person("Mei Tanaka", "mei.tanaka@fuelcredits.example", "-0700")

APP = "backend/app"
MODELS = models.MODELS
SERVICES = f"{APP}/services"
API = f"{APP}/api"
TESTS = "backend/tests"
ETL = etl.ETL
SRC = frontend.SRC
VIEWS = f"{SRC}/views"


def _migrations(*revisions: Migration) -> dict[str, str | None]:
    return {revision.path: revision.render() for revision in revisions}


def _commit(
    branch: str, author: Person, date: str, message: str, *groups: Mapping[str, str | None]
) -> DemoCommit:
    files: dict[str, str | None] = {}
    for group in groups:
        files.update(group)
    return DemoCommit(branch, author, date, message, files)


def _main(author: Person, date: str, message: str, *groups: Mapping[str, str | None]) -> DemoCommit:
    return _commit(BASE_BRANCH, author, date, message, *groups)


def _feature(
    author: Person, date: str, message: str, *groups: Mapping[str, str | None]
) -> DemoCommit:
    return _commit(HEAD_BRANCH, author, date, message, *groups)


BEFORE_BRANCH: tuple[DemoCommit, ...] = (
    _main(
        ALEX,
        "2024-01-08 09:05",
        "Initial project skeleton\n\nFastAPI backend with Alembic, React frontend, CI.",
        {
            ".gitignore": project.GITIGNORE,
            "README.md": project.README,
            ".github/workflows/ci.yml": project.CI,
            "backend/pyproject.toml": code.PYPROJECT,
            "backend/alembic.ini": ALEMBIC_INI,
            "backend/migrations/env.py": ENV_PY,
            "backend/migrations/script.py.mako": SCRIPT_PY_MAKO,
            f"{APP}/__init__.py": code.APP_INIT,
            f"{APP}/db.py": code.DB,
            f"{MODELS}/base.py": models.BASE,
            "frontend/package.json": frontend.PACKAGE_JSON,
            f"{SRC}/api.js": frontend.API_JS,
        },
    ),
    _main(
        ALEX,
        "2024-01-08 10:40",
        "Add organizations and user profiles",
        _migrations(mb.CREATE_ORGANIZATION, mb.CREATE_USER_PROFILE),
        {
            f"{MODELS}/__init__.py": models.MODELS_INIT_USERS,
            f"{MODELS}/organization.py": models.ORGANIZATION,
            f"{MODELS}/user.py": models.USER,
            f"{SERVICES}/__init__.py": "",
            f"{SERVICES}/organization_service.py": code.ORGANIZATION_SERVICE,
            f"{API}/__init__.py": "",
            f"{API}/organizations.py": api.API_ORGANIZATIONS,
            f"{SRC}/hooks/useOrganization.js": frontend.USE_ORGANIZATION,
            f"{VIEWS}/Organizations/OrganizationDetails.jsx": frontend.ORGANIZATION_DETAILS,
        },
    ),
    _main(
        PRIYA,
        "2024-01-15 14:50",
        "Add fuel types and compliance periods",
        _migrations(mb.CREATE_FUEL_TYPE, mb.CREATE_COMPLIANCE_PERIOD),
        {
            f"{MODELS}/__init__.py": models.MODELS_INIT_FUEL,
            f"{MODELS}/fuel.py": models.FUEL,
        },
    ),
    _main(
        PRIYA,
        "2024-01-29 12:10",
        "Add compliance reports and their summaries",
        _migrations(mb.CREATE_COMPLIANCE_REPORT, mb.CREATE_COMPLIANCE_REPORT_SUMMARY),
        {
            f"{MODELS}/__init__.py": models.MODELS_INIT_REPORTS,
            f"{MODELS}/compliance_report.py": models.COMPLIANCE_REPORT,
            f"{SERVICES}/compliance_service.py": code.COMPLIANCE_SERVICE,
            f"{API}/compliance_reports.py": api.API_COMPLIANCE_REPORTS,
            f"{TESTS}/test_compliance_service.py": code.TEST_COMPLIANCE_SERVICE,
        },
    ),
    _main(
        SAM,
        "2024-02-12 11:30",
        "Add credit transfers and the credit ledger",
        _migrations(mb.CREATE_TRANSFER, mb.CREATE_CREDIT_LEDGER),
        {
            f"{MODELS}/__init__.py": models.MODELS_INIT_TRANSFERS,
            f"{MODELS}/transfer.py": models.TRANSFER,
            f"{MODELS}/credit_ledger.py": models.CREDIT_LEDGER,
            f"{SERVICES}/transfer_service.py": code.TRANSFER_SERVICE,
            f"{API}/transfers.py": api.API_TRANSFERS,
            f"{APP}/main.py": api.MAIN,
            f"{TESTS}/test_transfer_service.py": code.TEST_TRANSFER_SERVICE,
            f"{SRC}/App.jsx": frontend.APP_JSX,
            f"{VIEWS}/Transfers/TransferList.jsx": frontend.TRANSFER_LIST,
        },
    ),
    _main(
        MEI,
        "2024-02-26 15:45",
        "Store organization addresses",
        _migrations(mb.ADD_ORGANIZATION_ADDRESS),
        {f"{MODELS}/organization.py": models.ORGANIZATION_WITH_ADDRESS},
    ),
    _main(
        SAM,
        "2024-03-11 10:20",
        "Fuel supply schedule and transfer comments",
        _migrations(mb.CREATE_FUEL_SUPPLY, mb.ADD_TRANSFER_COMMENTS),
        {
            f"{MODELS}/__init__.py": models.MODELS_INIT_FUEL_SUPPLY,
            f"{MODELS}/fuel_supply.py": models.FUEL_SUPPLY,
            f"{MODELS}/transfer.py": models.TRANSFER_WITH_COMMENTS,
        },
    ),
    _main(
        PRIYA,
        "2024-03-25 16:30",
        "Index compliance reports by organization and period",
        _migrations(mb.ADD_COMPLIANCE_REPORT_INDEXES),
    ),
)

WHILE_BRANCH_OPEN: tuple[DemoCommit, ...] = (
    _feature(
        ALEX,
        "2024-04-08 11:00",
        "Company overview fields on organizations",
        _migrations(mf.ADD_COMPANY_OVERVIEW),
        {
            f"{MODELS}/organization.py": models.ORGANIZATION_WITH_OVERVIEW,
            f"{SERVICES}/organization_service.py": code.ORGANIZATION_SERVICE_WITH_OVERVIEW,
            f"{API}/organizations.py": api.API_ORGANIZATIONS_WITH_OVERVIEW,
            f"{SRC}/hooks/useOrganization.js": frontend.USE_ORGANIZATION_WITH_OVERVIEW,
            f"{VIEWS}/Organizations/OrganizationDetails.jsx": (
                frontend.ORGANIZATION_DETAILS_WITH_OVERVIEW
            ),
        },
    ),
    _feature(
        PRIYA,
        "2024-04-09 15:00",
        "Penalty log",
        _migrations(mf.CREATE_PENALTY_LOG_FIRST),
        {
            f"{MODELS}/__init__.py": models.MODELS_INIT_PENALTY,
            f"{MODELS}/penalty_log.py": models.PENALTY_LOG,
            f"{SERVICES}/penalty_service.py": code.PENALTY_SERVICE,
            f"{API}/penalties.py": api.API_PENALTIES,
            f"{APP}/main.py": api.MAIN_WITH_PENALTIES,
            f"{TESTS}/test_penalty_service.py": code.TEST_PENALTY_SERVICE,
            f"{SRC}/hooks/usePenaltyLog.js": frontend.USE_PENALTY_LOG,
            f"{VIEWS}/Penalties/PenaltyLog.jsx": frontend.PENALTY_LOG,
            f"{SRC}/App.jsx": frontend.APP_JSX_WITH_PENALTIES,
        },
    ),
    _feature(
        PRIYA,
        "2024-04-10 09:20",
        "fix migration order\n\nThe penalty log revision was chained onto the same parent as the\n"
        "company overview one: two heads.",
        _migrations(mf.CREATE_PENALTY_LOG),
    ),
    _feature(
        ALEX,
        "2024-04-11 13:40",
        "Index transfers by agreement date",
        _migrations(mb.CREATE_TRANSFER_EDITED),
        {
            f"{SERVICES}/transfer_service.py": code.TRANSFER_SERVICE_AGREED_BETWEEN,
            f"{API}/transfers.py": api.API_TRANSFERS_BY_DATE,
        },
    ),
    _feature(
        SAM,
        "2024-04-16 12:00",
        "Historical carbon intensity targets and renewable diesel",
        _migrations(mf.CREATE_TARGET_CARBON_INTENSITY, mf.ADD_HISTORICAL_REFERENCE_DATA),
        {
            f"{MODELS}/__init__.py": models.MODELS_INIT_TARGETS,
            f"{MODELS}/fuel.py": models.FUEL_WITH_TARGETS,
        },
    ),
    _main(
        MEI,
        "2024-04-18 10:05",
        "Refuse credit transfers from an organization to itself",
        {
            f"{SERVICES}/transfer_service.py": code.TRANSFER_SERVICE_FIXED,
            f"{TESTS}/test_transfer_service.py": code.TEST_TRANSFER_SERVICE_FIXED,
        },
    ),
    _main(
        SAM,
        "2024-04-22 10:30",
        "Record which analyst recorded a transfer",
        _migrations(mb.ADD_TRANSFER_RECORDED_BY),
        {f"{MODELS}/transfer.py": models.TRANSFER_WITH_RECORDED_BY},
    ),
    _feature(
        MEI,
        "2024-04-23 09:40",
        "Add BETA_TESTER role",
        _migrations(mf.ADD_BETA_TESTER_ROLE),
        {f"{MODELS}/user.py": models.USER_WITH_BETA_TESTER},
    ),
    _feature(
        SAM,
        "2024-04-25 17:10",
        "ETL: core package and compliance summary import",
        {
            f"{ETL}/core/__init__.py": etl.CORE_INIT,
            f"{ETL}/core/config.py": etl.CORE_CONFIG,
            f"{ETL}/core/database.py": etl.CORE_DATABASE,
            f"{ETL}/core/utils.py": etl.CORE_UTILS,
            f"{ETL}/migrate_compliance_summaries.py": etl.MIGRATE_COMPLIANCE_SUMMARIES,
            f"{ETL}/Makefile": etl.MAKEFILE,
            "backend/pyproject.toml": code.PYPROJECT_WITH_ETL,
        },
    ),
    _feature(
        ALEX,
        "2024-05-02 16:45",
        "wip",
        _migrations(mf.ADD_HISTORICAL_SNAPSHOT),
        {
            f"{MODELS}/compliance_report.py": models.COMPLIANCE_REPORT_WITH_SNAPSHOT,
            f"{SERVICES}/compliance_service.py": code.COMPLIANCE_SERVICE_WITH_SNAPSHOT,
            f"{VIEWS}/ComplianceReports/HistoricalSnapshot.jsx": frontend.HISTORICAL_SNAPSHOT,
            "README.md": project.README_WITH_ETL,
        },
    ),
    _feature(
        SAM,
        "2024-05-08 11:15",
        "ETL: remaining imports and orchestrator",
        {
            f"{ETL}/migrate_data_cleanup.py": etl.MIGRATE_DATA_CLEANUP,
            f"{ETL}/migrate_penalty_logs.py": etl.MIGRATE_PENALTY_LOGS,
            f"{ETL}/migrate_fuel_supply.py": etl.MIGRATE_FUEL_SUPPLY,
            f"{ETL}/run_all_migrations.py": etl.RUN_ALL_MIGRATIONS,
            f"{ETL}/Makefile": etl.MAKEFILE_ALL,
            ".github/workflows/ci.yml": project.CI_WITH_ETL,
        },
    ),
    _feature(
        ALEX,
        "2024-05-13 10:30",
        "Backfill historical snapshots from the legacy columns",
        _migrations(mf.BACKFILL_HISTORICAL_SNAPSHOT),
        {f"{API}/compliance_reports.py": api.API_COMPLIANCE_REPORTS_WITH_HISTORY},
    ),
    _feature(
        MEI,
        "2024-05-15 14:00",
        "Penalty log: show dates, add a test",
        {
            "frontend/package.json": frontend.PACKAGE_JSON_WITH_DAYJS,
            f"{VIEWS}/Penalties/PenaltyLog.jsx": frontend.PENALTY_LOG_WITH_DATES,
            f"{VIEWS}/Penalties/__tests__/PenaltyLog.test.jsx": frontend.PENALTY_LOG_TEST,
        },
    ),
    _feature(
        ALEX,
        "2024-05-20 12:00",
        "Drop legacy credits_offset columns\n\nThe values now live in historical_snapshot.",
        _migrations(mf.DROP_CREDITS_OFFSET),
        {
            f"{MODELS}/compliance_report.py": models.COMPLIANCE_REPORT_CONTRACTED,
            f"{SERVICES}/compliance_service.py": code.COMPLIANCE_SERVICE_CONTRACTED,
            f"{TESTS}/test_compliance_service.py": code.TEST_COMPLIANCE_SERVICE_CONTRACTED,
        },
    ),
    _feature(
        PRIYA,
        "2024-05-21 09:30",
        "docs: legacy import runbook",
        {"docs/etl.md": project.DOCS_ETL},
    ),
)

HISTORY: tuple[DemoCommit, ...] = BEFORE_BRANCH + WHILE_BRANCH_OPEN
"""Every commit of the demo, in the order they are written."""
