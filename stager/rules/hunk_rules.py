"""``[[phase]] hunks``: which hunks of which files a phase takes, by a regex on their lines.

``hunks = [{ path = "app/models/*.py", match = "credits_offset_\\w+" }]`` sends every
hunk of a file the gitwildmatch ``path`` selects, whose added or removed lines
``match`` finds, to that phase (``stager.plan.hunks`` applies them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from stager.errors import RulesError, suggest
from stager.rules.globs import Pattern, compile_glob
from stager.rules.toml_schema import HUNK_TABLE, SCHEMA
from stager.rules.toml_tables import Table, control_character, value_kind

_EXAMPLE = 'hunks = [{ path = "app/models/*.py", match = "credits_offset_\\\\w+" }]'


@dataclass(frozen=True)
class HunkRule:
    """One entry of a phase's ``hunks``: files ``path`` selects, lines ``match`` finds."""

    path: Pattern
    match: re.Pattern[str]
    line: int = 0

    def takes(self, path: str, lines: tuple[str, ...]) -> bool:
        """Whether a hunk of ``path`` that adds or removes ``lines`` goes to this phase."""
        return self.path.match(path) and any(self.match.search(line) for line in lines)


def hunk_rules(phase: Table) -> tuple[HunkRule, ...]:
    """The validated ``hunks`` of one ``[[phase]]`` table (empty when it has none)."""
    if "hunks" not in phase.data:
        return ()
    value = phase.data["hunks"]
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise phase.error(
            "hunks", f"expected an array of inline tables, got {value_kind(value)}", _EXAMPLE
        )
    if not value:
        raise phase.error("hunks", "empty array matches nothing", "list some or remove hunks")
    return tuple(_hunk_rule(phase, index, item) for index, item in enumerate(value))


def _hunk_rule(phase: Table, index: int, item: dict[str, Any]) -> HunkRule:
    keys = SCHEMA[HUNK_TABLE]
    for key in item:
        if key not in keys:
            raise _error(
                phase, index, key, "unknown key in a phase's hunks", suggest(key, set(keys), "keys")
            )
    path_text = _string(phase, index, item, "path", '"app/models/*.py"')
    try:
        path = compile_glob(path_text)
    except ValueError as error:
        problem, _, fix = str(error).partition("; ")
        raise _error(
            phase,
            index,
            "path",
            f"invalid pattern {path_text!r}: {problem}",
            fix or "patterns follow .gitignore syntax",
            value=path_text,
        ) from None
    if path.negated:
        raise _error(
            phase,
            index,
            "path",
            f"{path_text!r} is negated: a '!' pattern selects no file here",
            "write the pattern of the files whose hunks this phase takes, without '!'",
            value=path_text,
        )
    match_text = _string(phase, index, item, "match", '"credits_offset_\\\\w+"')
    try:
        match = re.compile(match_text)
    except re.error as error:
        raise _error(
            phase,
            index,
            "match",
            f"invalid regular expression {match_text!r}: {error.msg} at position {error.pos}",
            "write a Python regular expression (re module syntax); escape a literal "
            "'(', '[', '+' or '*' with a backslash, e.g. match = 'credits_offset_\\w+'",
            value=match_text,
        ) from None
    return HunkRule(path, match, phase.line("hunks", match_text))


def _string(phase: Table, index: int, item: dict[str, Any], key: str, example: str) -> str:
    value = item.get(key)
    if value is None:
        raise _error(phase, index, key, f"missing key {key!r}", f"add {key} = {example}")
    if not isinstance(value, str):
        problem = f"expected a string, got {value_kind(value)}"
        raise _error(phase, index, key, problem, f"write {key} = {example}")
    found = control_character(value)
    if found is not None:
        raise _error(
            phase,
            index,
            key,
            f"control character {found!r} in {value!r}",
            "remove it: write plain text (tab and newline are fine)",
        )
    if not value:
        raise _error(phase, index, key, "is empty", f"write {key} = {example}")
    return value


def _error(
    phase: Table, index: int, key: str, problem: str, fix: str, value: str | None = None
) -> RulesError:
    """``SOURCE:LINE: phase.hunks[INDEX].KEY: problem`` at the line of the value when found."""
    label = f"phase.hunks[{index}].{key}"
    if not label.isprintable():  # a key is the file's text: never a raw escape on a terminal
        label = f"phase.hunks[{index}].{key!r}"
    return RulesError(f"{phase.ctx.source}:{phase.line('hunks', value)}: {label}: {problem}", fix)
