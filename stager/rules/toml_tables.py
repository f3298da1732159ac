"""A TOML document under validation: typed values, and the line of each table, key or value.

tomllib reports no positions; :class:`Locator` finds them in the text so that
every ``RulesError`` can say ``SOURCE:LINE``. :class:`Table` checks its keys
against :data:`stager.rules.toml_schema.SCHEMA`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from stager.errors import RulesError, suggest
from stager.rules.globs import Pattern, compile_glob
from stager.rules.toml_schema import SCHEMA
from stager.types import Risk

_NAME = re.compile(r"[a-z0-9][a-z0-9-]*")
# C0 but tab and newline, DEL, C1: a terminal acts on them (colours, cursor moves).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class Context:
    """The document being validated: its name in messages, and its lines."""

    source: str
    locator: Locator


class Table:
    """One table of the document being validated, and where it sits in the text."""

    def __init__(
        self,
        ctx: Context,
        kind: str,
        index: int | None,
        data: dict[str, Any],
        schema: str | None = None,
    ):
        self.ctx = ctx
        self.kind = kind  # "" for the root, else the table's name in SCHEMA
        self.index = index  # position among [[kind]] tables, None for a plain table
        self.data = data
        self.schema = kind if schema is None else schema  # its SCHEMA section

    def line(self, key: str | None = None, value: str | None = None) -> int:
        """The line of this table, of ``key`` in it, or of ``value`` of ``key``."""
        return self.ctx.locator.find(self.kind, self.index, key, value)

    def error(
        self, key: str | None, problem: str, fix: str, value: str | None = None
    ) -> RulesError:
        """A RulesError at ``SOURCE:LINE`` naming ``kind.key``."""
        label = f"{self.kind}.{key}" if self.kind and key else key or self.kind
        if not label.isprintable():  # a key is the file's text: never a raw escape on a terminal
            label = repr(label)
        return RulesError(f"{self.ctx.source}:{self.line(key, value)}: {label}: {problem}", fix)

    def check_keys(self) -> None:
        """Every key is one its SCHEMA section declares."""
        schema = SCHEMA[self.schema]
        for key in self.data:
            if key not in schema:
                where = f"[[{self.kind}]]" if self.index is not None else "the top level"
                if self.kind and self.index is None:
                    where = f"[{self.kind}]"
                raise self.error(key, f"unknown key in {where}", suggest(key, set(schema), "keys"))

    def tables(self, key: str) -> list[Table]:
        """The ``[[key]]`` array of tables."""
        value = self.data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            raise self.error(
                key,
                f"expected [[{key}]] tables, got {value_kind(value)}",
                f"write [[{key}]] headers",
            )
        return [Table(self.ctx, key, index, item) for index, item in enumerate(value)]

    def table(self, key: str) -> dict[str, Any]:
        """The ``[key]`` table."""
        value = self.data[key]
        if not isinstance(value, dict):
            header = f"{self.kind}.{key}" if self.kind else key
            raise self.error(
                key, f"expected a table, got {value_kind(value)}", f"write a [{header}] header"
            )
        return value

    def name(self) -> str:
        """The required ``name``: a valid id."""
        name = self.required_string("name")
        if not _NAME.fullmatch(name):
            raise self.error(
                "name",
                f"invalid name {name!r}",
                "use lower-case letters, digits and '-', e.g. 'schema-additive'",
            )
        return name

    def required_string(self, key: str) -> str:
        """A string the schema marks required."""
        assert SCHEMA[self.kind][key].required, key  # the schema documents what is required
        value = self.string(key)
        if value is None:
            # no such line: the error points at the table's header
            raise self.error(key, f"missing key {key!r}", f'add {key} = "..."')
        return value

    def string(self, key: str) -> str | None:
        """An optional string; None when absent."""
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self.error(
                key, f"expected a string, got {value_kind(value)}", f'write {key} = "..."'
            )
        return self._text(key, value)

    def _text(self, key: str, value: str) -> str:
        """``value``, refused when it holds a control character (tab and newline aside):
        stager prints these strings, and the terminal would act on it."""
        found = control_character(value)
        if found is not None:
            raise self.error(
                key,
                f"control character {found!r} in {value!r}",
                "remove it: write plain text (tab and newline are fine)",
            )
        return value

    def boolean(self, key: str) -> bool:
        """An optional boolean; false when absent."""
        value = self.data.get(key, False)
        if not isinstance(value, bool):
            raise self.error(
                key, f"expected true or false, got {value_kind(value)}", f"write {key} = true"
            )
        return value

    def strings(self, key: str, *, nonempty: bool = False) -> list[str]:
        """An optional array of strings; ``nonempty`` refuses ``[]``."""
        value = self.data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise self.error(
                key,
                f"expected an array of strings, got {value_kind(value)}",
                f'write {key} = ["...", "..."]',
            )
        if nonempty and key in self.data and not value:
            raise self.error(key, "empty array matches nothing", f"list some or remove {key}")
        return [self._text(key, item) for item in value]

    def risk(self, text: str) -> Risk:
        """The ``risk`` key's value: low, medium, high or critical."""
        try:
            return Risk.parse(text)
        except ValueError:
            raise self.error(
                "risk", f"unknown risk {text!r}", suggest(text, Risk.names(), "risks")
            ) from None

    def pattern(self, text: str, key: str = "paths") -> Pattern:
        """A gitignore-style pattern, compiled."""
        try:
            return compile_glob(text)
        except ValueError as error:
            problem, _, fix = str(error).partition("; ")
            raise self.error(
                key,
                f"invalid pattern {text!r}: {problem}",
                fix or "patterns follow .gitignore syntax",
                value=text,
            ) from None


