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


def test_a_later_version_never_ships_before_an_earlier_one(repo: GitRepo) -> None:
    # V2 drops (the contract phase), V3 only adds (the first phase): shipped as the
    # rules ask, Flyway would meet V3 first and refuse V2 as out of order.
    repo.commit("history", {".stager/rules.toml": RULES, "db/migrations/V1__o.sql": "SELECT 1;\n"})
    repo.git("checkout", "-q", "-b", "feature")
    repo.commit(
        "drop, then index",
        {
            "db/migrations/V2__drop.sql": "ALTER TABLE orders DROP COLUMN n;\n",
            "db/migrations/V3__index.sql": "CREATE INDEX CONCURRENTLY ix ON orders (m);\n",
            "db/migrations/0004_x.up.sql": "CREATE TABLE t (id int);\n",
            "db/migrations/0004_x.down.sql": "DROP TABLE t;\n",
        },
    )
    data = run(repo, "plan")
    phases = {f["path"]: phase["number"] for phase in data["phases"] for f in phase["files"]}
    assert phases["db/migrations/V3__index.sql"] == phases["db/migrations/V2__drop.sql"]
    # up and down of one version ship together, after every earlier version
    assert phases["db/migrations/0004_x.up.sql"] == phases["db/migrations/0004_x.down.sql"]
    assert phases["db/migrations/0004_x.up.sql"] >= phases["db/migrations/V3__index.sql"]
    order = {f["path"]: f for f in data["findings"] if f["rule"] == "SP007"}
    assert "db/migrations/V2__drop.sql" not in order  # where the rules put it
    assert "V2__drop.sql" in order["db/migrations/V3__index.sql"]["message"]


def test_verify_fails_a_phase_that_ships_an_earlier_version_after_a_later_one(
    repo: GitRepo,
) -> None:
    repo.commit("history", {".stager/rules.toml": RULES, "db/migrations/V1__o.sql": "SELECT 1;\n"})
    repo.git("checkout", "-q", "-b", "feature")
    late = {"db/migrations/V3__index.sql": "CREATE INDEX CONCURRENTLY ix ON orders (m);\n"}
    repo.commit("x", {"db/migrations/V2__drop.sql": "DROP TABLE t;\n", **late, "app/x.py": "X=1\n"})
    runner = CliRunner()
    split = runner.invoke(cli, ["-C", str(repo.path), "split", "--all", "--base", "main"])
    assert split.exit_code == 0, split.output
    verify = ["-C", str(repo.path), "verify", "--base", "main", "--format", "json"]
    assert runner.invoke(cli, verify).exit_code == 0
    # someone ships V3 by hand in the application phase, before V2's phase
    repo.git("checkout", "-q", "stage/3-application")
    repo.commit("V3 early", late)
    repo.git("checkout", "-q", "stage/4-etl-and-contract")
    repo.git("rebase", "-q", "stage/3-application")
    result = runner.invoke(cli, verify)
    assert result.exit_code == 4, result.output
    phase = next(p for p in json.loads(result.stdout)["phases"] if p["number"] == 4)
    alembic = next(c for c in phase["checks"] if c["name"] == "alembic")
    shipped = "V2__drop.sql ships after db/migrations/V3__index.sql"
    assert any(shipped in detail for detail in alembic["details"])


def test_split_ships_each_sql_migration_in_its_phase_branch(repo: GitRepo) -> None:
    branch(repo)
    runner = CliRunner()
    split = ["-C", str(repo.path), "split", "--all", "--base", "main", "--format", "json"]
    result = runner.invoke(cli, split)
    assert result.exit_code == 0, result.output
    branches = {p["number"]: p["branch"] for p in json.loads(result.stdout)["phases"]}
    folder = "db/migrations"

    def files(number: int) -> set[str]:
        return set(repo.git("ls-tree", "--name-only", branches[number], f"{folder}/").split())

    assert files(1) == {f"{folder}/V1__orders.sql", f"{folder}/V2__index.sql"}
    assert files(4) == {
        f"{folder}/V1__orders.sql",
        f"{folder}/V2__index.sql",
        f"{folder}/V3__drop.sql",
    }
    verify = runner.invoke(cli, ["-C", str(repo.path), "verify", "--base", "main"])
    assert verify.exit_code == 0, verify.output
