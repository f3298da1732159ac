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

from stager.analysis import analyze_branch, chosen_plan
from stager.cli import cli
from stager.git.repository import Repository
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


def test_the_models_add_hunk_ships_early_and_its_remove_hunk_late(seed: GitRepo) -> None:
    plan = plan_json(seed)
    partial = next(
        (phase["number"], d)
        for phase in plan["phases"]
        for d in phase["derived"]
        if d["kind"] == "partial" and d["origin"] == MODEL
    )
    assert partial[0] == 1
    assert partial[1]["path"] == MODEL
    model_phase = next(
        phase["number"] for phase in plan["phases"] for f in phase["files"] if f["path"] == MODEL
    )
    assert model_phase > 1
    (split,) = plan["partials"]
    assert split == {
        "path": MODEL,
        "phase": 1,
        "file_phase": model_phase,
        "hunks": [1],
        "hunk_count": 2,
        "adds": ["historical_snapshot"],
        "routed": [],
        "note": partial[1]["note"],
    }
    assert (
        f"{MODEL}: its hunk adding historical_snapshot (1 of 2) ships in phase 1" in split["note"]
    )
    # The service only stops reading the offsets: nothing of it ships early.
    assert not [d for phase in plan["phases"] for d in phase["derived"] if d["origin"] == SERVICE]


def test_a_plan_file_splits_the_same_way(seed: GitRepo) -> None:
    """split and open-pr read stager-plan.toml: its plan splits what the rules' plan splits."""
    written = stager(seed, "plan", "--base", "main", "--write", str(seed.path / "stager-plan.toml"))
    assert written.exit_code == 0, written.output
    repository = Repository(seed.path)
    analysis = analyze_branch(repository, "main", None, None)
    from_file = chosen_plan(repository, analysis, None)
    assert from_file.source.endswith("stager-plan.toml")
    assert from_file.splits == analysis.plan.splits
    assert from_file.partials == analysis.plan.partials
    assert [p.derived for p in from_file.phases] == [p.derived for p in analysis.plan.phases]
    assert [s.revision for s in from_file.splits] == [R]
    assert [p.path for p in from_file.partials] == [MODEL]


def test_a_hunk_that_both_adds_and_drops_keeps_the_model_whole_and_the_plan_says_why(
    seed: GitRepo,
) -> None:
    head = text("model_head.py.txt")
    mixed = head.replace("    historical_snapshot = Column(JSONB)\n", "").replace(
        '    report = relationship("ComplianceReport", back_populates="summary")\n',
        '    report = relationship("ComplianceReport", back_populates="summary")\n'
        "    historical_snapshot = Column(JSONB)\n",
    )
    assert mixed != head
    seed.commit("the new column where the old ones were", {MODEL: mixed})
    plan = plan_json(seed)
    assert not plan["partials"]
    assert not [d for phase in plan["phases"] for d in phase["derived"] if d["origin"] == MODEL]
    (warning,) = [w for w in plan["warnings"] if w.startswith(f"{MODEL}: ")]
    assert "both adds 'historical_snapshot' (expand) and removes 'credits_offset_a'" in warning
    assert "the file cannot be split there; it ships whole in phase 3" in warning


def test_plan_shows_each_split_on_the_terminal_and_in_the_staging_document(
    seed: GitRepo,
) -> None:
    terminal = stager(seed, "plan", "--base", "main")
    assert terminal.exit_code == 0, terminal.output
    shown = " ".join(terminal.output.split())
    assert (
        f"{R}: its expand part (add_column historical_snapshot) is the new revision {R_E} "
        "in phase 1" in shown
    )
    assert f"{MODEL}: its hunk adding historical_snapshot (1 of 2) ships in phase 1" in shown
    document = stager(seed, "plan", "--base", "main", "--format", "markdown")
    assert document.exit_code == 0, document.output
    assert f"| `{R}` | new revision `{R_E}`: add_column historical_snapshot | 1 |" in (
        document.output
    )
    assert (
        f"- `{MODEL}`: its hunk 1 of 2 adding `historical_snapshot` ships in phase 1"
        in document.output
    )


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


