"""`stager verify --database --database-url URL` as a user runs it, on the session's server.

The server of the URL is someone else's: stager creates one fresh database there,
drops it afterwards and touches no other, and refuses migrations that would change
the whole cluster (roles, tablespaces, other databases) unless told otherwise.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from stager.cli import cli
from stager.database.fresh import NAME_PREFIX
from stager.database.server import Server
from stager.demo import build_demo_repository
from tests.database.conftest import databases
from tests.gitrepo import GitRepo

pytestmark = pytest.mark.usefixtures("alembic_driver")

PENALTY_LOG = "backend/migrations/versions/2024_04_09_1415-f4e6a8c0b2d4_create_penalty_log.py"


def _roles(server: Server) -> set[str]:
    return {row["rolname"] for row in server.admin.json("SELECT rolname FROM pg_roles")}


def test_the_demo_on_a_database_url_runs_in_a_fresh_database_that_is_dropped_afterwards(
    tmp_path: Path, server: Server, bystander: str
) -> None:
    demo = build_demo_repository(tmp_path / "demo")
    runner = CliRunner()
    assert runner.invoke(cli, ["-C", str(demo.path), "split", "--all"]).exit_code == 0
    before = databases(server)
    log_start = server.log.stat().st_size
    url = server.connection.on(bystander).url()
    result = runner.invoke(
        cli,
        ["-C", str(demo.path), "verify", "--database", "--database-url", url, "--format", "json"],
    )

    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (
        data["ok"]
        and [run["upgrade"]["status"] for run in data["database"]["phases"]] == ["ok"] * 5
    )
    assert "starting PostgreSQL" not in result.stderr  # the URL's server, not a throwaway one
    with server.log.open("rb") as log:
        log.seek(log_start)
        seen = log.read().decode("utf-8", "replace")
    assert f"database={NAME_PREFIX}" in seen  # the project's Alembic ran in stager's database
    assert databases(server) == before  # ... which is gone again
    assert server.admin.on(bystander).json("SELECT id FROM precious") == [{"id": 1}]
    assert server.admin.on(bystander).json(
        "SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public'"
    ) == [{"t": "precious"}]


def test_migrations_that_change_roles_are_refused_on_a_database_url(
    tmp_path: Path, server: Server, git_env: dict[str, str]
) -> None:
    demo = build_demo_repository(tmp_path / "demo")
    repo = GitRepo(demo.path, git_env)
    source = (demo.path / PENALTY_LOG).read_text()
    granting = source.replace(
        "def upgrade() -> None:\n",
        'def upgrade() -> None:\n    op.execute("CREATE ROLE penalty_reader")\n',
    )
    assert granting != source
    repo.commit("Penalty log: a role to read it", {PENALTY_LOG: granting})
    runner = CliRunner()
    assert runner.invoke(cli, ["-C", str(demo.path), "split", "--all"]).exit_code == 0
    before, roles = databases(server), _roles(server)
    url = server.connection.url()
    result = runner.invoke(
        cli, ["-C", str(demo.path), "verify", "--database", "--database-url", url]
    )

    assert result.exit_code == 1, result.output
    message = " ".join(result.stderr.split())
    assert "change the whole PostgreSQL cluster of --database-url" in message
    assert f"{PENALTY_LOG}:22: CREATE ROLE penalty_reader" in message
    assert "add --allow-cluster-changes" in message
    assert server.connection.password not in result.output
    assert databases(server) == before and _roles(server) == roles


def test_allow_cluster_changes_is_for_a_database_url() -> None:
    result = CliRunner().invoke(cli, ["verify", "--database", "--allow-cluster-changes"])
    assert result.exit_code == 2 and "add --database-url" in result.stderr
