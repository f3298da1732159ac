"""SP005 on enum values: a value a branch migration removes that head's code still names."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from tests.gitrepo import GitRepo
from tests.plan.helpers import make_branch, revision_file, version_path
from tests.plan.test_dropped_uses import analyze_json, findings

H0 = "h0000000000a"
DROP = "e0000000000b"
CREATE = (
    'op.create_table("report", sa.Column("id", sa.Integer), '
    'sa.Column("state", sa.Enum("draft", "active", "archived", name="report_state")))'
)
MODEL = """\
import enum

import sqlalchemy as sa
from app.db import Base


class ReportState(str, enum.Enum):
    DRAFT = "draft"
    ACTIVE = "active"
    ARCHIVED = "archived"


class Report(Base):
    __tablename__ = "report"
    id = sa.Column(sa.Integer, primary_key=True)
    state = sa.Column(sa.Enum(ReportState, name="report_state"))
"""
SWAP = """\
op.execute("ALTER TYPE report_state RENAME TO report_state_old")
op.execute("CREATE TYPE report_state AS ENUM ('draft', 'active')")
op.execute(
    "ALTER TABLE report ALTER COLUMN state TYPE report_state USING state::text::report_state"
)
op.execute("DROP TYPE report_state_old")"""
SHAPES = {
    # the new type made under the old name: the finding is on the CREATE TYPE
    "rename, create, drop": (SWAP, "CREATE TYPE report_state"),
    "sa.Enum create and drop": (
        'new = sa.Enum("draft", "active", name="report_state_new")\n'
        "new.create(op.get_bind())\n"
        'op.execute("ALTER TABLE report ALTER COLUMN state TYPE report_state_new '
        'USING state::text::report_state_new")\n'
        'sa.Enum(name="report_state").drop(op.get_bind())\n'
        'op.execute("ALTER TYPE report_state_new RENAME TO report_state")',
        "sa.Enum(name=",
    ),
    "alter_column": (
        'op.alter_column("report", "state",\n'
        '    type_=sa.Enum("draft", "active", name="report_state"),\n'
        '    existing_type=sa.Enum("draft", "active", "archived", name="report_state"),\n'
        '    postgresql_using="state::text::report_state")',
        "op.alter_column",
    ),
    "rename value": (
        "op.execute(\"ALTER TYPE report_state RENAME VALUE 'archived' TO 'retired'\")",
        "RENAME VALUE",
    ),
}
USES = {
    # still a member of the Python enum the model maps the column with
    "app/services/archive.py": (
        "from app.models.report import Report, ReportState\n\n\n"
        "def archive(report: Report) -> None:\n"
        "    report.state = ReportState.ARCHIVED\n"
        '    if report.state == "archived":\n'
        "        pass\n"
    ),
    "tests/test_state.py": (
        "from app.models.report import ReportState\n\n\n"
        "def test_parse() -> None:\n"
        '    assert ReportState("archived") is ReportState["ARCHIVED"]\n'
    ),
    "sql/cleanup.sql": "DELETE FROM report WHERE state = 'archived'::report_state;\n",
}
EXPECTED = (
    "app/models/report.py:10",
    "app/services/archive.py:5",
    "app/services/archive.py:6",
    "tests/test_state.py:5",
    "sql/cleanup.sql:1",
)


def branch_removing_archived(
    repo: GitRepo, upgrade: str, others: Mapping[str, str], create: str = CREATE
) -> None:
    make_branch(
        repo,
        {
            version_path(H0): revision_file(H0, None, create),
            "app/__init__.py": "",
            "app/db.py": "Base = object\n",
            "app/models/report.py": MODEL,
            **others,
        },
        {version_path(DROP): revision_file(DROP, H0, upgrade)},
    )


@pytest.mark.parametrize(("upgrade", "line_text"), SHAPES.values(), ids=SHAPES.keys())
def test_a_removed_enum_value_head_still_names(
    repo: GitRepo, tmp_path: Path, upgrade: str, line_text: str
) -> None:
    branch_removing_archived(repo, upgrade, USES)
    [finding] = findings(analyze_json(repo, tmp_path), "SP005")
    assert finding["path"] == version_path(DROP)
    source = (repo.path / version_path(DROP)).read_text().splitlines()
    assert line_text in source[finding["line"] - 1]
    message = finding["message"]
    assert "removes the value 'archived' of enum type report_state" in message
    for place in EXPECTED:
        assert place in message
    assert f"{len(EXPECTED)} places" in message


def test_a_dropped_enum_type_lists_each_value_still_named(repo: GitRepo, tmp_path: Path) -> None:
    upgrade = 'op.drop_column("report", "state")\nop.execute("DROP TYPE report_state")'
    branch_removing_archived(repo, upgrade, USES)
    found = findings(analyze_json(repo, tmp_path), "SP005")
    [values] = [f for f in found if "enum type" in f["message"]]
    assert (
        "removes the values 'active', 'archived', 'draft' of enum type report_state"
        in (values["message"])
    )
    assert "app/models/report.py:8" in values["message"]  # DRAFT = "draft"


def test_the_same_word_elsewhere_is_not_a_use(repo: GitRepo, tmp_path: Path) -> None:
    branch_removing_archived(
        repo,
        SWAP,
        {
            # no import of the model or its enum: a word, not the value
            "app/labels.py": 'LABEL = "archived"\n',
            # another enum with a member of that name, not the column's
            "app/users.py": (
                "import enum\n\n\n"
                "class UserState(enum.Enum):\n"
                '    ARCHIVED = "archived"\n\n\n'
                "def gone(state: UserState) -> bool:\n"
                "    return state is UserState.ARCHIVED\n"
            ),
            "README.md": "Reports are archived after a year.\n",
            "sql/old.sql": "SELECT 'archived' AS label;\n",
            "app/reviewed.py": (
                "from app.models.report import ReportState\n\n"
                "OLD = ReportState.ARCHIVED  # stager: ignore[SP005]\n"
            ),
        },
    )
    [finding] = findings(analyze_json(repo, tmp_path), "SP005")
    # only the enum class's own member is left
    assert "1 place:" in finding["message"]
    assert "app/models/report.py:10" in finding["message"]


def test_an_enum_value_removal_marked_ignore_is_not_reported(repo: GitRepo, tmp_path: Path) -> None:
    upgrade = SWAP.replace(
        "('draft', 'active')\")", "('draft', 'active')\")  # stager: ignore[SP005]"
    )
    branch_removing_archived(repo, upgrade, USES)
    assert findings(analyze_json(repo, tmp_path), "SP005") == []


def test_adding_an_enum_value_reports_nothing(repo: GitRepo, tmp_path: Path) -> None:
    upgrade = "op.execute(\"ALTER TYPE report_state ADD VALUE 'retired'\")"
    branch_removing_archived(repo, upgrade, USES)
    assert findings(analyze_json(repo, tmp_path), "SP005") == []


def test_values_stored_as_the_member_names(repo: GitRepo, tmp_path: Path) -> None:
    # sa.Enum(ReportState) stores the names: the type's values are DRAFT, ACTIVE, ARCHIVED
    create = CREATE.replace('"draft", "active", "archived"', '"DRAFT", "ACTIVE", "ARCHIVED"')
    upgrade = SWAP.replace("('draft', 'active')", "('DRAFT', 'ACTIVE')")
    branch_removing_archived(repo, upgrade, USES, create)
    [finding] = findings(analyze_json(repo, tmp_path), "SP005")
    message = finding["message"]
    assert "removes the value 'ARCHIVED' of enum type report_state" in message
    assert "app/models/report.py:10" in message  # ARCHIVED = "archived", still a member
    assert "app/services/archive.py:5" in message  # ReportState.ARCHIVED
    assert "tests/test_state.py:5" in message  # ReportState["ARCHIVED"]
