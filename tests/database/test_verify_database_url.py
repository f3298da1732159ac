"""`stager verify --database --database-url URL` as a user runs it, on the session's server.

The server of the URL is someone else's: stager creates one fresh database there,
drops it afterwards and touches no other, and refuses migrations that would change
the whole cluster (roles, tablespaces, other databases) unless told otherwise.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from stager.cli import cli
from stager.database.fresh import NAME_PREFIX
from stager.database.server import Server
from tests.database.conftest import databases
from tests.database.project import commit_revisions, feature_branch, revision
from tests.gitrepo import GitRepo

pytestmark = pytest.mark.usefixtures("alembic_driver")


def _roles(server: Server) -> set[str]:
    return {row["rolname"] for row in server.admin.json("SELECT rolname FROM pg_roles")}


def test_a_database_url_runs_in_a_fresh_database_that_is_dropped_afterwards(
    server: Server, repo: GitRepo, bystander: str
) -> None:
    feature_branch(repo)
    runner = CliRunner()
    assert runner.invoke(cli, ["-C", str(repo.path), "split", "--all"]).exit_code == 0
    before = databases(server)
    log_start = server.log.stat().st_size
    url = server.connection.on(bystander).url()
    result = runner.invoke(
        cli,
        ["-C", str(repo.path), "verify", "--database", "--database-url", url, "--format", "json"],
    )

    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["ok"]
    assert [run["upgrade"]["status"] for run in data["database"]["phases"]] == ["ok", "ok"]
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
    server: Server, repo: GitRepo
) -> None:
    feature_branch(repo)
    path, source = revision(4, 'op.execute("CREATE ROLE ledger_reader")', "pass")
    commit_revisions(repo, "a role to read the ledger", (path, source))
    runner = CliRunner()
    assert runner.invoke(cli, ["-C", str(repo.path), "split", "--all"]).exit_code == 0
    before, roles = databases(server), _roles(server)
    url = server.connection.url()
    result = runner.invoke(
        cli, ["-C", str(repo.path), "verify", "--database", "--database-url", url]
    )

    assert result.exit_code == 1, result.output
    message = " ".join(result.stderr.split())
    assert "change the whole PostgreSQL cluster of --database-url" in message
    assert f"{path}:8: CREATE ROLE ledger_reader" in message
    assert "add --allow-cluster-changes" in message
    assert server.connection.password not in result.output
    assert databases(server) == before and _roles(server) == roles


def test_allow_cluster_changes_is_for_a_database_url() -> None:
    result = CliRunner().invoke(cli, ["verify", "--database", "--allow-cluster-changes"])
    assert result.exit_code == 2 and "add --database-url" in result.stderr
