"""Typed values to plain JSON data and back, read by their type hints: no code runs on load.

Frozen dataclasses and NamedTuples become objects keyed by field name (a field
at its default is left out); tuples and frozensets lists; enums their values;
NewTypes of ``str`` strings. Reading back checks every value against its
field's type, so a damaged or planted file is a ``ValueError``
naming the place, never an object stager did not make. One reader is built per
type and kept: the parse cache reads thousands of operations per run.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import re
import types
import typing
from collections.abc import Callable
from functools import cache
from typing import Any

Reader = Callable[[object], Any]


class _Unreadable(ValueError):
    """A value not of its type; ``path`` is filled in on the way out (nothing on success)."""

    def __init__(self, problem: str | None) -> None:
        super().__init__(problem)
        self.problem = problem  # None: the value is missing
        self.path: list[str] = []


# What json.dumps leaves raw that a terminal may run (DEL, C1) or a strict UTF-8
# stream refuses (surrogates: the bytes of a file name that are not UTF-8). Only
# inside JSON strings can they occur, where a \u escape means the same character.
_UNPRINTABLE = re.compile("[\x7f-\x9f\ud800-\udfff]")


def json_dumps(
    value: object, *, indent: int | None = None, separators: tuple[str, str] | None = None
) -> str:
    """``value`` as JSON text that is valid UTF-8 and safe to print; it reads back the same."""
    text = json.dumps(value, indent=indent, ensure_ascii=False, separators=separators)
    return _UNPRINTABLE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


_SCALARS = frozenset({str, int, float, bool, type(None)})


def to_plain(value: object) -> object:
    """``value`` as JSON-ready data (dicts, lists, strings, numbers, booleans, None)."""
    if type(value) in _SCALARS:
        return value
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, tuple | frozenset) and type(value) in (tuple, frozenset):
        items: Any = sorted(value) if isinstance(value, frozenset) else value
        if set(map(type, items)) <= _SCALARS:  # names by the thousand: no call per item
            return list(items)
    kind: Any = type(value)
    if _is_record(kind):
        defaults = _shape(kind)[1]
        return {
            name: to_plain(item)
            for name, item in _items(value)
            if name not in defaults or item != defaults[name]
        }
    if isinstance(value, tuple):
        return [to_plain(item) for item in value]
    if isinstance(value, frozenset):
        return [to_plain(item) for item in sorted(value)]
    return value


def from_plain(kind: Any, value: object, where: str = "") -> Any:
    """``value`` read back as a ``kind``; a ValueError names the place (``where`` first)."""
    try:
        return _reader(kind)(value)
    except _Unreadable as error:
        place = f"{where}{''.join(error.path)}".lstrip(".")
        shown = f"{place} is missing" if error.problem is None else f"{place}: {error.problem}"
        raise ValueError(shown.lstrip(": ")) from None


@cache
def _is_record(kind: Any) -> bool:
    return isinstance(kind, type) and (
        dataclasses.is_dataclass(kind) or (issubclass(kind, tuple) and hasattr(kind, "_fields"))
    )


def _items(value: Any) -> list[tuple[str, object]]:
    if isinstance(value, tuple):  # a NamedTuple
        return list(zip(value._fields, value, strict=True))  # type: ignore[attr-defined]
    return [(field.name, getattr(value, field.name)) for field in dataclasses.fields(value)]


@cache
def _shape(kind: type) -> tuple[dict[str, Any], dict[str, object]]:
    """A record's field types, and the defaults of the fields that have one."""
    hints = typing.get_type_hints(kind)
    if dataclasses.is_dataclass(kind):
        names = [field.name for field in dataclasses.fields(kind)]
        defaults = {
            field.name: field.default
            for field in dataclasses.fields(kind)
            if field.default is not dataclasses.MISSING
        }
    else:
        names = list(kind._fields)  # type: ignore[attr-defined]
        defaults = dict(kind._field_defaults)  # type: ignore[attr-defined]
    return {name: hints[name] for name in names}, defaults


@cache
def _reader(kind: Any) -> Reader:
    """The function that reads plain data back as a ``kind`` (built once per type)."""
    if _is_record(kind):
        return _record_reader(kind)
    origin = typing.get_origin(kind)
    if origin in (tuple, frozenset):
        return _list_reader(origin, _reader(typing.get_args(kind)[0]))
    if origin in (typing.Union, types.UnionType):
        inner = _reader(next(arg for arg in typing.get_args(kind) if arg is not type(None)))
        return lambda value: None if value is None else inner(value)
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return _enum_reader(kind)
    if kind is str:
        return _read_str
    plain = getattr(kind, "__supertype__", kind)  # Sha, Revision, RepoPath: NewTypes of str

    def read_plain(value: object) -> object:
        if not isinstance(value, plain) or (isinstance(value, bool) and plain is not bool):
            raise _Unreadable(f"{plain.__name__} expected, found {value!r}")
        return value

    return read_plain


def _record_reader(kind: type) -> Reader:
    hints, defaults = _shape(kind)
    fields = [(name, _reader(hint), name not in defaults) for name, hint in hints.items()]

    def read_record(value: object) -> object:
        if not isinstance(value, dict):
            raise _Unreadable(f"an object expected, found {value!r}")
        given: dict[str, object] = {}
        for name, read, required in fields:
            item = value.get(name, _ABSENT)  # one look-up: thousands of records per cache
            if item is not _ABSENT:
                try:
                    given[name] = read(item)
                except _Unreadable as error:
                    error.path.insert(0, f".{name}")
                    raise
            elif required:
                missing = _Unreadable(None)
                missing.path.append(f".{name}")
                raise missing
        return kind(**given)

    return read_record


_ABSENT = object()  # a field the object leaves out


def _read_str(value: object) -> object:
    if not isinstance(value, str):
        raise _Unreadable(f"str expected, found {value!r}")
    return value


def _list_reader(origin: type, item: Reader) -> Reader:
    def read_list(value: object) -> object:
        if not isinstance(value, list):
            raise _Unreadable(f"a list expected, found {value!r}")
        try:
            return origin(map(item, value))
        except _Unreadable as error:
            error.path.insert(0, f"[{_failing(item, value)}]")
            raise

    if item is _read_str:
        # Names by the thousand (the facts of a Python file): checked at C speed.
        def read_strings(value: object) -> object:
            if isinstance(value, list) and set(map(type, value)) <= {str}:
                return origin(value)
            return read_list(value)  # to say where it is wrong

        return read_strings

    return read_list


def _failing(item: Reader, values: list[object]) -> int:
    """The index of the first value ``item`` refuses (only asked once one was refused)."""
    for number, value in enumerate(values):
        try:
            item(value)
        except _Unreadable:
            return number
    return -1


def _enum_reader(kind: type[enum.Enum]) -> Reader:
    def read_enum(value: object) -> object:
        try:
            return kind(value)
        except ValueError:
            raise _Unreadable(f"{value!r} is not a {kind.__name__}") from None

    return read_enum
