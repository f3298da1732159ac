"""The seed's expand/contract case end to end: one migration adds a JSONB column and drops three.

The model both maps the new column and stops mapping the old ones, a service
stops reading the old ones, and an ETL script writes the new one. With the
default rules stager ships the addition early, as a new expand revision, and
the drops last, in the original revision, after the code stops using them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from stager.cli import cli
from stager.migrations.expand_contract import expand_revision_id
from stager.types import Revision
from tests.gitrepo import GitRepo

FILES = Path(__file__).parent / "expand_contract_files"
R = "54d55e878dad"
R_E = expand_revision_id(Revision(R), {R, "1a2b3c4d5e6f"})
MIGRATION = f"migrations/versions/{R}_add_historical_snapshot.py"
MODEL = "backend/app/models/ComplianceReportSummary.py"
SERVICE = "backend/app/services/summary_service.py"
ETL = "etl/tfrs_import.py"


def text(name: str) -> str:
    return (FILES / name).read_text(encoding="utf-8")


@pytest.fixture
def seed(repo: GitRepo) -> GitRepo:
    """main: the table with its offsets; feature: the mixed migration and the code around it."""
    repo.commit(
        "base",
        {
            "alembic.ini": "[alembic]\nscript_location = migrations\n",
            "migrations/versions/1a2b3c4d5e6f_create_summary.py": text("1a2b3c4d5e6f_base.py.txt"),
            MODEL: text("model_base.py.txt"),
            SERVICE: text("service_base.py.txt"),
            ETL: text("etl_base.py.txt"),
        },
    )
    repo.checkout("-b", "feature")
    repo.commit(
        "historical snapshot instead of the offsets",
        {
            MIGRATION: text("54d55e878dad_mixed.py.txt"),
            MODEL: text("model_head.py.txt"),
            SERVICE: text("service_head.py.txt"),
            ETL: text("etl_head.py.txt"),
        },
    )
    return repo


def stager(repo: GitRepo, *args: str) -> Any:
    return CliRunner().invoke(cli, ["-C", str(repo.path), *args])


def plan_json(repo: GitRepo) -> dict[str, Any]:
    result = stager(repo, "plan", "--base", "main", "--format", "json")
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def test_the_mixed_migration_is_split_into_an_early_expand_and_a_late_contract(
    seed: GitRepo,
) -> None:
    plan = plan_json(seed)
    phases = {phase["number"]: phase for phase in plan["phases"]}
    migrations = {
        m["revision"]: (number, m) for number, phase in phases.items() for m in phase["migrations"]
    }
    expand_phase, expand = migrations[R_E]
    contract_phase, contract = migrations[R]
    service_phase = next(
        number for number, phase in phases.items() for f in phase["files"] if f["path"] == SERVICE
    )
    assert expand_phase == 1
    assert expand["down_revision"] == ["1a2b3c4d5e6f"]
    assert contract["down_revision"] == [R_E]
    assert contract_phase > service_phase
    assert not [f for f in plan["findings"] if f["rule"] == "SP001"]
    derived = {d["kind"]: d for d in phases[expand_phase]["derived"]}
    assert derived["expand-revision"]["origin"] == MIGRATION
    assert derived["expand-revision"]["path"] == expand["path"]
    (split,) = plan["splits"]
    assert (split["revision"], split["expand_revision"]) == (R, R_E)
    assert (split["expand_phase"], split["contract_phase"]) == (expand_phase, contract_phase)
    assert [op["name"] for op in split["expand_operations"]] == ["add_column", "drop_column"]
    assert [op["name"] for op in split["contract_operations"]][:3] == ["drop_column"] * 3


def test_expand_contract_false_keeps_the_migration_whole_with_sp001(seed: GitRepo) -> None:
    seed.commit(
        "no split",
        {".stager/rules.toml": 'extends = "default"\n[split]\nexpand_contract = false\n'},
    )
    plan = plan_json(seed)
    assert not plan.get("splits")
    assert [f["path"] for f in plan["findings"] if f["rule"] == "SP001"] == [MIGRATION]


@pytest.mark.xfail(strict=True, reason="issue 12: the model's hunks are not split yet")
def test_the_models_add_hunk_ships_early_and_its_remove_hunk_late(seed: GitRepo) -> None:
    plan = plan_json(seed)
    partial = next(
        (phase["number"], d)
        for phase in plan["phases"]
        for d in phase["derived"]
        if d["kind"] == "partial" and d["origin"] == MODEL
    )
    assert partial[0] == 1
    model_phase = next(
        phase["number"] for phase in plan["phases"] for f in phase["files"] if f["path"] == MODEL
    )
    assert model_phase > 1


def branch_of(repo: GitRepo, number: int) -> str:
    return repo.git("for-each-ref", "--format=%(refname:short)", f"refs/heads/stage/{number}-*")


@pytest.mark.parametrize("strategy", ["auto", "patch", "cherry-pick"])
def test_split_builds_the_expand_revision_early_and_verify_is_green(
    seed: GitRepo, strategy: str
) -> None:
    plan = plan_json(seed)
    built = stager(seed, "split", "--base", "main", "--all", "--strategy", strategy)
    assert built.exit_code == 0, built.output
    first = plan["phases"][0]
    branch = branch_of(seed, first["number"])
    files = seed.git("ls-tree", "-r", "--name-only", branch)
    expand_path = next(m["path"] for m in first["migrations"] if m["revision"] == R_E)
    assert expand_path in files.splitlines()
    assert MIGRATION not in files.splitlines()
    last = branch_of(seed, plan["phases"][-1]["number"])
    contract = seed.git("show", f"{last}:{MIGRATION}")
    assert "historical_snapshot" not in contract.split("def downgrade")[0]
    assert f"Revises: {R_E}\n" in contract
    assert expand_path in seed.git("ls-tree", "-r", "--name-only", last).splitlines()
    verified = stager(seed, "verify", "--base", "main")
    assert verified.exit_code == 0, verified.output
    record = json.loads(seed.git("show", "refs/stager/record/feature:record.json"))
    reasons = {
        rewrite["reason"]: rewrite for phase in record["phases"] for rewrite in phase["rewrites"]
    }
    assert reasons["expand"]["path"] == expand_path
    assert reasons["expand"]["old_blob"] is None
    assert reasons["contract"]["path"] == MIGRATION


@pytest.mark.xfail(strict=True, reason="issue 12: the model's hunks are not split yet")
def test_split_ships_the_models_add_hunk_with_the_expand_revision(seed: GitRepo) -> None:
    assert stager(seed, "split", "--base", "main", "--all").exit_code == 0
    branch = branch_of(seed, 1)
    assert "historical_snapshot" in seed.git("show", f"{branch}:{MODEL}")
    assert "credits_offset_a" in seed.git("show", f"{branch}:{MODEL}")


def test_verify_fails_when_the_contract_revision_gains_an_operation(seed: GitRepo) -> None:
    assert stager(seed, "split", "--base", "main", "--all").exit_code == 0
    last = branch_of(seed, 4)
    contract = seed.git("show", f"{last}:{MIGRATION}")
    tampered = contract.replace(
        "def upgrade() -> None:\n",
        "def upgrade() -> None:\n    op.drop_column('compliance_report_summary', 'extra')\n",
        1,
    )
    assert tampered != contract
    seed.git("switch", "-q", last)
    seed.commit("one more drop", {MIGRATION: tampered})
    seed.git("switch", "-q", "feature")
    verified = stager(seed, "verify", "--base", "main")
    assert verified.exit_code == 4, verified.output  # a check failed
    assert "differs from the file stager derives" in verified.output
    assert "head's revision runs" in verified.output


def test_split_onto_a_moved_base_then_again_keeps_the_branches(seed: GitRepo) -> None:
    seed.checkout("main")
    seed.commit("main moves on", {"README.md": "hello\n"})
    seed.checkout("feature")
    built = stager(seed, "split", "--base", "main", "--all", "--onto", "main")
    assert built.exit_code == 0, built.output
    assert "wrote migrations/versions/" in built.output
    tips = seed.git("for-each-ref", "refs/heads/stage/")
    verified = stager(seed, "verify", "--base", "main")
    assert verified.exit_code == 0, verified.output
    again = stager(seed, "split", "--base", "main", "--all", "--onto", "main")
    assert again.exit_code == 0, again.output
    assert seed.git("for-each-ref", "refs/heads/stage/") == tips
