"""SP005: a dropped column or table that head's files still name, found as `analyze` reports it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from stager.cli import cli
from tests.gitrepo import GitRepo
from tests.plan.helpers import RULES, make_branch, revision_file, version_path

H0 = "h0000000000a"
DROP = "d0000000000b"
MODEL = """\
import sqlalchemy as sa
from app.db import Base


class Report(Base):
    __tablename__ = "report"
    id = sa.Column(sa.Integer, primary_key=True)
    status = sa.Column(sa.String)
{legacy}"""
LEGACY = "    legacy_total = sa.Column(sa.Integer)\n"
CREATE = (
    'op.create_table("report", sa.Column("id", sa.Integer), sa.Column("legacy_total", sa.Integer))'
)
DROP_LINE = 'op.drop_column("report", "legacy_total")'


def analyze_json(repo: GitRepo, tmp_path: Path, rules: str = RULES) -> dict[str, Any]:
    rules_path = tmp_path / "rules.toml"
    rules_path.write_text(rules, encoding="utf-8")
    result = CliRunner().invoke(
        cli,
        [
            "-C",
            str(repo.path),
            "--rules",
            str(rules_path),
            "analyze",
            "--format",
            "json",
            "--base",
            "main",
            "--head",
            "feature",
        ],
        catch_exceptions=False,
    )
    assert result.exit_code in (0, 4), result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def findings(data: Mapping[str, Any], rule: str) -> list[dict[str, Any]]:
    return [finding for finding in data["findings"] if finding["rule"] == rule]


def branch_dropping_legacy(repo: GitRepo, others: Mapping[str, str], drop: str = DROP_LINE) -> None:
    """The base maps ``report.legacy_total``; the branch drops it and the model stops mapping it.

    ``others`` are files of the base that the branch never touches.
    """
    make_branch(
        repo,
        {
            version_path(H0): revision_file(H0, None, CREATE),
            "app/__init__.py": "",
            "app/db.py": "Base = object\n",
            "app/models/report.py": MODEL.format(legacy=LEGACY),
            **others,
        },
        {
            version_path(DROP): revision_file(DROP, H0, drop),
            "app/models/report.py": MODEL.format(legacy=""),
        },
    )


def test_untouched_test_sql_and_template_still_using_a_dropped_column(
    repo: GitRepo, tmp_path: Path
) -> None:
    branch_dropping_legacy(
        repo,
        {
            # a test the branch forgot: an instance's attribute, a keyword, the class
            "tests/test_report.py": (
                "from app.models.report import Report\n\n\n"
                "def test_total():\n"
                "    report = Report(legacy_total=3)\n"
                "    assert report.legacy_total == 3\n"
                "    assert Report.legacy_total is not None\n"
            ),
            "sql/stats.sql": "SELECT r.id, report.legacy_total FROM report r;\n",
            "templates/report.html": "<td>{{ report.legacy_total }}</td>\n",
        },
    )
    data = analyze_json(repo, tmp_path)
    [finding] = findings(data, "SP005")
    assert finding["path"] == version_path(DROP)
    assert finding["risk"] == "high"
    # the drop's own line in the revision file
    source = (repo.path / version_path(DROP)).read_text().splitlines()
    assert source[finding["line"] - 1].strip() == DROP_LINE
    message = finding["message"]
    assert "drops the column report.legacy_total" in message
    for place in (
        "tests/test_report.py:5",
        "tests/test_report.py:6",
        "tests/test_report.py:7",
        "sql/stats.sql:1",
        "templates/report.html:1",
    ):
        assert place in message
    assert "5 places" in message
    assert "expand/contract" in finding["hint"]


def test_bare_names_in_unrelated_files_and_the_migrations_are_not_uses(
    repo: GitRepo, tmp_path: Path
) -> None:
    branch_dropping_legacy(
        repo,
        {
            # an HTTP client's field of the same name: no import of the model
            "app/client.py": "def total(response):\n    return response.legacy_total\n",
            # a dict key and a docstring word in a file that imports the model
            "app/export.py": (
                "from app.models.report import Report\n\n"
                'FIELDS = {"legacy_total": "Legacy total"}\n'
                "# legacy_total was the old figure\n"
            ),
            "README.md": "The legacy_total column is gone.\n",
            # reviewed: silenced where it is written
            "tests/test_old.py": (
                "from app.models.report import Report\n\n\n"
                "def test_old(report: Report):\n"
                "    assert report.legacy_total  # stager: ignore[SP005]\n"
                "    assert report.legacy_total  # stager: ignore\n"
                "    assert report.legacy_total  # stager: ignore[SM001]\n"
            ),
        },
    )
    [finding] = findings(analyze_json(repo, tmp_path), "SP005")
    # only the line whose comment silences another rule is left
    assert finding["message"].count("tests/") == 1
    assert "tests/test_old.py:7" in finding["message"]
    assert "1 place:" in finding["message"]


def test_no_finding_when_nothing_uses_the_dropped_column_any_more(
    repo: GitRepo, tmp_path: Path
) -> None:
    # The revision that created the column names it; it is history, not a use.
    branch_dropping_legacy(repo, {"app/client.py": "def total(r):\n    return r.legacy\n"})
    assert findings(analyze_json(repo, tmp_path), "SP005") == []


def test_drop_line_marked_ignore_and_rules_toml_silence_it(repo: GitRepo, tmp_path: Path) -> None:
    using = {"sql/stats.sql": "SELECT report.legacy_total FROM report;\n"}
    branch_dropping_legacy(repo, using, drop=f"{DROP_LINE}  # stager: ignore[SP005]")
    assert findings(analyze_json(repo, tmp_path), "SP005") == []


def test_rules_toml_ignore_globs_leave_out_places(repo: GitRepo, tmp_path: Path) -> None:
    branch_dropping_legacy(
        repo,
        {
            "sql/stats.sql": "SELECT report.legacy_total FROM report;\n",
            "legacy/old.sql": "SELECT report.legacy_total FROM report;\n",
        },
    )
    rules = RULES + '\n[rules.SP005]\nignore = ["legacy/**"]\n'
    [finding] = findings(analyze_json(repo, tmp_path, rules), "SP005")
    assert "sql/stats.sql:1" in finding["message"]
    assert "legacy/" not in finding["message"]


def test_a_dropped_table_named_in_sql_and_a_still_mapped_model(
    repo: GitRepo, tmp_path: Path
) -> None:
    branch_dropping_legacy(
        repo,
        {
            "app/models/audit.py": (
                "import sqlalchemy as sa\nfrom app.db import Base\n\n\n"
                "class Audit(Base):\n"
                '    __tablename__ = "audit"\n'
                "    id = sa.Column(sa.Integer, primary_key=True)\n"
            ),
            "sql/audit.sql": "SELECT count(*) FROM audit;\n",
            "docs/audit.md": "The audit trail is kept for a year.\n",
        },
        drop=f'{DROP_LINE}\nop.drop_table("audit")',
    )
    found = findings(analyze_json(repo, tmp_path), "SP005")
    [table] = [f for f in found if "table audit" in f["message"]]
    assert "app/models/audit.py:6" in table["message"]
    assert "sql/audit.sql:1" in table["message"]
    assert "docs/" not in table["message"]


def test_many_places_are_capped(repo: GitRepo, tmp_path: Path) -> None:
    users = {
        f"sql/q{number:02}.sql": "SELECT report.legacy_total FROM report;\n" for number in range(13)
    }
    branch_dropping_legacy(repo, users)
    [finding] = findings(analyze_json(repo, tmp_path), "SP005")
    assert "13 places" in finding["message"]
    assert "sql/q09.sql:1" in finding["message"]
    assert "sql/q10.sql" not in finding["message"]
    assert "and 3 more" in finding["message"]


def test_sql_names_match_whatever_their_case(repo: GitRepo, tmp_path: Path) -> None:
    branch_dropping_legacy(repo, {"sql/upper.sql": "SELECT REPORT.LEGACY_TOTAL FROM REPORT;\n"})
    [finding] = findings(analyze_json(repo, tmp_path), "SP005")
    assert "sql/upper.sql:1" in finding["message"]


def test_a_dropped_column_used_through_a_sql_alias(repo: GitRepo, tmp_path: Path) -> None:
    branch_dropping_legacy(
        repo,
        {
            "sql/report.sql": (
                "SELECT 1;\n\nSELECT r.id,\n       r.legacy_total\n"
                "FROM report AS r\nWHERE r.id > 0;\n"
            ),
            # no import of the model: the SQL alone says the column is report's
            "app/queries.py": (
                "from sqlalchemy import text\n\n"
                'TOTALS = text("""\n'
                "    SELECT s.legacy_total\n"
                "    FROM report s\n"
                '""")\n'
                'ONE = text("SELECT legacy_total FROM report WHERE id = :id")\n'
            ),
            # a template pglast cannot parse: the scan binds the alias
            "templates/report.sql.j2": (
                "SELECT x.legacy_total FROM report x WHERE x.id = {{ id }}\n"
            ),
        },
    )
    [finding] = findings(analyze_json(repo, tmp_path), "SP005")
    message = finding["message"]
    for place in (
        "sql/report.sql:4",
        "app/queries.py:4",
        "app/queries.py:7",
        "templates/report.sql.j2:1",
    ):
        assert place in message
    assert "4 places" in message


