"""`stager lint` for CI: SARIF 2.1.0 (GitHub code scanning) and workflow annotations.

Both read the same findings as the other formats and decide nothing: the
level follows the risk (critical and high: error, medium: warning, low:
note/notice), and each result names its rule's section of docs/rules.md, which
says why the rule exists.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import PurePosixPath
from typing import Any

from stager import __version__
from stager.findings import Finding
from stager.render.formats import json_text
from stager.rules.catalogue import RULES
from stager.types import Risk

CI_FORMATS = ("sarif", "github")  # `stager lint --format` only, beside the common formats
SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"

_SARIF_LEVELS = {
    Risk.CRITICAL: "error",
    Risk.HIGH: "error",
    Risk.MEDIUM: "warning",
    Risk.LOW: "note",
}
_GITHUB_COMMANDS = {
    Risk.CRITICAL: "error",
    Risk.HIGH: "error",
    Risk.MEDIUM: "warning",
    Risk.LOW: "notice",
}


def _uri(path: str) -> str:
    """A repository-relative path as it is, an absolute one as a ``file://`` URI."""
    pure = PurePosixPath(path)
    return pure.as_uri() if pure.is_absolute() else path


def _rule(rule_id: str) -> dict[str, Any]:
    rule = RULES[rule_id]
    return {
        "id": rule_id,
        "name": rule.title,
        "shortDescription": {"text": rule.title},
        "help": {"text": f"{rule.hint}\nWhy: {rule.anchor}"},
        "defaultConfiguration": {"level": _SARIF_LEVELS[rule.risk]},
        "properties": {"risk": rule.risk.label, "docs": rule.anchor},
    }


def _result(finding: Finding, index: int) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": finding.rule,
        "ruleIndex": index,
        "level": _SARIF_LEVELS[finding.risk],
        "message": {"text": f"{finding.message}\nFix: {finding.hint}"},
        "properties": {"risk": finding.risk.label},
    }
    if finding.path is not None:
        location: dict[str, Any] = {"artifactLocation": {"uri": _uri(finding.path)}}
        if finding.line:
            location["region"] = {"startLine": finding.line}
        result["locations"] = [{"physicalLocation": location}]
    return result


def render_sarif(findings: Sequence[Finding]) -> str:
    """One SARIF 2.1.0 log with one run: the rules that fired, then each finding."""
    rule_ids = list(dict.fromkeys(finding.rule for finding in findings))
    index = {rule_id: number for number, rule_id in enumerate(rule_ids)}
    document = {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "stager",
                        "version": __version__,
                        "rules": [_rule(rule_id) for rule_id in rule_ids],
                    }
                },
                "results": [_result(f, index[f.rule]) for f in findings],
            }
        ],
    }
    return json_text(document, pretty=True)


def _data(text: str) -> str:
    """A workflow command's message: ``%``, CR and LF escaped as the runner reads them."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(findings: Sequence[Finding]) -> str:
    """``::error file=…,line=…,title=…::message`` per finding: annotations on the diff."""
    lines = []
    for finding in findings:
        properties = []
        if finding.path is not None:
            properties.append(f"file={_property(finding.path)}")
            if finding.line:
                properties.append(f"line={finding.line}")
        title = f"{finding.rule} {finding.risk.label}: {RULES[finding.rule].title}"
        properties.append(f"title={_property(title)}")
        message = f"{finding.message}\nFix: {finding.hint}\nWhy: {RULES[finding.rule].anchor}"
        lines.append(f"::{_GITHUB_COMMANDS[finding.risk]} {','.join(properties)}::{_data(message)}")
    return "".join(line + "\n" for line in lines)
