"""Plain SQL migration files (`[migrations] sql`) in `stager analyze` and `stager plan`."""

from __future__ import annotations

import json
from typing import Any

from click.testing import CliRunner

from stager.cli import cli
from tests.gitrepo import GitRepo

RULES = 'extends = "default"\n\n[migrations]\nsql = ["db/migrations/**/*.sql"]\n'


def run(repo: GitRepo, command: str) -> dict[str, Any]:
    result = CliRunner().invoke(
        cli, ["-C", str(repo.path), command, "--base", "main", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def branch(repo: GitRepo, rules: str = RULES) -> None:
    repo.commit(
        "history",
        {
            ".stager/rules.toml": rules,
            "db/migrations/V1__orders.sql": "CREATE TABLE orders (id int, n int);\n",
        },
    )
    repo.git("checkout", "-q", "-b", "feature")
    repo.commit(
        "index and backfill",
        {
            "db/migrations/V2__index.sql": "-- the index\nCREATE INDEX ix_n ON orders (n);\n",
            "db/migrations/V3__drop.sql": "ALTER TABLE orders DROP COLUMN n;\n",
            "app/orders.py": "N = 1\n",
        },
    )


def test_analyze_lints_and_classifies_sql_migration_files(repo: GitRepo) -> None:
    branch(repo)
    data = run(repo, "analyze")
    found = {(f["rule"], f["path"], f["line"]) for f in data["findings"]}
    assert ("SM010", "db/migrations/V2__index.sql", 2) in found
    assert ("SM002", "db/migrations/V3__drop.sql", 1) in found
    files = {f["path"]: f for f in data["files"]}
    assert files["db/migrations/V2__index.sql"]["category"] == "migration-additive"
    assert files["db/migrations/V2__index.sql"]["risk"] == "high"  # raised by SM010
    assert files["db/migrations/V3__drop.sql"]["category"] == "migration-destructive"
    categories = {c["category"] for c in data["categories"]}
    assert {"migration-additive", "migration-destructive"} <= categories


def test_plan_places_sql_migration_files_in_the_migration_phases(repo: GitRepo) -> None:
    branch(repo)
    phases = {
        f["path"]: phase["number"] for phase in run(repo, "plan")["phases"] for f in phase["files"]
    }
    assert phases["db/migrations/V2__index.sql"] < phases["db/migrations/V3__drop.sql"]


def test_without_the_rules_key_sql_files_are_other_files(repo: GitRepo) -> None:
    branch(repo, 'extends = "default"\n')
    data = run(repo, "analyze")
    assert not [f for f in data["findings"] if f["path"] == "db/migrations/V2__index.sql"]
