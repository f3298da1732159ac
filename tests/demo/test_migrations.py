"""The demo's migrations are real Alembic files: alembic itself loads and runs them."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
import tarfile
import warnings
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

from stager.demo import DemoRepository, build_demo_repository
from tests.demo.files import BASE_REVISIONS, BRANCH_REVISIONS
from tests.gitrepo import GitRepo

BASE_HEAD = "d1f3b5d7f9b1"
MAIN_HEAD = "0c2e4a6c8e0f"
BRANCH_HEAD = "4f6a8c0e2a4c"


@pytest.fixture
def demo(tmp_path: Path, git_env: dict[str, str]) -> DemoRepository:
    return build_demo_repository(tmp_path / "demo")


def _export(demo: DemoRepository, commit: str, dest: Path, env: dict[str, str]) -> Path:
    """The ``backend/`` folder of ``commit``, written out with ``git archive``."""
    archive = subprocess.run(
        ["git", "archive", "--format=tar", commit, "backend"],
        cwd=demo.path,
        env=env,
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(dest, filter="data")
        else:  # Python < 3.11.4; our own archive
            tar.extractall(dest)
    return dest / "backend"


def _config(backend: Path, output: io.StringIO | None = None) -> Config:
    config = Config(str(backend / "alembic.ini"), output_buffer=output)
    # keep pytest's logging: env.py skips fileConfig when asked to
    config.attributes["configure_logger"] = False
    return config


def _upgrade_order(script: ScriptDirectory) -> list[str]:
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def _sql(backend: Path, action: str, target: str) -> str:
    output = io.StringIO()
    config = _config(backend, output)
    if action == "upgrade":
        command.upgrade(config, target, sql=True)
    else:
        command.downgrade(config, target, sql=True)
    # one space between words: statements are found whatever the layout
    return " ".join(output.getvalue().split())


@pytest.mark.parametrize(
    ("commit", "order"),
    [
        ("merge_base", [*BASE_REVISIONS]),
        ("head", [*BASE_REVISIONS, *BRANCH_REVISIONS]),
        ("base", [*BASE_REVISIONS, MAIN_HEAD]),
    ],
)
def test_alembic_loads_each_tree_as_one_linear_chain(
    demo: DemoRepository, tmp_path: Path, git_env: dict[str, str], commit: str, order: list[str]
) -> None:
    backend = _export(demo, getattr(demo, commit), tmp_path / commit, git_env)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. a deprecated alembic.ini key
        script = ScriptDirectory.from_config(_config(backend))
        assert script.get_heads() == [order[-1]]
        assert _upgrade_order(script) == order
    assert (len(order), order[-1]) == {
        "merge_base": (12, BASE_HEAD),
        "head": (20, BRANCH_HEAD),
        "base": (13, MAIN_HEAD),
    }[commit]


def test_merging_the_branch_into_main_as_is_gives_two_heads(
    demo: DemoRepository, tmp_path: Path, git_env: dict[str, str]
) -> None:
    main = _export(demo, demo.base, tmp_path / "main", git_env)
    head = _export(demo, demo.head, tmp_path / "head", git_env)
    for revision in (head / "migrations" / "versions").glob("*.py"):
        shutil.copy(revision, main / "migrations" / "versions")

    script = ScriptDirectory.from_config(_config(main))
    assert sorted(script.get_heads()) == sorted([MAIN_HEAD, BRANCH_HEAD])
    # the branch's root must be re-chained onto main's new head
    assert script.get_revision("a3c5e7f9b1d3").down_revision == BASE_HEAD


def test_offline_upgrade_of_the_branch_emits_every_kind_of_change(
    demo: DemoRepository, tmp_path: Path, git_env: dict[str, str]
) -> None:
    backend = _export(demo, demo.head, tmp_path / "head", git_env)
    sql = _sql(backend, "upgrade", "head")

    expected = [
        "CREATE TYPE user_role AS ENUM ('ADMINISTRATOR', 'ANALYST', 'SUPPLIER', 'GOVERNMENT');",
        "CREATE INDEX ix_transfer_agreement_date ON transfer (agreement_date);",
        "ALTER TABLE organization ADD COLUMN company_details TEXT;",
        "CREATE TABLE penalty_log (",
        "CREATE TABLE target_carbon_intensity (",
        "INSERT INTO compliance_period (description, effective_date, expiration_date, "
        "display_order) VALUES ('2013', '2013-01-01', '2013-12-31', 7);",
        "INSERT INTO target_carbon_intensity",
        "COMMIT; ALTER TYPE user_role ADD VALUE IF NOT EXISTS 'BETA_TESTER'; BEGIN;",
        "ALTER TABLE compliance_report_summary ADD COLUMN historical_snapshot JSONB;",
        "UPDATE compliance_report_summary SET historical_snapshot = jsonb_build_object(",
        # the mixed migration: an addition, then the drops
        "ALTER TABLE compliance_report ADD COLUMN legacy_id INTEGER;",
        "ALTER TABLE compliance_report_summary DROP COLUMN credits_offset_c;",
        "ALTER TABLE compliance_report_summary DROP COLUMN credits_offset_a;",
        f"UPDATE alembic_version SET version_num='{BRANCH_HEAD}'",
    ]
    positions = [sql.find(statement) for statement in expected]
    missing = [s for s, at in zip(expected, positions, strict=True) if at < 0]
    assert not missing, missing
    assert positions == sorted(positions), "statements out of upgrade order"


def test_offline_upgrade_of_the_merge_base_has_none_of_the_branch(
    demo: DemoRepository, tmp_path: Path, git_env: dict[str, str]
) -> None:
    backend = _export(demo, demo.merge_base, tmp_path / "merge_base", git_env)
    sql = _sql(backend, "upgrade", "head")

    assert "CREATE TABLE transfer (" in sql
    assert "ADD COLUMN credits_offset" not in sql
    assert "credits_offset_a INTEGER" in sql
    for branch_only in (
        "penalty_log",
        "BETA_TESTER",
        "historical_snapshot",
        "agreement_date)",
        "legacy_id",
    ):
        assert branch_only not in sql


def test_offline_downgrade_of_the_branch_reverses_every_revision(
    demo: DemoRepository, tmp_path: Path, git_env: dict[str, str]
) -> None:
    backend = _export(demo, demo.head, tmp_path / "head", git_env)
    sql = _sql(backend, "downgrade", "head:base")

    expected = [
        "ALTER TABLE compliance_report_summary ADD COLUMN credits_offset_a INTEGER;",
        "SET credits_offset_a = (historical_snapshot ->> 'credits_offset_a')::integer",
        "ALTER TABLE compliance_report DROP COLUMN legacy_id;",
        "ALTER TABLE compliance_report_summary DROP COLUMN historical_snapshot;",
        "ALTER TYPE user_role RENAME TO user_role_old;",
        "DROP TYPE user_role_old;",
        "DELETE FROM fuel_type WHERE fuel_type = 'Renewable diesel';",
        "DROP TABLE penalty_log;",
        "DROP INDEX ix_transfer_agreement_date;",
        "DROP TYPE user_role;",
        "DROP TABLE organization;",
    ]
    positions = [sql.find(statement) for statement in expected]
    assert all(at >= 0 for at in positions), sql
    assert positions == sorted(positions)


def test_alembic_command_line_runs_from_the_backend_folder(
    demo: DemoRepository, git_env: dict[str, str]
) -> None:
    # the user's path: cd backend && alembic upgrade head --sql (env.py configures logging)
    result = subprocess.run(
        [sys.executable, "-m", "alembic", "upgrade", "head", "--sql"],
        cwd=demo.path / "backend",
        env=git_env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "ALTER TABLE compliance_report_summary DROP COLUMN credits_offset_c;" in result.stdout
    assert "Running upgrade 9a1c3e5a7c9e -> 8e2f4a6c8e0a" in result.stderr
    # the user's checkout stays clean (no __pycache__ tracked, nothing modified)
    assert GitRepo(demo.path, git_env).git("status", "--porcelain") == ""
