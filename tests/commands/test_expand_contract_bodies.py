"""What the pull requests and the staging document say about an expand/contract split.

The seed's case (tests/commands/test_expand_contract.py): the expand phase names the
new revision and the revision it came from, the contract phase names what it drops,
the backup to take and that the expand revision already ran, and the early phase of a
file split by hunk says which hunks it ships. Their rollback commands, run by a real
Alembic on SQLite, take the database back to where each phase began.
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path

import pytest

from tests.commands.test_expand_contract import MIGRATION, MODEL, R_E, R, seed, stager
from tests.gitrepo import GitRepo
from tests.sqlite_alembic import sqlite_project

__all__ = ["seed"]  # the fixture, used by name

BASE = "1a2b3c4d5e6f"
EXPAND = f"migrations/versions/{R_E}_add_historical_snapshot_drop_credits_expand.py"
DROPPED = (
    "`compliance_report_summary.credits_offset_a`, `compliance_report_summary.credits_offset_b`, "
    "`compliance_report_summary.credits_offset_c`"
)
BACKUP = 'pg_dump --format=custom --file=before-phase-4-etl-and-contract.dump "$DATABASE_URL"'


def sections(text: str, heading: str) -> dict[int, str]:
    """``text`` cut at its ``heading N…`` lines: each phase's part by its number."""
    parts = re.split(rf"^{heading} (\d+)\b", text, flags=re.MULTILINE)
    return {int(number): part for number, part in zip(parts[1::2], parts[2::2], strict=True)}


def bodies(repo: GitRepo) -> dict[int, str]:
    built = stager(repo, "split", "--base", "main", "--all")
    assert built.exit_code == 0, built.output
    shown = stager(repo, "open-pr", "--all", "--dry-run", "--base", "main", "--github-repo", "o/r")
    assert shown.exit_code == 0, shown.output
    return sections(shown.stdout, "## Phase")


def document(repo: GitRepo) -> dict[int, str]:
    result = stager(repo, "plan", "--base", "main", "--format", "markdown")
    assert result.exit_code == 0, result.output
    return sections(result.stdout.split("\n## Building the branches")[0], "## Phase")


EXPAND_LINES = (
    f"- New revision `{R_E}` (`{EXPAND}`): the expand part of `{R}` (`{MIGRATION}`): "
    f"add_column compliance_report_summary.historical_snapshot. `{R}`, reduced to its "
    "contract part, ships in phase 4.",
    f"- `{MODEL}` ships the merge-base version with only hunk 1 of 2 (adding "
    "`historical_snapshot`); phase 3 ships the rest.",
)
CONTRACT_LINES = (
    f"- `{R}` (`{MIGRATION}`) is reduced to its contract part: it drops {DROPPED}. Its "
    f"expand part, the new revision `{R_E}`, already ran in phase 1.",
    f"- Back up `compliance_report_summary` before deploying: `{BACKUP}`. The downgrade of "
    f"`{R}` restores the columns, not their values.",
)
CONTRACT_ROLLBACK = (
    f"the downgrade of `{R}` restores the columns, not their values — restore "
    "`compliance_report_summary` from the backup taken before this phase"
)


def test_the_expand_phase_body_names_the_new_revision_its_origin_and_the_partial_file(
    seed: GitRepo,
) -> None:
    first = bodies(seed)[1]
    for line in EXPAND_LINES:
        assert line in first.splitlines()
    assert f"| 1 | `{R_E}` | additive | Expand part of {R}: add historical snapshot" in first
    assert "None: this phase does not change the database." not in first
    # the phase holds no file of the branch, only files stager derived: they are listed
    assert "0 files (+0 −0) and 2 files stager derived, 1 new migration" in first
    assert "| Written by stager (expand/contract) | 2 | - |" in first.splitlines()
    assert f"- `{EXPAND}` (written by stager: expand-revision) — new revision {R_E}: " in first
    assert f"`test \"$(alembic current | cut -d' ' -f1)\" = {R_E} && alembic downgrade {BASE}`" in (
        first
    )


def test_the_contract_phase_body_names_the_drops_the_backup_and_the_expand_revision(
    seed: GitRepo,
) -> None:
    last = bodies(seed)[4]
    for line in CONTRACT_LINES:
        assert line in last.splitlines()
    assert f"- **Rollback:** DIFFICULT — {CONTRACT_ROLLBACK}" in last.splitlines()
    assert f"`test \"$(alembic current | cut -d' ' -f1)\" = {R} && alembic downgrade {R_E}`" in last
    assert f"{CONTRACT_ROLLBACK} (`before-phase-4-etl-and-contract.dump`)" in last
    assert f"| 1 | `{R}` | destructive | add historical snapshot, drop credits offsets — " in last


def test_the_staging_document_says_the_same_per_phase(seed: GitRepo) -> None:
    phases = document(seed)
    for line in EXPAND_LINES:
        assert line in phases[1].splitlines()
    for line in CONTRACT_LINES:
        assert line in phases[4].splitlines()
    assert f"1. `{R_E}` - Expand part of {R}: add historical snapshot" in phases[1]
    assert f"- **Rollback:** DIFFICULT — {CONTRACT_ROLLBACK}" in phases[4].splitlines()
    whole = stager(seed, "plan", "--base", "main", "--format", "markdown").stdout
    # the split table stays, and the migrations table names the expand revision in phase 1
    assert f"| `{R}` | new revision `{R_E}`: add_column historical_snapshot | 1 |" in whole
    assert f"| 1 | `{R_E}` | 1 | `{BASE}` | `{BASE}` |" in whole
    assert f"| 2 | `{R}` | 4 | `{R_E}` (re-chained) | `{BASE}` |" in whole


