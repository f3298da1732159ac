"""Plain SQL migrations: `stager lint x.sql`, folders of Flyway, dbmate, golang-migrate, sqitch."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from stager.cli import cli

# (rule, bad SQL, good SQL): the SQL form of each rule's fixture
SQL_CASES = [
    ("SM030", "VACUUM FULL orders;", "ANALYZE orders;"),
    ("SM030", "CLUSTER orders USING ix_orders_created;", "ANALYZE orders;"),
    ("SM031", "REINDEX INDEX ix_orders_created;", "REINDEX INDEX CONCURRENTLY ix_orders_created;"),
    (
        "SM032",
        "LOCK TABLE orders IN ACCESS EXCLUSIVE MODE;\nALTER TABLE orders ADD COLUMN n int;",
        "SET lock_timeout = '5s';\nALTER TABLE orders ADD COLUMN n int;",
    ),
    (
        "SM033",
        "REFRESH MATERIALIZED VIEW order_totals;",
        "REFRESH MATERIALIZED VIEW CONCURRENTLY order_totals;",
    ),
    ("SM034", "ALTER TABLE orders SET LOGGED;", "ALTER TABLE orders SET (fillfactor = 90);"),
    (
        "SM034",
        "ALTER TABLE orders SET TABLESPACE fast;",
        "ALTER TABLE orders SET (fillfactor = 90);",
    ),
    (
        "SM035",
        "ALTER TABLE orders ADD CONSTRAINT ck CHECK (n > 0) NOT VALID;\n"
        "ALTER TABLE orders VALIDATE CONSTRAINT ck;",
        "ALTER TABLE orders ADD CONSTRAINT ck CHECK (n > 0) NOT VALID;",
    ),
    ("SM010", "CREATE INDEX ix ON orders (n);", "CREATE INDEX CONCURRENTLY ix ON orders (n);"),
    (
        "SM020",
        "UPDATE orders SET n = 0 WHERE n IS NULL;",
        "CREATE TABLE plan (id int, tier text);\nUPDATE plan SET tier = 'x' WHERE tier IS NULL;",
    ),
]


def lint(root: Path, *args: str) -> Result:
    return CliRunner().invoke(
        cli, ["-C", str(root), "lint", "--fail-on", "critical", *args], catch_exceptions=False
    )


def rules_in(result: Result) -> set[str]:
    return {word for word in result.stdout.split() if word.startswith("SM") and word[2:].isdigit()}


@pytest.mark.parametrize(("rule", "bad", "good"), SQL_CASES, ids=[c[0] for c in SQL_CASES])
def test_sql_file_meets_the_same_rules(tmp_path: Path, rule: str, bad: str, good: str) -> None:
    (tmp_path / "bad.sql").write_text(bad)
    (tmp_path / "good.sql").write_text(good)
    bad_result = lint(tmp_path, "bad.sql")
    assert bad_result.exit_code == 0, bad_result.output
    assert rule in rules_in(bad_result), bad_result.stdout
    assert rule not in rules_in(lint(tmp_path, "good.sql"))


def test_findings_carry_the_line_in_the_sql_file(tmp_path: Path) -> None:
    (tmp_path / "schema.sql").write_text(
        "-- orders housekeeping\nSET lock_timeout = '5s';\n\n"
        "CREATE TABLE t (id int);\n"
        "LOCK TABLE orders\n  IN ACCESS EXCLUSIVE MODE;\nVACUUM FULL orders;\n"
    )
    result = lint(tmp_path, "--format", "json", "schema.sql")
    found = {(f["rule"], f["line"]) for f in json.loads(result.stdout)["findings"]}
    assert ("SM032", 5) in found and ("SM030", 7) in found
    assert json.loads(result.stdout)["sql_files"] == ["schema.sql"]


def test_inline_ignore_comment_in_sql(tmp_path: Path) -> None:
    (tmp_path / "a.sql").write_text(
        "ALTER TABLE t ADD COLUMN x int;\n"
        "VACUUM FULL orders; -- stager: ignore[SM030] maintenance window booked\n"
        "-- stager: ignore[SM033]\nREFRESH MATERIALIZED VIEW mv;\n"
    )
    assert not {"SM030", "SM033"} & rules_in(lint(tmp_path, "a.sql"))


def test_folders_of_each_tool(tmp_path: Path) -> None:
    flyway = tmp_path / "flyway"
    flyway.mkdir()
    (flyway / "V1__create.sql").write_text("CREATE TABLE orders (id int, n int);\n")
    (flyway / "V2__index.sql").write_text("CREATE INDEX ix ON orders (n);\nSELECT 1;\n")
    golang = tmp_path / "golang"
    golang.mkdir()
    (golang / "000001_x.up.sql").write_text("ALTER TABLE orders ADD COLUMN m int;\n")
    (golang / "000001_x.down.sql").write_text(
        "ALTER TABLE orders DROP COLUMN m;\nALTER TABLE orders ALTER COLUMN n TYPE int;\n"
    )
    dbmate = tmp_path / "dbmate"
    dbmate.mkdir()
    (dbmate / "20240101000000_idx.sql").write_text(
        "-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY ix2 ON orders (m);\n"
        "CREATE INDEX CONCURRENTLY ix3 ON orders (n);\n"
        "-- migrate:down\nREINDEX TABLE orders;\n"
    )
    sqitch = tmp_path / "sqitch"
    for folder in ("deploy", "revert", "verify"):
        (sqitch / folder).mkdir(parents=True)
    (sqitch / "deploy" / "x.sql").write_text("BEGIN;\nVACUUM FULL orders;\nCOMMIT;\n")
    (sqitch / "revert" / "x.sql").write_text("BEGIN;\nDROP TABLE orders;\nCOMMIT;\n")
    (sqitch / "verify" / "x.sql").write_text("SELECT 1/0 FROM orders;\n")

    result = lint(tmp_path, "--format", "json", "flyway", "golang", "dbmate", "sqitch")
    data = json.loads(result.stdout)
    found = {(f["rule"], Path(f["path"]).name, f["line"], f["risk"]) for f in data["findings"]}
    assert ("SM010", "V2__index.sql", 1, "high") in found
    assert not any(name == "V1__create.sql" for _, name, _, _ in found)
    # the down file is a downgrade: its type change is checked one step lower, its drop is not
    assert ("SM009", "000001_x.down.sql", 2, "medium") in found
    assert not any(r == "SM002" and n == "000001_x.down.sql" for r, n, _, _ in found)
    # dbmate: transaction:false lets CONCURRENTLY run; the down part is a downgrade
    assert not any(r == "SM012" and n.startswith("2024") for r, n, _, _ in found)
    assert ("SM031", "20240101000000_idx.sql", 5, "medium") in found
    assert ("SM030", "x.sql", 2, "high") in found
    assert not any(r == "SM001" for r, _, _, _ in found)  # sqitch revert: undoes deploy
    assert data["sql_files"] == [
        "flyway/V1__create.sql",
        "flyway/V2__index.sql",
        "golang/000001_x.down.sql",
        "golang/000001_x.up.sql",
        "dbmate/20240101000000_idx.sql",
        "sqitch/deploy/x.sql",
        "sqitch/revert/x.sql",
    ]


def test_concurrently_alone_in_its_file_runs_outside_a_transaction(tmp_path: Path) -> None:
    (tmp_path / "V3__ix.sql").write_text("CREATE INDEX CONCURRENTLY ix ON orders (n);\n")
    (tmp_path / "V4__ix.sql").write_text(
        "CREATE INDEX CONCURRENTLY ix ON orders (n);\nALTER TABLE orders ADD COLUMN z int;\n"
    )
    assert "SM012" not in rules_in(lint(tmp_path, "V3__ix.sql"))
    assert "SM012" in rules_in(lint(tmp_path, "V4__ix.sql"))


REVISION = '''"""reads sql

