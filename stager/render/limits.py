"""What a template may use, and the checks that keep it there.

Jinja's sandbox keeps templates away from Python's internals and caps
``range()`` at 100,000 items, but says itself that it does not stop a template
from using up resources: ``{{ 'a' * 10**10 }}`` asks for 10 GB, and three loops
nested over ``range(100000)`` never end. The sandbox stager renders in
(:mod:`stager.render.sandbox`) asks here:

* before an operation that can multiply sizes (``*``, ``**``, ``+``, ``%``,
  ``~``, str's padding, ``replace``, ``join``, ``translate`` and ``format``,
  the filters that do the same): would its value hold more than
  :data:`MAX_VALUE` characters or items, or an integer more than
  :data:`MAX_INT_BITS` bits? After any other call or filter: does it?
* before a list, tuple, dict or set becomes text: would that text be longer
  than :data:`MAX_VALUE`? (A list may hold one long string a million times.)
* between operations (:func:`tick`): has the render run longer than
  :data:`MAX_SECONDS`, or grown the process by more than :data:`MAX_MEMORY`?
  Each operation makes at most MAX_VALUE, so what the first check cannot see,
  many values kept in a growing namespace, shows here.

Every refusal is a :class:`TemplateLimit` naming what went past which limit.
"""

from __future__ import annotations

import re
import string
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2.exceptions import SecurityError
from jinja2.filters import make_attrgetter

try:
    import resource
except ImportError:  # Windows: no memory to read, the other limits still hold
    resource = None  # type: ignore[assignment]

MAX_VALUE = 2**20
"""Characters of a string, items of a list, a template may make: 1,048,576."""
MAX_INT_BITS = 2**16
"""Bits of an integer a template may make (python prints at most 4,300 digits anyway)."""
MAX_SECONDS = 10.0
"""How long one template may run: the packaged ones take milliseconds."""
MAX_MEMORY = 2**29
"""Bytes the process may grow by while one template runs: 512 MiB."""
MAX_OUTPUT = 2**24
"""Characters one template may write: 16 MiB, far beyond any document stager writes."""

_SIZE_FIX = (
    "make the template produce less: GitHub keeps at most 65,536 characters of a pull "
    "request body (docs/open-pr.md lists the limits a template runs in)"
)


class TemplateLimit(SecurityError):
    """A template went past one of the limits; ``fix`` says what to change."""

    def __init__(self, message: str, fix: str = _SIZE_FIX) -> None:
        super().__init__(message)
        self.fix = fix


@dataclass
class _Budget:
    """What the render running in this context may still use."""

    seconds: float
    deadline: float  # on time.monotonic()
    memory: int  # bytes the process may grow by
    start: int  # the process's memory when the render started
    next_memory_check: float = 0.0


_budget: ContextVar[_Budget | None] = ContextVar("template_budget", default=None)


@contextmanager
def budget(seconds: float, memory: int) -> Iterator[None]:
    """Templates rendered inside stop with TemplateLimit after ``seconds`` or ``memory`` bytes."""
    now = time.monotonic()
    token = _budget.set(_Budget(seconds, now + seconds, memory, _memory()))
    try:
        yield
    finally:
        _budget.reset(token)


def tick() -> None:
    """TemplateLimit when the render has run out of time or memory.

    Called between operations, each of which makes at most MAX_VALUE: what the
    checks of single operations cannot see, many of them kept in a growing
    namespace, shows here. The memory is asked at most once a millisecond.
    """
    budget = _budget.get()
    if budget is None:
        return
    now = time.monotonic()
    if now > budget.deadline:
        raise TemplateLimit(
            f"the template ran for more than {budget.seconds:g} seconds and was stopped",
            "a template takes milliseconds: look for loops nested in loops, or a macro or "
            "template that calls or includes itself",
        )
    if now >= budget.next_memory_check:
        budget.next_memory_check = now + 0.001
        if _memory() - budget.start > budget.memory:
            raise TemplateLimit(
                f"the template used more than {budget.memory // 2**20:,} MiB of memory "
                "and was stopped",
                "a template needs little memory: look for a value that grows in a loop "
                "(a namespace attribute added to on every pass)",
            )


_STATM = Path("/proc/self/statm")


def _memory() -> int:
    """The process's resident memory in bytes; where no system file tells it, its peak.

    Linux says how much is resident now. Elsewhere the peak stands in (macOS), or
    nothing (Windows: 0). A peak would not do on Linux: it is kept across exec,
    so a process started by a large one would seem to have used much already.
    """
    try:
        pages = int(_STATM.read_bytes().split()[1])
    except (OSError, IndexError, ValueError):
        pass
    else:
        return pages * _PAGE_SIZE
    if resource is None:
        return 0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # macOS: bytes, else KiB


_PAGE_SIZE = resource.getpagesize() if resource is not None else 4096


# -- sizes -----------------------------------------------------------------------

CONTAINERS = (list, tuple, dict, set, frozenset)