_DOWNGRADE = re.compile(r"`(test \"\$\(alembic current[^`]*)`")


def test_each_phases_rollback_commands_take_a_real_database_back_to_where_it_began(
    seed: GitRepo, tmp_path: Path
) -> None:
    """Upgrade phase by phase on SQLite, then run the shown rollbacks, last phase first."""
    if shutil.which("alembic") is None:
        pytest.skip("the alembic command is not installed")
    phases = bodies(seed)
    project = tmp_path / "project"
    versions = sqlite_project(project)

    def run(command: str) -> str:
        done = subprocess.run(
            ["bash", "-c", command], cwd=project, capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, f"{command}\n{done.stderr}"
        return done.stdout

    def current() -> str:
        return run("alembic current").split()[0]

    def columns() -> set[str]:
        with closing(sqlite3.connect(project / "state.db")) as database:
            rows = database.execute("PRAGMA table_info(compliance_report_summary)").fetchall()
        return {row[1] for row in rows}

    for number in phases:
        branch = seed.git("for-each-ref", "--format=%(refname)", f"refs/heads/stage/{number}-*")
        for name in seed.git("ls-tree", "--name-only", f"{branch}:migrations/versions").split():
            (versions / name).write_text(seed.git("show", f"{branch}:migrations/versions/{name}"))
        run("alembic upgrade head")
    assert current() == R
    assert "historical_snapshot" in columns() and "credits_offset_a" not in columns()
    # each command shows twice: in the testing checklist and in the rollback plan
    rollbacks = {number: set(_DOWNGRADE.findall(body)) for number, body in phases.items()}
    assert rollbacks[3] == set()  # no migration there
    (contract,) = rollbacks[4]
    run(contract)
    assert current() == R_E
    assert {"historical_snapshot", "credits_offset_a", "credits_offset_c"} <= columns()
    (expand,) = rollbacks[1]
    run(expand)
    assert current() == BASE
    assert "historical_snapshot" not in columns() and "credits_offset_b" in columns()


def test_a_contract_in_the_expand_phase_says_it_needs_the_maintenance_window(
    seed: GitRepo,
) -> None:
    """One phase with a maintenance window holds both parts: no 'already ran in phase 1'."""
    rules = (Path(__file__).resolve().parents[2] / "rules.toml").read_text(encoding="utf-8")
    only = (
        rules[: rules.index("\n[[phase]]") + 1] + '[[phase]]\nname = "all"\ntitle = "Everything"\n'
        'categories = ["migration-additive", "migration-destructive", "models", "backend", '
        '"etl-and-scripts"]\nmaintenance_window = true\ncontract = ["54d55e878dad"]\n'
    )
    seed.commit("one phase", {".stager/rules.toml": only})
    (phase,) = document(seed).values()
    assert f"`{R}`, reduced to its contract part, follows it in this same phase." in phase
    assert (
        f"Its expand part, the new revision `{R_E}`, runs just before it in this same phase: "
        "the drops do not wait for a later phase than the code that stops using them, so this "
        "phase needs its maintenance window, with the previous release stopped." in phase
    )
    assert "already ran" not in phase
    assert f"= {R} && alembic downgrade {BASE}` (undoes `{R}`, `{R_E}`, in that order)" in phase


def finding_rows(body: str) -> list[tuple[str, str]]:
    """(rule, location) of each row of a body's findings table."""
    return re.findall(r"^\| [^|]+ \| (S[A-Z]\d{3}) \| `([^`]+)` \|", body, flags=re.MULTILINE)


def line_of(repo: GitRepo, branch: str, path: str, needle: str) -> list[int]:
    text = repo.git("show", f"{branch}:{path}")
    return [number for number, line in enumerate(text.splitlines(), 1) if needle in line]


def test_each_part_of_a_split_revision_shows_its_own_findings_at_the_lines_it_ships(
    seed: GitRepo,
) -> None:
    analyzed = stager(seed, "analyze", "--base", "main", "--format", "json")
    head_rules = {f["rule"] for f in json.loads(analyzed.stdout)["findings"]}
    assert "SM003" in head_rules  # adds and drops in one migration: what the split settles
    shown = bodies(seed)
    contract_rows = finding_rows(shown[4])
    drops = line_of(seed, "stage/4-etl-and-contract", MIGRATION, "op.drop_column(")
    assert [loc for rule, loc in contract_rows if rule == "SM002"] == [
        f"{MIGRATION}:{line}" for line in drops
    ]
    assert "SM003" not in {rule for rule, _ in contract_rows}
    expand_rows = finding_rows(shown[1])
    assert expand_rows and all(loc.startswith(f"{EXPAND}:") for _, loc in expand_rows)
    assert {rule for rule, _ in expand_rows} <= {"SM025", "SM010"}
    planned = document(seed)
    assert f"{MIGRATION}:{drops[0]}" in planned[4]
    assert "SM003" not in planned[4]
    assert f"{EXPAND}:" in planned[1]