def control_character(text: str) -> str | None:
    """The first character of ``text`` a terminal would act on (tab and newline aside), or None."""
    found = _CONTROL.search(text)
    return found[0] if found is not None else None


def value_kind(value: object) -> str:
    """What a wrong value is, for "expected X, got Y" messages."""
    names = {bool: "a boolean", str: "a string", int: "an integer", float: "a float"}
    for python_type, name in names.items():
        if isinstance(value, python_type):
            return f"{name} ({value!r})"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return "a date/time"


_HEADER = re.compile(r"\s*(\[\[?)\s*([A-Za-z0-9_.-]+|\"[^\"]*\"|'[^']*')\s*\]\]?\s*(#.*)?")


class Locator:
    """Finds the line of a table, key or value: tomllib reports none."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        # (line number, table name, is an array of tables) for every header
        self.headers: list[tuple[int, str, bool]] = []
        closing: str | None = None  # delimiter of the multi-line string we are in
        for number, line in enumerate(self.lines, start=1):
            if closing is None:
                header = _HEADER.fullmatch(line)
                if header:
                    name = header[2].strip("\"'")
                    self.headers.append((number, name, header[1] == "[["))
                    continue
            for delimiter in ('"""', "'''"):
                if closing in (None, delimiter) and line.count(delimiter) % 2 == 1:
                    closing = None if closing else delimiter

    def find(self, kind: str, index: int | None, key: str | None, value: str | None) -> int:
        """The line of a table (``kind``, ``index``), its ``key`` or the key's ``value``."""
        start, end = self._span(kind, index)
        if key is None:
            return start
        key_pattern = re.compile(
            rf"\s*(?:{re.escape(key)}|\"{re.escape(key)}\"|'{re.escape(key)}')\s*="
        )
        for number in range(start, end):
            if key_pattern.match(self.lines[number - 1]):
                if value is not None:
                    return self._value_line(number, end, value)
                return number
        # not a key: a table of its own ([stagr] at the top level, [split.x])
        name = f"{kind}.{key}" if kind else key
        for number, header, _array in self.headers:
            if header == name or header.startswith(f"{name}."):
                return number
        return start

    def _span(self, kind: str, index: int | None) -> tuple[int, int]:
        """[first, last) lines of a table; the root ends at the first header."""
        ends = [number for number, _, _ in self.headers] + [len(self.lines) + 1]
        if not kind:
            return 1, ends[0]
        matches = [
            (number, ends[position + 1])
            for position, (number, name, array) in enumerate(self.headers)
            if name == kind and array == (index is not None)
        ]
        position = index or 0
        if position < len(matches):
            return matches[position]
        # written inline (category = [{...}]): the best we can do is the root key
        root_end = ends[0]
        return self.find("", None, kind, None), root_end

    def _value_line(self, start: int, end: int, value: str) -> int:
        quoted = ('"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"', f"'{value}'")
        for number in range(start, end):
            if any(form in self.lines[number - 1] for form in quoted):
                return number
        return start