Revision ID: a1
Revises:
"""
from pathlib import Path

from alembic import op

revision = "a1"
down_revision = None


def upgrade():
    op.execute((Path(__file__).parent / "a1_up.sql").read_text())


def downgrade():
    op.execute(open("a1_down.sql").read())
'''


def test_revision_reading_a_sql_file_lints_that_file(tmp_path: Path) -> None:
    versions = tmp_path / "versions"
    versions.mkdir()
    (versions / "a1_reads_sql.py").write_text(REVISION)
    (versions / "a1_up.sql").write_text("SELECT 1;\nREINDEX TABLE orders;\n")
    (versions / "a1_down.sql").write_text("DROP TABLE orders;\n")
    result = lint(tmp_path, "versions/a1_reads_sql.py")
    assert "versions/a1_up.sql:2: SM031" in " ".join(result.stdout.split()), result.stdout
    assert "SM001" not in rules_in(result)  # read by downgrade(): undoing is its job


def test_widening_a_varchar_in_sql_is_no_high_rewrite(tmp_path: Path) -> None:
    for target in ("text", "varchar(255)"):
        (tmp_path / "V2__bio.sql").write_text(f"ALTER TABLE users ALTER COLUMN bio TYPE {target};")
        assert sm009_risks(tmp_path) == ["low"], target
    (tmp_path / "V2__bio.sql").write_text("ALTER TABLE users ALTER COLUMN n TYPE bigint;")
    assert sm009_risks(tmp_path) == ["high"]


def sm009_risks(root: Path) -> list[str]:
    found = json.loads(lint(root, "--format", "json", "V2__bio.sql").stdout)["findings"]
    return [hit["risk"] for hit in found if hit["rule"] == "SM009"]


def test_drop_type_cascade_in_sql_is_a_column_drop(tmp_path: Path) -> None:
    (tmp_path / "V3__drop.sql").write_text("DROP TYPE ticket_state CASCADE;")
    result = lint(tmp_path, "--format", "json", "V3__drop.sql")
    assert [(f["rule"], f["risk"]) for f in json.loads(result.stdout)["findings"]] == [
        ("SM002", "critical")
    ]


def test_hints_of_a_sql_file_are_written_in_sql(tmp_path: Path) -> None:
    (tmp_path / "V4__ix.sql").write_text("CREATE INDEX ix ON orders (n);\n")
    found = json.loads(lint(tmp_path, "--format", "json", "V4__ix.sql").stdout)["findings"]
    hints = {f["rule"]: f["hint"] for f in found}
    assert hints["SM010"].startswith("CREATE INDEX CONCURRENTLY, alone in its file")
    assert hints["SM025"].startswith("start the file with SET lock_timeout")
    assert not any("op." in hint for hint in hints.values())


def test_drop_database_names_the_database(tmp_path: Path) -> None:
    (tmp_path / "V5__drop.sql").write_text("DROP DATABASE reports;\n")
    [hit] = json.loads(lint(tmp_path, "--format", "json", "V5__drop.sql").stdout)["findings"]
    assert hit["rule"] == "SM026" and "database 'reports'" in hit["message"]


PATH_FORMS = '''"""reads sql by every path form

