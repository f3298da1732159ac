"""`stager verify` output: JSON (stable keys), a markdown table, a rich table."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stager.branches.verify import ALEMBIC, CHECK, COMPILES, PLAN, CheckResult, Verification
from stager.render.formats import SCHEMA_VERSION
from stager.render.quoting import one_line
from stager.render.templating import render_template

if TYPE_CHECKING:
    from rich.console import Console

_COLUMNS = (PLAN, ALEMBIC, COMPILES, CHECK)
_CELL_STYLES = {"ok": "green", "FAIL": "bold red", "-": "dim"}


def _check_json(check: CheckResult) -> dict[str, Any]:
    return {
        "name": check.name,
        "ok": check.ok,
        "skipped": check.skipped,
        "details": list(check.details),
    }


def verification_to_json(result: Verification) -> dict[str, Any]:
    return {
        "head": result.head,
        "merge_base": result.merge_base,
        "start": result.start,
        "onto": result.onto,
        "layout": result.layout.value,
        "ok": result.ok,
        "lossless": _check_json(result.lossless),
        "phases": [
            {
                "number": item.phase.number,
                "name": item.phase.name,
                "branch": item.branch,
                "commit": item.commit,
                "parent": item.parent,
                "ok": item.ok,
                "checks": [_check_json(check) for check in item.checks],
            }
            for item in result.phases
        ],
        "schema_version": SCHEMA_VERSION,
    }


def _cell(checks: tuple[CheckResult, ...], name: str) -> str:
    found = next((check for check in checks if check.name == name), None)
    if found is None or found.skipped:
        return "-"
    return "ok" if found.ok else "FAIL"


def _failures(result: Verification) -> list[str]:
    lines: list[str] = []
    for item in result.phases:
        for check in item.checks:
            if check.name == CHECK:
                lines += [f"phase {item.phase.number} check: {line}" for line in check.details]
            elif check.details:  # a failure, or a note on what passed (a file not checked)
                lines += [
                    f"phase {item.phase.number} {check.name}: {line}" for line in check.details
                ]
    if not result.lossless.skipped:  # a failure, or a note (the history's listed exceptions)
        lines += [f"nothing lost: {line}" for line in result.lossless.details]
    return lines


def _summary(result: Verification) -> str:
    start = f"--onto {result.onto}" if result.onto else f"the merge base {result.merge_base[:12]}"
    verdict = "every check passed" if result.ok else "a check FAILED"
    lossless = "skipped" if result.lossless.skipped else ("ok" if result.lossless.ok else "FAIL")
    return (
        f"{result.layout.value} phases from {start}, head {result.head[:12]}: {verdict} "
        f"(nothing lost: {lossless})"
    )


def _rows(result: Verification) -> list[dict[str, Any]]:
    return [
        {
            "phase": f"{item.phase.number}. {item.phase.title}",
            "branch": item.branch,
            "checks": [_cell(item.checks, name) for name in _COLUMNS],
        }
        for item in result.phases
    ]


def render_terminal(result: Verification, console: Console) -> None:
    """The checks as a rich table, then the verdict and what failed."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    table = Table(box=box.SIMPLE_HEAD, show_edge=False)  # fits a 120-column CI log
    table.add_column("Phase")
    for column in ("Branch", *(name.capitalize() for name in _COLUMNS)):
        table.add_column(column, no_wrap=True)
    for row in _rows(result):
        cells = (Text(cell, style=_CELL_STYLES[cell]) for cell in row["checks"])
        table.add_row(Text(one_line(row["phase"])), Text(one_line(row["branch"])), *cells)
    console.print(table)
    for line in ["", _summary(result), *(f"  {one_line(line)}" for line in _failures(result))]:
        console.print(line, highlight=False, soft_wrap=True, markup=False)


def render_markdown(result: Verification) -> str:
    """Paste-ready GitHub markdown, from templates/verify.md.j2."""
    return render_template(
        "verify.md.j2", summary=_summary(result), rows=_rows(result), failures=_failures(result)
    )
