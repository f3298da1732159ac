"""The demo's mixed migration: stager ships its addition early and its drops last.

Revision 4f6a8c0e2a4c drops credits_offset_a/b/c and, in the same file, adds
compliance_report.legacy_id, which the model maps and the ETL writes. With the
default rules the plan splits it: a new expand revision before the code, the
original id reduced to its drops in the last phase, the model split by hunk.
"""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from click.testing import CliRunner

from stager.cli import cli
from stager.demo import DemoRepository, build_demo_repository
from stager.migrations.expand_contract import expand_revision_id
from stager.types import Revision
from tests.demo.files import BASE_REVISIONS, BRANCH_REVISIONS

R = "4f6a8c0e2a4c"
VERSIONS = "backend/migrations/versions"
MIGRATION = f"{VERSIONS}/2024_05_20_1130-{R}_drop_credits_offset_columns.py"
MODEL = "backend/app/models/compliance_report.py"
SERVICE = "backend/app/services/compliance_service.py"
ETL = "etl/python_migration/migrate_compliance_summaries.py"
STAGES = ("stage/1-foundation", "stage/2-data", "stage/3-application", "stage/4-etl-and-contract")
MAIN_HEAD = "0c2e4a6c8e0f"
R_E = expand_revision_id(Revision(R), {*BASE_REVISIONS, MAIN_HEAD, *BRANCH_REVISIONS})


def stager(demo: DemoRepository, *args: str) -> Any:
    result = CliRunner().invoke(cli, ["-C", str(demo.path), *args])
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def split_demo(tmp_path_factory: pytest.TempPathFactory) -> DemoRepository:
    """The demo after `stager split --all`, as `stager demo` leaves it."""
    demo = build_demo_repository(tmp_path_factory.mktemp("mixed") / "demo")
    stager(demo, "split", "--all")
    return demo


@pytest.fixture(scope="module")
def plan(split_demo: DemoRepository) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(stager(split_demo, "plan", "--format", "json").stdout)
    return document


def phase_of(plan: dict[str, Any], path: str) -> int:
    (number,) = [p["number"] for p in plan["phases"] for f in p["files"] if f["path"] == path]
    return int(number)


def test_the_addition_ships_as_a_new_revision_before_the_code_and_the_drops_last(
    plan: dict[str, Any],
) -> None:
    (split,) = plan["splits"]
    assert (split["revision"], split["expand_revision"]) == (R, R_E)
    code = phase_of(plan, SERVICE)
    assert split["expand_phase"] < code < split["contract_phase"] == len(plan["phases"])
    assert [(op["name"], op["columns"]) for op in split["expand_operations"]] == [
        ("add_column", ["legacy_id"]),
        ("drop_column", ["legacy_id"]),  # its downgrade, the author's own
    ]
    drops = [op for op in split["contract_operations"] if op["function"] == "upgrade"]
    assert [(op["name"], op["columns"]) for op in drops] == [
        ("drop_column", [f"credits_offset_{line}"]) for line in "cba"
    ]
    migrations = {m["revision"]: (p["number"], m) for p in plan["phases"] for m in p["migrations"]}
    # chained where the plan runs it: after the backfill, and R after it
    assert migrations[R_E] == (split["expand_phase"], migrations[R_E][1])
    assert migrations[R_E][1]["down_revision"] == ["c7a9e1b3d5f7"]
    assert migrations[R] == (split["contract_phase"], migrations[R][1])
    assert migrations[R][1]["down_revision"] == [R_E]
    # the ETL that writes legacy_id ships after the expand revision
    assert phase_of(plan, ETL) >= split["expand_phase"]


def test_the_model_ships_its_legacy_id_hunk_early_and_stops_mapping_the_offsets_later(
    plan: dict[str, Any],
) -> None:
    (split,) = plan["splits"]
    (partial,) = plan["partials"]
    assert (partial["path"], partial["phase"], partial["adds"]) == (
        MODEL,
        split["expand_phase"],
        ["legacy_id"],
    )
    assert partial["file_phase"] == phase_of(plan, MODEL) == phase_of(plan, SERVICE)
    assert partial["file_phase"] < split["contract_phase"]


def test_no_sp001_and_the_contract_file_is_not_said_to_move(plan: dict[str, Any]) -> None:
    assert not [f for f in plan["findings"] if f["rule"] == "SP001"]
    # the model's move is the only one: the closure's reason for the expand part
    # is not told of the contract file, which stays in the phase it asked for
    assert [c["path"] for c in plan["conflicts"]] == [MODEL]
    (contract,) = [f for p in plan["phases"] for f in p["files"] if f["path"] == MIGRATION]
    assert "moved" not in contract["reason"]


def test_verify_passes_and_every_phase_branch_runs_with_real_alembic(
    split_demo: DemoRepository, tmp_path: Path, git_env: dict[str, str]
) -> None:
    assert "every check passed" in " ".join(stager(split_demo, "verify").stdout.split())
    previous = "d1f3b5d7f9b1"  # the merge base's head
    upgrades: dict[str, str] = {}
    for stage in STAGES:
        backend = _export(split_demo, stage, tmp_path / stage.replace("/", "-"), git_env)
        script = ScriptDirectory.from_config(_config(backend))
        (head,) = script.get_heads()
        upgrades[stage] = _sql(backend, f"{previous}:{head}")
        previous = head
    assert "ADD COLUMN legacy_id" in upgrades["stage/2-data"]
    assert "DROP COLUMN" not in " ".join(upgrades[stage] for stage in STAGES[:3])
    assert "DROP COLUMN credits_offset_a" in upgrades["stage/4-etl-and-contract"]
    assert "legacy_id" not in upgrades["stage/4-etl-and-contract"]
    assert previous == R  # at the end, "at R" means what it means on the branch


def _export(demo: DemoRepository, ref: str, dest: Path, env: dict[str, str]) -> Path:
    dest.mkdir()
    archive = subprocess.run(
        ["git", "archive", "--format=tar", ref, "backend"],
        cwd=demo.path,
        env=env,
        capture_output=True,
        check=True,
    ).stdout
    subprocess.run(["tar", "-x"], cwd=dest, input=archive, check=True)
    return dest / "backend"


def _config(backend: Path, output: io.StringIO | None = None) -> Config:
    config = Config(str(backend / "alembic.ini"), output_buffer=output)
    config.attributes["configure_logger"] = False  # keep pytest's logging
    return config


def _sql(backend: Path, target: str) -> str:
    output = io.StringIO()
    command.upgrade(_config(backend, output), target, sql=True)
    return " ".join(output.getvalue().split())
