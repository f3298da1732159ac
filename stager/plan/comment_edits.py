"""The facts of a file's other version, when the two differ only in comments and blank lines.

A reformat that adds or removes comment lines changes no import, name or
string: the other version's facts hold, at lines shifted by the lines added.
Only one block of lines may differ (the common first and last lines are
skipped), every line of it on both sides must be blank or a comment, and no
string the parsed version writes over several lines may run through it
(there, ``#`` starts text, not a comment). Anything else is parsed.
"""

from __future__ import annotations

from dataclasses import replace

from stager.migrations.revision_files import over_parse_limit
from stager.plan.pyfacts import EnumClass, LineSpan, ModelTable, PyFacts
from stager.plan.pyscan import ImportRef


def _changed_block(old: list[str], new: list[str]) -> tuple[int, int, int]:
    """(common first lines, old block's end, new block's end), 0-based line indexes."""
    shortest = min(len(old), len(new))
    first = 0
    while first < shortest and old[first] == new[first]:
        first += 1
    last = 0
    while last < shortest - first and old[-1 - last] == new[-1 - last]:
        last += 1
    return first, len(old) - last, len(new) - last


def _inert(line: str) -> bool:
    """Blank or a comment (NUL bytes and line continuations would change how Python reads it)."""
    stripped = line.strip(" \t\f")
    return (not stripped or stripped.startswith("#")) and "\0" not in line


def carried_over(facts: PyFacts, text: str, other: str) -> PyFacts | None:
    """``other``'s facts, from ``facts`` of ``text``; None when it must be parsed.

    ``facts`` must be ``ast``'s (a scan knows no string lines), and ``other``
    within the parse limit, as ``text`` is.
    """
    if facts.scanned is not None or over_parse_limit(len(other)) is not None:
        return None
    if "\r" in text or "\r" in other:
        return None  # line numbers of a lone carriage return: leave them to Python
    old, new = text.split("\n"), other.split("\n")
    first, old_end, new_end = _changed_block(old, new)
    if not all(map(_inert, old[first:old_end])) or not all(map(_inert, new[first:new_end])):
        return None
    if first and old[first - 1].endswith("\\"):
        return None  # a continued line would run on into the block
    # 1-based: the lines around the block, from the last common line to the first after it.
    around = (first, old_end + 1)
    if any(
        max(span.first, around[0]) < min(span.last, around[1]) for span in facts.multiline_strings
    ):
        return None
    shift = new_end - old_end
    if not shift:
        return facts

    def moved(line: int) -> int:
        return line + shift if line > old_end else line

    return replace(
        facts,
        imports=tuple(
            ImportRef(ref.module, ref.level, ref.names, moved(ref.line)) for ref in facts.imports
        ),
        tables=tuple(
            ModelTable(table.table, table.class_name, table.columns, moved(table.line))
            for table in facts.tables
        ),
        enums=tuple(EnumClass(enum.name, enum.values, moved(enum.line)) for enum in facts.enums),
        multiline_strings=tuple(
            LineSpan(moved(span.first), moved(span.last)) for span in facts.multiline_strings
        ),
    )
