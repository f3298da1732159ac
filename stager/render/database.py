"""`stager verify --database` output: a table per phase, the end state, JSON with stable keys."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stager.database.phase_run import DatabaseVerification, PhaseRun
from stager.database.runner import Step
from stager.render.quoting import neutralise, one_line, table_cell

if TYPE_CHECKING:
    from rich.console import Console

_STYLES = {"ok": "green", "failed": "bold red", "irreversible": "yellow", "skipped": "dim"}


def _step_json(step: Step) -> dict[str, Any]:
    return {"status": step.status, "tail": list(step.tail)}


def _phase_json(run: PhaseRun) -> dict[str, Any]:
    return {
        "number": run.number,
        "name": run.name,
        "ok": run.ok,
        "upgrade": _step_json(run.upgrade),
        "downgrade": _step_json(run.downgrade),
        "reupgrade": _step_json(run.reupgrade),
        "schema_change": None
        if run.change is None
        else {
            "summary": run.change.summary(),
            "changes": [change.line() for change in run.change.changes],
            "column_order": list(run.change.column_order),
        },
        "data_change": None if run.data_change is None else list(run.data_change),
        "seconds": round(run.seconds, 2),
        "problems": list(run.problems),
        "warnings": list(run.warnings),
    }


def database_to_json(result: DatabaseVerification) -> dict[str, Any]:
    """The database proof, for ``verify --database --format json`` under ``"database"``."""
    end = result.end_state
    return {
        "ok": result.ok,
        "phases": [_phase_json(run) for run in result.phases],
        "end_state": {
            "ok": end.ok,
            "skipped": end.skipped,
            "problems": list(end.problems),
            "warnings": list(end.warnings),
            "against": end.against,
            "dump_diff": list(end.dump_diff),
        },
        "notes": list(result.notes),
    }


def _cell(step: Step) -> str:
    return "-" if step.status == "skipped" else step.status


def _phase_label(run: PhaseRun) -> str:
    return f"{run.number}. {run.name}"


def detail_lines(result: DatabaseVerification) -> list[str]:
    """What failed or deserves a look, one line each, with the tail of Alembic's error."""
    lines: list[str] = []
    for run in result.phases:
        label = f"phase {run.number}"
        for what, step in (
            ("upgrade", run.upgrade),
            ("downgrade", run.downgrade),
            ("re-upgrade", run.reupgrade),
        ):
            if step.status in {"failed", "irreversible"}:
                lines.append(f"{label} {what} {step.status}:")
                lines += [f"    {line}" for line in step.tail]
        lines += [f"{label}: {problem}" for problem in run.problems]
        lines += [f"{label} warning: {warning}" for warning in run.warnings]
        if run.change is not None:
            lines += [f"{label} schema: {change.short()}" for change in run.change.changes]
        if run.data_change:
            lines.append(f"{label} data: rows changed in {', '.join(run.data_change)}")
    end = result.end_state
    lines += [f"end state: {problem}" for problem in end.problems]
    if end.dump_diff:
        lines.append("end state, pg_dump --schema-only of the reference and of the phases:")
        lines += [f"    {line}" for line in end.dump_diff]
    lines += [f"end state warning: {warning}" for warning in end.warnings]
    lines += [f"note: {note}" for note in result.notes]
    return lines


def summary(result: DatabaseVerification) -> str:
    end = result.end_state
    end_text = (
        "skipped"
        if end.skipped
        else (f"equals {end.against}'s" if end.ok else f"DIFFERS from {end.against}'s")
    )
    verdict = "every phase ran" if result.ok else "the database proof FAILED"
    return f"database: {verdict}; end state {end_text}"


def render_database_terminal(result: DatabaseVerification, console: Console) -> None:
    """phase | upgrade | downgrade | re-upgrade | schema change | time, then the details."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    table = Table(box=box.SIMPLE_HEAD, show_edge=False)
    for column in ("Phase", "Upgrade", "Downgrade", "Re-upgrade", "Schema change", "Time"):
        table.add_column(column, no_wrap=column != "Schema change")
    for run in result.phases:
        cells = [
            Text(_cell(step), style=_STYLES[step.status])
            for step in (run.upgrade, run.downgrade, run.reupgrade)
        ]
        change = "-" if run.change is None else run.change.summary()
        table.add_row(
            Text(one_line(_phase_label(run))),
            *cells,
            Text(change),
            Text(f"{run.seconds:.1f} s"),
        )
    console.print(table)
    for line in ["", summary(result), *(f"  {one_line(line)}" for line in detail_lines(result))]:
        console.print(line, highlight=False, soft_wrap=True, markup=False)


def render_database_markdown(result: DatabaseVerification) -> str:
    """The same table as GitHub markdown."""
    rows = [
        "| Phase | Upgrade | Downgrade | Re-upgrade | Schema change | Time |",
        "|---|---|---|---|---|---|",
    ]
    for run in result.phases:
        change = "-" if run.change is None else run.change.summary()
        rows.append(
            f"| {table_cell(neutralise(_phase_label(run)))} | {_cell(run.upgrade)} "
            f"| {_cell(run.downgrade)} | {_cell(run.reupgrade)} | {table_cell(change)} "
            f"| {run.seconds:.1f} s |"
        )
    details = [f"- {neutralise(line)}" for line in detail_lines(result)]
    return "\n".join(["", *rows, "", summary(result), "", *details]) + "\n"