def _refuse(what: str, value: object, size: int) -> TemplateLimit:
    if isinstance(value, int):
        return TemplateLimit(
            f"{what} would make an integer of {size:,} bits; "
            f"a template may make at most {MAX_INT_BITS:,}"
        )
    kind, unit = ("a string", "characters") if isinstance(value, str) else ("a list", "items")
    return TemplateLimit(
        f"{what} would make {kind} of {size:,} {unit}; a template may make at most {MAX_VALUE:,}"
    )


def check_size(what: str, value: object, size: int) -> None:
    """TemplateLimit when ``what`` would make ``value``'s kind of value of ``size``."""
    if size > (MAX_INT_BITS if isinstance(value, int) else MAX_VALUE):
        raise _refuse(what, value, size)


def check_value(what: str, value: object) -> None:
    """TemplateLimit when ``value``, just made, is larger than a template may make."""
    if isinstance(value, str | list | tuple):
        check_size(what, value, len(value))
    elif isinstance(value, int):
        check_size(what, value, value.bit_length())


def text_length(what: str, value: object) -> int:
    """``len(str(value))``, refused past MAX_VALUE before a container's text is made."""
    if isinstance(value, str):
        return len(value)
    if not isinstance(value, CONTAINERS):
        return len(str(value))
    length = _shown_length(value, MAX_VALUE, inner=False)
    if length > MAX_VALUE:
        raise TemplateLimit(
            f"{what} would turn a {type(value).__name__} into text of more than "
            f"{MAX_VALUE:,} characters"
        )
    return length


def _shown_length(value: object, limit: int, *, inner: bool) -> int:
    """The length of ``str(value)`` (``repr`` inside a container), or anything above ``limit``."""
    if isinstance(value, dict):
        parts: list[object] = [part for pair in value.items() for part in pair]
    elif isinstance(value, CONTAINERS):
        parts = list(value)
    else:
        return len(repr(value) if inner else str(value))
    total = 2 + 2 * len(parts)  # brackets and separators
    for part in parts:
        if total > limit:
            break
        total += _shown_length(part, limit - total, inner=True)
    return total


def number(value: object) -> int:
    """An int argument as given (a bool or anything else counts as 0)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


# -- operators ---------------------------------------------------------------------


def check_repeat(left: object, right: object) -> None:
    """``*``: a sequence repeated, or two integers multiplied."""
    if isinstance(left, int) and isinstance(right, str | list | tuple):
        left, right = right, left
    if isinstance(left, str | list | tuple) and isinstance(right, int):
        check_size(f"repeating it {right:,} times", left, len(left) * max(right, 0))
    elif isinstance(left, int) and isinstance(right, int):
        check_size("multiplying", left, abs(left).bit_length() + abs(right).bit_length())


def check_power(base: object, exponent: object) -> None:
    """``**`` of integers: the result's bits."""
    if isinstance(base, int) and isinstance(exponent, int) and exponent > 0 and abs(base) > 1:
        check_size(f"raising to the power {exponent:,}", base, abs(base).bit_length() * exponent)


def check_sum(left: object, right: object) -> None:
    """``+`` of strings, lists or tuples."""
    if isinstance(left, str | list | tuple) and isinstance(right, str | list | tuple):
        check_size("adding with +", left, len(left) + len(right))


# %[(name)][flags][width][.precision][length]type: the parts that can make text long
_PERCENT = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?([a-zA-Z%])")


def check_percent(text: str, values: object) -> None:
    """``text % values`` (the ``%`` operator and the ``format`` filter)."""
    if isinstance(values, Mapping):
        items = list(values.values())
    elif isinstance(values, tuple):
        items = list(values)
    else:
        items = [values]
    widths: list[int] = []
    fields = 0
    position = 0  # a * takes its width from the next value, as Python does
    for match in _PERCENT.finditer(text):
        for size in match.groups()[:2]:
            if size == "*":
                widths.append(number(items[position]) if position < len(items) else 0)
                position += 1
            elif size:
                widths.append(int(size))
        if match.group(3) != "%":
            fields += 1
            position += 1
    _check_fields("formatting", text, fields, widths, items)


def _check_fields(
    what: str, text: str, fields: int, widths: Sequence[int], items: Sequence[object]
) -> None:
    """A format of ``fields`` fields: each at most the widest value or width."""
    for width in widths:
        check_size(f"{what} with a width of {width:,}", text, width)
    widest = max([*widths, *(text_length(what, item) for item in items)], default=0)
    check_size(what, text, len(text) + fields * widest)


def check_format(text: str, args: Sequence[object], kwargs: Mapping[str, object]) -> None:
    """``text.format(...)`` and ``format_map``: widths, and each field at most the widest value."""
    fields = 0
    widths: list[int] = []
    nested = False
    pending = [text]
    while pending:
        for _literal, field, spec, _conversion in string.Formatter().parse(pending.pop()):
            if field is None:
                continue
            fields += 1
            if spec:
                widths += [int(digits) for digits in re.findall(r"\d+", spec)]
                nested = nested or "{" in spec
                pending.append(spec)
    items = [*args, *kwargs.values()]
    if nested:  # a width given as an argument: '{:>{}}'.format(1, 10**10)
        widths += [number(item) for item in items]
    _check_fields("format()", text, fields, widths, items)


