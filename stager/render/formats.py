"""What every output format shares: the format names, one JSON schema version, risk badges."""

from __future__ import annotations

import enum
from typing import Any

from stager.findings import Finding
from stager.migrations.revision_files import Operation, OperationDetails
from stager.plain_data import json_dumps
from stager.render.quoting import quote_path
from stager.types import Risk

SCHEMA_VERSION = 1


class Format(enum.StrEnum):
    TABLE = "table"
    MARKDOWN = "markdown"
    JSON = "json"
    MERMAID = "mermaid"  # plan's migration diagram alone (render.mermaid)


REPORT_FORMATS = (Format.TABLE, Format.MARKDOWN, Format.JSON)
"""What every command's --format offers; ``plan`` adds ``mermaid``."""


RISK_BADGES = {
    Risk.LOW: "🟢 LOW",
    Risk.MEDIUM: "🟡 MEDIUM",
    Risk.HIGH: "🟠 HIGH",
    Risk.CRITICAL: "🔴 CRITICAL",
}
RISK_STYLES = {
    Risk.LOW: "green",
    Risk.MEDIUM: "yellow",
    Risk.HIGH: "dark_orange",
    Risk.CRITICAL: "bold red",
}


def json_text(document: dict[str, Any], *, pretty: bool, compact: bool = False) -> str:
    """A JSON document as stager prints it: indented for people, on one line for pipes.

    ``compact`` drops the spaces after separators too (json's C encoder only runs
    without indent). Every string reads back the same; the characters JSON
    leaves raw but a terminal may run (DEL, C1) and the bytes of a file name
    that are not UTF-8 are written as ``\\u`` escapes.
    """
    separators = (",", ":") if compact and not pretty else None
    return json_dumps(document, indent=2 if pretty else None, separators=separators) + "\n"


# The same keys in every JSON document (analyze, plan, lint).


def operation_to_json(op: Operation) -> dict[str, Any]:
    return {
        "name": op.name,
        "function": op.function,
        "line": op.line,
        "table": op.table,
        "columns": list(op.columns),
        "sql": op.sql,
        "details": _details(op.details),
    }


# Flags of stager's own are lower-case; the keyword arguments read as Python writes them.
_OWN_FLAGS = frozenset({"autocommit", "batch", "where"})


def _details(details: OperationDetails) -> dict[str, str]:
    """The details as strings: lists comma-joined, those not written left out."""
    found: dict[str, str] = {}
    for name, value in details._asdict().items():
        if name == "drops_default":
            if value and details.server_default is None:
                found["server_default"] = "None"
        elif value == OperationDetails._field_defaults[name]:
            continue
        elif isinstance(value, tuple):
            found[name] = ",".join(value)
        elif isinstance(value, bool):
            found[name] = str(value).lower() if name in _OWN_FLAGS else str(value)
        else:
            found[name] = str(value)
    return found


def shown_location(finding: Finding) -> str:
    """``path:line`` (or ``path``, or ``-``) of a finding, its path quoted as git quotes one."""
    if finding.path is None:
        return "-"
    path = quote_path(finding.path)
    return f"{path}:{finding.line}" if finding.line else path


def finding_to_json(finding: Finding) -> dict[str, Any]:
    return {
        "rule": finding.rule,
        "risk": finding.risk.label,
        "path": finding.path,
        "line": finding.line,
        "message": finding.message,
        "hint": finding.hint,
    }
