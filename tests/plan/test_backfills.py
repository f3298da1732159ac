"""SP006: a backfill planned before the code that stops writing what it copies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from stager.cli import cli
from stager.demo import DemoRepository
from tests.gitrepo import GitRepo
from tests.plan.helpers import RULES, make_branch, revision_file, version_path
from tests.plan.test_dropped_uses import analyze_json, findings

H0 = "h0000000000a"
ADD = "a0000000000b"
FILL = "b0000000000c"
DROP = "c0000000000d"
BACKFILL_FILE = (
    "backend/migrations/versions/2024_05_13_1000-c7a9e1b3d5f7_backfill_historical_snapshot.py"
)

SERVICE_BASE = """\
from app.models.summary import Summary


def record(summary: Summary, total: int) -> None:
    summary.legacy_total = total
"""
SERVICE_HEAD = """\
from app.models.summary import Summary


def record(summary: Summary, total: int) -> None:
    summary.snapshot = {"total": total}
"""
MODEL = """\
import sqlalchemy as sa
from app.db import Base


class Summary(Base):
    __tablename__ = "summary"
    id = sa.Column(sa.Integer, primary_key=True)
"""
# Phase 1 schema, 2 data, 3 code, 4 drops; the second rules put the data after the code.
DATA_AFTER_CODE = RULES.replace(
    '[[phase]]\nname = "data"\ncategories = ["migration-data"]\n\n', ""
).replace(
    '[[phase]]\nname = "contract"',
    '[[phase]]\nname = "data"\ncategories = ["migration-data"]\n\n[[phase]]\nname = "contract"',
)


SQL_BACKFILL = (
    "op.execute(\"UPDATE summary SET snapshot = json_build_object('total', "
    'legacy_total) WHERE snapshot IS NULL")'
)


def expand_migrate_contract(repo: GitRepo, backfill: str = SQL_BACKFILL) -> None:
    """Add ``snapshot``, copy ``legacy_total`` into it, stop writing it, drop it."""
    make_branch(
        repo,
        {
            version_path(H0): revision_file(
                H0,
                None,
                'op.create_table("summary", sa.Column("id", sa.Integer), '
                'sa.Column("legacy_total", sa.Integer))',
            ),
            "app/__init__.py": "",
            "app/db.py": "Base = object\n",
            "app/models/summary.py": MODEL + "    legacy_total = sa.Column(sa.Integer)\n",
            "app/service.py": SERVICE_BASE,
        },
        {
            version_path(ADD): revision_file(
                ADD, H0, 'op.add_column("summary", sa.Column("snapshot", sa.JSON()))'
            ),
            version_path(FILL): revision_file(FILL, ADD, backfill),
            version_path(DROP): revision_file(
                DROP, FILL, 'op.drop_column("summary", "legacy_total")'
            ),
            "app/models/summary.py": MODEL + "    snapshot = sa.Column(sa.JSON)\n",
            "app/service.py": SERVICE_HEAD,
        },
    )


def test_backfill_before_the_code_stops_writing_is_reported(repo: GitRepo, tmp_path: Path) -> None:
    expand_migrate_contract(repo)
    data = analyze_json(repo, tmp_path)
    [finding] = findings(data, "SP006")
    assert finding["path"] == version_path(FILL)
    source = (repo.path / version_path(FILL)).read_text().splitlines()
    assert "UPDATE summary" in source[finding["line"] - 1]
    message = finding["message"]
    assert "reads the column summary.legacy_total in phase 2 (data)" in message
    assert "stops writing it only in phase 3 (code: " in message
    assert "app/service.py)" in message
    assert f"migration {DROP} drops it in phase 4 (contract)" in message
    assert "move the data migration to phase 3" in finding["hint"]


def test_backfill_after_the_code_stops_writing_is_fine(repo: GitRepo, tmp_path: Path) -> None:
    expand_migrate_contract(repo)
    data = analyze_json(repo, tmp_path, DATA_AFTER_CODE)
    phase = {f["path"]: f["phase"] for f in data["files"]}
    # the service starts reading what the backfill fills: it joins the data phase
    assert phase["app/service.py"] == phase[version_path(FILL)] == 3
    assert phase[version_path(DROP)] == 4
    assert findings(data, "SP006") == []


def test_the_demo_backfill_copies_before_the_code_stops_writing(
    demo: DemoRepository, tmp_path: Path
) -> None:
    result = CliRunner().invoke(
        cli,
        ["-C", str(demo.path), "plan", "--format", "json"],
        catch_exceptions=False,
    )
    data = json.loads(result.stdout)
    [finding] = [f for f in data["findings"] if f["rule"] == "SP006"]
    assert finding["path"] == BACKFILL_FILE
    message = finding["message"]
    assert message.startswith("data migration c7a9e1b3d5f7 reads the columns ")
    for column in ("credits_offset_a", "credits_offset_b", "credits_offset_c"):
        assert f"compliance_report_summary.{column}" in message
    assert "in phase 2 (data)" in message
    assert "only in phase 3 (application:" in message
    assert "backend/app/services/compliance_service.py" in message
    assert "migration 4f6a8c0e2a4c drops them in phase 4 (etl-and-contract)" in message


# Backfills written with SQLAlchemy, read with ast: declarations, t.c.name, text() SQL.
SUMMARY = 'summary = sa.table("summary", sa.column("legacy_total"), sa.column("snapshot"))\n'
SQLALCHEMY_BACKFILLS = {
    "table update": SUMMARY
    + "op.execute(\n"
    + "    summary.update()\n"
    + "    .where(summary.c.snapshot.is_(None))\n"
    + "    .values(snapshot=sa.func.json_build_object('total', summary.c.legacy_total))\n"
    + ")",
    "sa.update": SUMMARY
    + "op.execute(sa.update(summary).values(snapshot=summary.c['legacy_total']))",
    "bound statement": SUMMARY
    + "statement = summary.update().values(snapshot=summary.c.legacy_total)\n"
    + "op.execute(statement)",
    "select then update": SUMMARY
    + "conn = op.get_bind()\n"
    + "for row in conn.execute(summary.select()):\n"
    + "    conn.execute(summary.update().values(snapshot={'total': row.legacy_total}))",
    "get_bind text": "conn = op.get_bind()\n"
    + "conn.execute(\n"
    + "    sa.text(\"UPDATE summary SET snapshot = json_build_object('total', legacy_total)\")\n"
    + ")",
    "sa.Table": "summary = sa.Table(\n"
    + '    "summary", sa.MetaData(), sa.Column("legacy_total", sa.Integer), sa.Column("snapshot")\n'
    + ")\n"
    + "op.execute(summary.update().values(snapshot=summary.c.legacy_total))",
}


@pytest.mark.parametrize("backfill", SQLALCHEMY_BACKFILLS.values(), ids=SQLALCHEMY_BACKFILLS.keys())
def test_a_backfill_written_with_sqlalchemy_is_read_too(
    repo: GitRepo, tmp_path: Path, backfill: str
) -> None:
    expand_migrate_contract(repo, backfill)
    [finding] = findings(analyze_json(repo, tmp_path), "SP006")
    assert finding["path"] == version_path(FILL)
    assert "reads the column summary.legacy_total in phase 2 (data)" in finding["message"]
    # on the line that names the column (or its statement), not the revision id
    source = (repo.path / version_path(FILL)).read_text().splitlines()
    assert "revision = " not in source[finding["line"] - 1]


def test_a_sqlalchemy_backfill_of_another_tables_column_of_that_name_is_fine(
    repo: GitRepo, tmp_path: Path
) -> None:
    other = (
        'archive = sa.table("archive", sa.column("legacy_total"))\n'
        "op.execute(archive.update().values(legacy_total=0))"
    )
    expand_migrate_contract(repo, other)
    assert findings(analyze_json(repo, tmp_path), "SP006") == []