Revision ID: a2
Revises:
"""
import os
from pathlib import Path

from alembic import op

revision = "a2"
down_revision = None
SQL_DIR = os.environ.get("SQL_DIR", "sql")


def upgrade():
    op.execute(open(os.path.join(os.path.dirname(__file__), "sql", "a2_up.sql")).read())
    op.execute((Path(__file__).parent.parent / "shared" / "a2_views.sql").read_text())
    op.execute(open(f"{SQL_DIR}/a2_more.sql").read())


def downgrade():
    op.execute(open(os.path.join(SQL_DIR, "a2_down.sql")).read())
'''


def test_each_path_form_a_revision_reads_sql_by_is_resolved_or_reported(tmp_path: Path) -> None:
    (tmp_path / "versions" / "sql").mkdir(parents=True)
    (tmp_path / "shared").mkdir()
    (tmp_path / "versions" / "a2_forms.py").write_text(PATH_FORMS)
    (tmp_path / "versions" / "sql" / "a2_up.sql").write_text("REINDEX TABLE orders;\n")
    (tmp_path / "shared" / "a2_views.sql").write_text("SELECT 1;\nVACUUM FULL orders;\n")
    result = lint(tmp_path, "--format", "json", "versions/a2_forms.py")
    found = {(f["rule"], f["path"], f["line"]) for f in json.loads(result.stdout)["findings"]}
    assert ("SM031", "versions/sql/a2_up.sql", 1) in found
    assert ("SM030", "shared/a2_views.sql", 2) in found
    # a path stager cannot resolve from the file alone is a finding, never skipped
    opaque = {line for rule, path, line in found if rule == "SM023"}
    assert opaque == {19, 23}  # lines 17 and 18 are linted through their files
