"""The verify --database table: phase | upgrade | downgrade | re-upgrade | schema change | time."""

from __future__ import annotations

from rich.console import Console

from stager.database.end_state import EndState
from stager.database.phase_run import DatabaseVerification, PhaseRun
from stager.database.runner import SKIPPED, Step
from stager.database.schema_diff import Action, Change, SchemaDiff
from stager.render.database import database_to_json, render_database_terminal

RESULT = DatabaseVerification(
    phases=(
        PhaseRun(0, "base", Step("ok"), SKIPPED, SKIPPED, None, 1.0),
        PhaseRun(
            1,
            "stage/1-add",
            Step("ok"),
            Step("failed", ("Traceback …", "RuntimeError: downgrade broke")),
            Step("ok"),
            SchemaDiff((Change("table", "ledger", Action.ADDED, "x"),), ()),
            2.25,
        ),
    ),
    end_state=EndState(
        False,
        False,
        ("head's schema has index i; the phases end without it",),
        dump_diff=("--- head", "+++ the phases", "@@ -1 +0,0 @@", "-CREATE INDEX i ON t (x);"),
    ),
    notes=("data migrations ran on empty tables: not proven",),
)


def test_the_table_and_the_tail_of_alembics_error() -> None:
    console = Console(width=120, record=True, color_system=None)
    render_database_terminal(RESULT, console)
    lines = console.export_text().splitlines()
    assert lines[0].split() == [
        "Phase",
        "Upgrade",
        "Downgrade",
        "Re-upgrade",
        "Schema",
        "change",
        "Time",
    ]
    assert lines[2].split() == ["0.", "base", "ok", "-", "-", "-", "1.0", "s"]
    assert lines[3].split() == [
        "1.",
        "stage/1-add",
        "ok",
        "failed",
        "ok",
        "+1",
        "table",
        "2.2",
        "s",
    ]
    text = "\n".join(lines)
    assert "database: the database proof FAILED; end state DIFFERS from head's" in text
    assert "  phase 1 downgrade failed:\n      RuntimeError: downgrade broke" in text.replace(
        "      Traceback …\n", ""
    )
    assert (
        "  end state: head's schema has index i; the phases end without it\n"
        "  end state, pg_dump --schema-only of the reference and of the phases:\n"
        "      --- head\n"
        "      +++ the phases\n"
        "      @@ -1 +0,0 @@\n"
        "      -CREATE INDEX i ON t (x);\n"
    ) in text


def test_json_has_every_step_and_the_end_state() -> None:
    data = database_to_json(RESULT)
    assert data["ok"] is False
    assert data["phases"][1]["downgrade"] == {
        "status": "failed",
        "tail": ["Traceback …", "RuntimeError: downgrade broke"],
    }
    assert data["phases"][1]["schema_change"]["changes"] == ["+ table ledger: x"]
    assert data["end_state"]["problems"] == ["head's schema has index i; the phases end without it"]