def test_an_alias_of_another_table_is_not_a_use(repo: GitRepo, tmp_path: Path) -> None:
    branch_dropping_legacy(
        repo,
        {
            "sql/archive.sql": (
                "SELECT r.legacy_total\nFROM archive AS r;\n"
                # spelled like the dropped table, but an alias of another one
                "SELECT report.legacy_total FROM archive AS report;\n"
            ),
            # imports the model, but the SQL's o is another table
            "app/archive.py": (
                "from sqlalchemy import text\n"
                "from app.models.report import Report\n\n"
                'QUERY = text("SELECT o.legacy_total FROM archive o "\n'
                '             "JOIN report ON report.id = o.id")\n'
            ),
            "templates/archive.sql.j2": (
                "SELECT o.legacy_total FROM archive o WHERE o.id = {{ id }}\n"
            ),
            # two tables: an unqualified column could be either
            "sql/both.sql": "SELECT legacy_total FROM report, archive;\n",
        },
    )
    assert findings(analyze_json(repo, tmp_path), "SP005") == []


def test_an_attribute_of_any_instance_in_a_file_that_imports_the_model(
    repo: GitRepo, tmp_path: Path
) -> None:
    branch_dropping_legacy(
        repo,
        {
            "tests/test_totals.py": (
                "from app.models.report import Report\n\n\n"
                "def test_total(made: Report) -> None:\n"
                "    assert made.legacy_total == 3\n"
            ),
        },
    )
    [finding] = findings(analyze_json(repo, tmp_path), "SP005")
    assert "tests/test_totals.py:5" in finding["message"]
