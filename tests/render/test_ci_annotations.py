"""`stager lint --format sarif` and `--format github`: what CI reads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from stager.cli import cli
from stager.rules.catalogue import RULES

REVISION = '''"""add a unique email"""
from alembic import op

revision = "a1"
down_revision = None


def upgrade():
    op.create_unique_constraint("uq_email", "users", ["email"])


def downgrade():
    op.drop_constraint("uq_email", "users")
'''
SQL = "ALTER TABLE users ALTER COLUMN bio TYPE text;\n"

# What SARIF 2.1.0 requires of each object (the schema's "required" lists), and what GitHub
# code scanning needs besides: a driver name, and a location with a line per result.
REQUIRED = {
    "log": {"version", "runs"},
    "run": {"tool", "results"},
    "tool": {"driver"},
    "driver": {"name"},
    "rule": {"id"},
    "result": {"message", "ruleId", "level", "locations"},
    "message": {"text"},
}
LEVELS = {"none", "note", "warning", "error"}


def lint(root: Path, *args: str) -> Result:
    (root / "versions").mkdir()
    (root / "versions" / "a1.py").write_text(REVISION)
    (root / "V2__bio.sql").write_text(SQL)
    return CliRunner().invoke(
        cli, ["-C", str(root), "lint", *args, "versions", "V2__bio.sql"], catch_exceptions=False
    )


def has(kind: str, value: dict[str, Any]) -> None:
    assert REQUIRED[kind] <= set(value), (kind, sorted(value))


def test_sarif_has_the_structure_code_scanning_reads(tmp_path: Path) -> None:
    result = lint(tmp_path, "--format", "sarif")
    assert result.exit_code == 4, result.output  # --fail-on counts the same findings
    log = json.loads(result.stdout)
    has("log", log)
    assert log["version"] == "2.1.0" and log["$schema"].endswith("sarif-2.1.0.json")
    [run] = log["runs"]
    has("run", run)
    has("tool", run["tool"])
    driver = run["tool"]["driver"]
    has("driver", driver)
    rules = driver["rules"]
    for rule in rules:
        has("rule", rule)
        assert rule["properties"]["docs"] == RULES[rule["id"]].anchor
    assert {r["ruleId"] for r in run["results"]} >= {"SM015", "SM009"}
    for found in run["results"]:
        has("result", found)
        has("message", found["message"])
        assert found["level"] in LEVELS
        assert rules[found["ruleIndex"]]["id"] == found["ruleId"]
        [location] = found["locations"]
        physical = location["physicalLocation"]
        assert physical["artifactLocation"]["uri"] in {"versions/a1.py", "V2__bio.sql"}
        assert physical["region"]["startLine"] >= 1
    levels = {found["ruleId"]: found["level"] for found in run["results"]}
    assert levels["SM015"] == "error" and levels["SM009"] == "note"


def test_github_annotations_land_on_the_file_and_line(tmp_path: Path) -> None:
    result = lint(tmp_path, "--format", "github", "--fail-on", "critical")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    [unique] = [line for line in lines if "title=SM015" in line]
    assert unique.startswith("::error file=versions/a1.py,line=9,title=SM015 high%3A Unique")
    message = unique[2:].partition("::")[2]
    assert (
        "\n" not in message and "%0AFix: " in message and "%0AWhy: docs/rules.md#sm015" in message
    )
    [bio] = [line for line in lines if "title=SM009" in line]
    assert bio.startswith("::notice file=V2__bio.sql,line=1,")
