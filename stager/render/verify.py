"""`stager verify` output: JSON (stable keys), a markdown table, a plain-text table."""

from __future__ import annotations

from typing import Any

from stager.branches.verify import ALEMBIC, CHECK, COMPILES, PLAN, CheckResult, Verification
from stager.render.formats import SCHEMA_VERSION

_COLUMNS = (PLAN, ALEMBIC, COMPILES, CHECK)


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
            elif not check.ok:
                lines += [
                    f"phase {item.phase.number} {check.name}: {line}" for line in check.details
                ]
    if not result.lossless.ok:
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


def render_text(result: Verification) -> str:
    rows = [("Phase", "Branch", *(name.capitalize() for name in _COLUMNS))]
    for item in result.phases:
        rows.append(
            (
                f"{item.phase.number}. {item.phase.title}",
                item.branch,
                *(_cell(item.checks, name) for name in _COLUMNS),
            )
        )
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    lines += ["", _summary(result)]
    lines += [f"  {line}" for line in _failures(result)]
    return "\n".join(lines) + "\n"


def render_markdown(result: Verification) -> str:
    lines = [
        "## Verify",
        "",
        _summary(result),
        "",
        "| Phase | Branch | " + " | ".join(name.capitalize() for name in _COLUMNS) + " |",
        "|---|---|" + "---|" * len(_COLUMNS),
    ]
    for item in result.phases:
        cells = " | ".join(_cell(item.checks, name) for name in _COLUMNS)
        lines.append(f"| {item.phase.number}. {item.phase.title} | `{item.branch}` | {cells} |")
    failures = _failures(result)
    if failures:
        lines += ["", *(f"- {line}" for line in failures)]
    return "\n".join(lines) + "\n"