# -- str methods called by a template ------------------------------------------------


def check_method(
    name: str, text: str, args: Sequence[object], kwargs: Mapping[str, object]
) -> None:
    """A method of str whose result can be far longer than the string and its arguments."""
    if name in ("ljust", "rjust", "center", "zfill") and args:
        check_size(f"{name}({number(args[0]):,})", text, number(args[0]))
    elif name == "expandtabs":
        size = max(number(args[0]) if args else 8, 1)
        check_size(f"expandtabs({size:,})", text, len(text) + text.count("\t") * size)
    elif name == "replace" and len(args) >= 2:
        count = number(args[2] if len(args) > 2 else kwargs.get("count", -1))
        _check_replace(text, args[0], args[1], count)
    elif name == "translate" and args and isinstance(args[0], Mapping):
        longest = max((len(v) for v in args[0].values() if isinstance(v, str)), default=1)
        check_size("translate()", text, len(text) * longest)


def _check_replace(text: str, old: object, new: object, count: int | None) -> None:
    if not isinstance(old, str) or not isinstance(new, str):
        return
    found = len(text) + 1 if old == "" else text.count(old)
    if count is not None and count >= 0:
        found = min(found, count)
    check_size("replace()", text, len(text) + found * max(len(new) - len(old), 0))


def check_join(what: str, separator: object, items: Sequence[object]) -> None:
    """``separator.join(items)``: refused as soon as the text would pass MAX_VALUE."""
    if not items:
        return
    size = text_length(what, separator) * (len(items) - 1)
    for item in items:
        size += text_length(what, item)
        check_size(what, "", size)


# -- filters ---------------------------------------------------------------------------

# Jinja's filters that never turn their value into text: any other filter is
# refused a list, tuple, dict or set whose text would be too long.
TEXTLESS_FILTERS = frozenset(
    {
        "abs", "attr", "count", "d", "default", "dictsort", "first", "float", "groupby",
        "int", "items", "last", "length", "list", "map", "max", "min", "random", "reject",
        "rejectattr", "reverse", "round", "select", "selectattr", "sort", "unique",
    }
)  # fmt: skip


def _text(what: str, value: object) -> str:
    text_length(what, value)
    return str(value)


def check_filter(name: str, arguments: dict[str, Any], environment: Any) -> None:
    """The checks of the filters whose result can be far larger than their arguments.

    ``arguments`` are the filter's parameters by name; the iterable of ``join``
    and ``sum`` becomes a list there (the check reads it, the filter still must).
    """
    what = f"the filter {name}"
    if name == "center":
        width = number(arguments.get("width", 80))
        check_size(f"center({width:,})", "", max(width, text_length(what, arguments["value"])))
    elif name == "indent":
        text = _text(what, arguments["s"])
        width = arguments.get("width", 4)
        indent = len(width) if isinstance(width, str) else number(width)
        check_size(f"indent({indent:,})", text, len(text) + (text.count("\n") + 1) * indent)
    elif name == "format":
        values = arguments.get("kwargs") or tuple(arguments.get("args", ()))
        check_percent(_text(what, arguments["value"]), values)
    elif name == "replace":
        text = _text(what, arguments["s"])
        _check_replace(text, arguments["old"], arguments["new"], arguments.get("count"))
    elif name == "wordwrap":
        text = _text(what, arguments["s"])
        width = max(number(arguments.get("width", 79)), 1)
        lines = 2 * len(text) // width + text.count("\n") + 1
        wrap = arguments.get("wrapstring")
        breaks = len(wrap) if isinstance(wrap, str) else 1
        check_size("wordwrap()", text, len(text) + lines * breaks)
    elif name in ("batch", "slice"):
        count = number(arguments.get("linecount", arguments.get("slices")))
        check_size(f"{name}({count:,})", [], count)
    elif name in ("join", "sum"):
        key = "value" if name == "join" else "iterable"
        items = arguments[key] = list(arguments[key])
        if arguments.get("attribute") is not None:
            items = list(map(make_attrgetter(environment, arguments["attribute"]), items))
        start = arguments.get("start")
        if name == "join":
            check_join(what, arguments.get("d", ""), items)
        elif isinstance(start, str | list | tuple):
            sizes = [len(item) for item in items if isinstance(item, str | list | tuple)]
            check_size("sum()", start, len(start) + sum(sizes))


CHECKED_FILTERS = frozenset(
    {"center", "indent", "format", "replace", "wordwrap", "batch", "slice", "join", "sum"}
)
"""The filters :func:`check_filter` knows, checked before they run."""
