"""What every output format shares: the format names, one JSON schema version, risk badges."""

from __future__ import annotations

import enum
import json
from typing import Any

from stager.types import Risk

SCHEMA_VERSION = 1


class Format(enum.StrEnum):
    TABLE = "table"
    MARKDOWN = "markdown"
    JSON = "json"


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


def json_text(document: dict[str, Any], *, pretty: bool) -> str:
    """A JSON document as stager prints it: indented for people, compact for pipes."""
    return json.dumps(document, indent=2 if pretty else None, ensure_ascii=False) + "\n"