def test_a_phase_hunks_rule_routes_the_hunks_it_matches(seed: GitRepo) -> None:
    seed.commit(
        "route the model's removal to the data phase",
        {
            ".stager/rules.toml": 'extends = "default"\n\n[[phase]]\nname = "data"\n'
            'title = "Data migrations"\ncategories = ["migration-data"]\n'
            "hunks = [{ path = \"backend/app/models/*.py\", match = 'credits_offset_\\w+' }]\n"
        },
    )
    plan = plan_json(seed)
    steps = {(p["phase"], tuple(p["hunks"]), tuple(p["routed"])) for p in plan["partials"]}
    assert steps == {(1, (1,), ()), (2, (1, 2), (2,))}
    assert not [w for w in plan["warnings"] if "not applied" in w]


def test_a_route_splits_a_file_without_any_migration(repo: GitRepo) -> None:
    filler = "".join(f"# line {n}\n" for n in range(10))
    repo.commit("base", {"backend/service.py": f"a = 1\n{filler}b = 2\n"})
    repo.checkout("-b", "feature")
    repo.commit(
        "two changes",
        {
            ".stager/rules.toml": 'extends = "default"\n\n[[phase]]\nname = "foundation"\n'
            'title = "Foundation"\ncategories = ["models"]\n'
            'hunks = [{ path = "backend/*.py", match = "early_flag" }]\n',
            "backend/service.py": f"a = 1\nearly_flag = True\n{filler}b = 3\n",
        },
    )
    plan = plan_json(repo)
    (partial,) = plan["partials"]
    assert (partial["phase"], partial["hunks"], partial["routed"]) == (1, [1], [1])
    (derived,) = [d for phase in plan["phases"] for d in phase["derived"]]
    assert derived["kind"] == "partial"
    assert partial["file_phase"] > 1


def test_a_route_to_a_phase_after_the_files_own_keeps_its_hunks_in_the_files_phase(
    seed: GitRepo,
) -> None:
    seed.commit(
        "keep the model's new column with the contract",
        {
            ".stager/rules.toml": 'extends = "default"\n\n[[phase]]\nname = "etl-and-contract"\n'
            'title = "ETL and contract"\n'
            'categories = ["etl-and-scripts", "migration-destructive"]\n'
            'hunks = [{ path = "backend/app/models/*.py", match = "historical_snapshot" }]\n'
        },
    )
    plan = plan_json(seed)
    assert not [p for p in plan["partials"] if p["path"] == MODEL]


def test_a_mixed_migration_stager_cannot_split_says_why_next_to_sp001(seed: GitRepo) -> None:
    unsplittable = text("54d55e878dad_mixed.py.txt").replace(
        "    op.drop_column('compliance_report_summary', 'historical_snapshot')\n",
        "    op.drop_column('compliance_report_summary', 'historical_snapshot')\n"
        "    op.alter_column('compliance_report_summary', 'unrelated', nullable=False)\n",
    )
    seed.commit("a downgrade that does more", {MIGRATION: unsplittable})
    plan = plan_json(seed)
    assert not plan["splits"]
    rules = {f["rule"]: f for f in plan["findings"] if f["path"] == MIGRATION}
    assert "SP001" in rules
    assert rules["SP004"]["message"].startswith(f"mixed migration {R} kept whole: downgrade()")
    assert "matches no upgrade operation" in rules["SP004"]["message"]
    result = stager(seed, "analyze", "--base", "main")
    assert "SP004" in result.output


def test_analyze_json_carries_the_same_splits_and_partials_as_plan_json(seed: GitRepo) -> None:
    result = stager(seed, "analyze", "--base", "main", "--format", "json")
    assert result.exit_code == 0, result.output
    analyzed = json.loads(result.stdout)
    planned = plan_json(seed)
    assert analyzed["splits"] == planned["splits"]
    assert [split["revision"] for split in analyzed["splits"]] == [R]
    assert analyzed["partials"] == planned["partials"]
    assert analyzed["partials"]
