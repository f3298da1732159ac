"""One file's diff as hunks, and the file with only some of them applied (expand/contract).

A file whose diff both adds uses of the objects an expand migration creates and
removes uses of the objects its contract part drops ships in two steps: the
earlier phase gets the base version with only the expand hunks applied, the
later phase gets head's version. This module computes those texts, exactly and
without git: the diff of two texts is ``difflib.unified_diff`` with 3 lines of
context (what ``git diff --unified=3 --inter-hunk-context=0`` groups the same
way), parsed back with unidiff, so git's own diff text is read by the same
code. Nothing here imports or executes the files it reads.
"""

from __future__ import annotations

import dataclasses
import difflib
import enum
import itertools
import re
import warnings
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from unidiff.errors import UnidiffParseError
from unidiff.patch import Hunk as UnidiffHunk
from unidiff.patch import PatchSet

from stager.rules.globs import Pattern
from stager.rules.settings import PhaseRule

CONTEXT = 3
"""Lines of context around a hunk, as ``git diff --unified=3`` (the patch strategy's)."""

_NO_NEWLINE = "\\ No newline at end of file\n"


@dataclass(frozen=True)
class Span:
    """Lines ``start`` to ``stop`` of a text, 0-based, ``stop`` excluded.

    An empty span is an insertion point: before line ``start``.
    """

    start: int
    stop: int

    def label(self) -> str:
        """The span as people count lines: ``line 4``, ``lines 4-6``, ``after line 3``."""
        if self.stop == self.start:
            return f"after line {self.start}" if self.start else "at the top"
        if self.stop == self.start + 1:
            return f"line {self.start + 1}"
        return f"lines {self.start + 1}-{self.stop}"


@dataclass(frozen=True)
class Hunk:
    """One hunk of a file's diff, trimmed to its changes.

    ``base``/``head`` span the changed lines in each text, from the first removed or
    added line to the last (context inside the hunk included, the context around it
    not); ``old``/``new`` are the lines of those spans, each with its own line end
    ("\\r\\n", "\\n" or none at the end of a file without a final newline).
    """

    index: int  # 0-based position in the file's diff
    base: Span
    head: Span
    old: tuple[str, ...]
    new: tuple[str, ...]
    removed: tuple[str, ...]  # the lines it removes, in order
    added: tuple[str, ...]  # the lines it adds, in order

    @property
    def number(self) -> int:
        """1-based, as the plan's reasons name it."""
        return self.index + 1

    def label(self) -> str:
        return f"hunk {self.number} (base {self.base.label()})"


def split_lines(text: str) -> list[str]:
    """``text`` as lines that keep their ends; only "\\n" ends a line, as in git."""
    lines = [line + "\n" for line in text.split("\n")]
    lines[-1] = lines[-1][:-1]
    return lines if lines[-1] else lines[:-1]


def unified_diff(base: str, head: str, path: str = "file") -> str:
    """The unified diff of two texts, with 3 lines of context, in git's format.

    difflib writes a last line without its newline as is; git (and unidiff) mark
    it with ``\\ No newline at end of file``, and so does this text.
    """
    out: list[str] = []
    for line in difflib.unified_diff(
        split_lines(base), split_lines(head), f"a/{path}", f"b/{path}", n=CONTEXT, lineterm="\n"
    ):
        out.append(line if line.endswith("\n") else line + "\n" + _NO_NEWLINE)
    return "".join(out)


def file_hunks(base: str, head: str) -> list[Hunk]:
    """The hunks that turn ``base`` into ``head``."""
    return hunks_from_diff(unified_diff(base, head), base)


def hunks_from_diff(diff: str, base: str) -> list[Hunk]:
    """The hunks of a unified diff of one file (difflib's or ``git diff``'s) against ``base``.

    ValueError when the text is not one file's text diff or does not apply to ``base``.
    """
    try:
        patch = PatchSet(diff)
    except UnidiffParseError as error:
        raise ValueError(f"not a unified diff: {error}") from None
    if len(patch) > 1:
        raise ValueError(f"a diff of {len(patch)} files; give one file's diff")
    if not patch:
        return []
    hunks = [_hunk(index, hunk) for index, hunk in enumerate(patch[0])]
    base_lines = split_lines(base)
    for hunk in hunks:
        if tuple(base_lines[hunk.base.start : hunk.base.stop]) != hunk.old:
            raise ValueError(f"{hunk.label()} does not apply to the base text")
    for before, after in itertools.pairwise(hunks):
        if after.base.start < before.base.stop:
            raise ValueError(f"{before.label()} and {after.label()} overlap")
    return hunks


def _hunk(index: int, hunk: UnidiffHunk) -> Hunk:
    """A unidiff hunk trimmed to its changes, each line with its real line end."""
    rows: list[tuple[str, str]] = []  # kind (" ", "-", "+"), text
    for line in hunk:
        if line.line_type == "\\":  # the line before it has no newline in its file
            if not rows:
                raise ValueError(f"hunk {index + 1} opens with '{_NO_NEWLINE.strip()}'")
            rows[-1] = (rows[-1][0], rows[-1][1].removesuffix("\n"))
        else:
            rows.append((line.line_type, line.value))
    changed = [i for i, (kind, _) in enumerate(rows) if kind in "+-"]
    if not changed:
        raise ValueError(f"hunk {index + 1} changes nothing")
    # A range of length 0 starts after its line: at that 0-based index.
    base_start = hunk.source_start - 1 if hunk.source_length else hunk.source_start
    head_start = hunk.target_start - 1 if hunk.target_length else hunk.target_start
    before = rows[: changed[0]]
    base_start += sum(kind != "+" for kind, _ in before)
    head_start += sum(kind != "-" for kind, _ in before)
    body = rows[changed[0] : changed[-1] + 1]
    old = tuple(text for kind, text in body if kind != "+")
    new = tuple(text for kind, text in body if kind != "-")
    return Hunk(
        index=index,
        base=Span(base_start, base_start + len(old)),
        head=Span(head_start, head_start + len(new)),
        old=old,
        new=new,
        removed=tuple(text for kind, text in body if kind == "-"),
        added=tuple(text for kind, text in body if kind == "+"),
    )


def _in_base_order(hunk: Hunk) -> tuple[int, int]:
    return hunk.base.start, hunk.base.stop


def partial_text(base: str, hunks: Sequence[Hunk], selected: Collection[int]) -> str:
    """``base`` with only the hunks whose index is in ``selected`` applied."""
    lines = split_lines(base)
    out: list[str] = []
    at = 0
    for hunk in sorted(hunks, key=_in_base_order):
        if hunk.index not in selected:
            continue
        if hunk.base.start < at or tuple(lines[hunk.base.start : hunk.base.stop]) != hunk.old:
            raise ValueError(f"{hunk.label()} does not apply to this text")
        out += lines[at : hunk.base.start]
        out += hunk.new
        at = hunk.base.stop
    out += lines[at:]
    return "".join(out)


def remaining_hunks(hunks: Sequence[Hunk], selected: Collection[int]) -> list[Hunk]:
    """The hunks not in ``selected``, moved to apply to ``partial_text(base, hunks, selected)``."""
    shift = 0
    remaining: list[Hunk] = []
    for hunk in sorted(hunks, key=_in_base_order):
        if hunk.index in selected:
            shift += len(hunk.new) - len(hunk.old)
            continue
        base = Span(hunk.base.start + shift, hunk.base.stop + shift)
        remaining.append(dataclasses.replace(hunk, base=base))
    return remaining


class Side(enum.StrEnum):
    """Where a hunk goes in an expand/contract split."""

    EXPAND = "expand"  # adds uses of what the expand part creates: the earlier phase
    CONTRACT = "contract"  # removes uses of what the contract part drops: the later phase
    NEUTRAL = "neutral"  # neither: with head's version, the later phase
    MIXED = "mixed"  # both: the file cannot be split
    ROUTED = "routed"  # a ``[[phase]] hunks`` rule chose its phase


@dataclass(frozen=True)
class Route:
    """``[[phase]] hunks``: hunks of files ``path`` takes whose lines ``match`` go to ``phase``."""

    phase: int
    path: Pattern
    match: re.Pattern[str]


def routes_of(phases: Iterable[PhaseRule]) -> tuple[Route, ...]:
    """Every phase's ``hunks`` rules as routes, in phase order (the first match wins)."""
    return tuple(
        Route(phase.number, rule.path, rule.match) for phase in phases for rule in phase.hunks
    )


@dataclass(frozen=True)
class HunkSide:
    """A hunk's side, and why (for the plan's reasons)."""

    hunk: int  # its index
    side: Side
    reason: str
    phase: int | None = None  # the route's phase, for ROUTED
    names: tuple[str, ...] = ()  # what an EXPAND hunk adds, a CONTRACT hunk removes


def names_pattern(names: Iterable[str | re.Pattern[str]]) -> re.Pattern[str] | None:
    """One regex for what names an object: words match whole (``a.b`` too), patterns as written."""
    parts = [
        name.pattern if isinstance(name, re.Pattern) else rf"(?<![\w.]){re.escape(name)}(?!\w)"
        for name in names
    ]
    return re.compile("|".join(f"(?:{part})" for part in parts)) if parts else None


def _named(lines: Iterable[str], pattern: re.Pattern[str] | None) -> list[str]:
    """What ``pattern`` finds in ``lines``, each once, in order."""
    if pattern is None:
        return []
    found = (match[0] for line in lines for match in pattern.finditer(line))
    return list(dict.fromkeys(found))


def classify_hunks(
    hunks: Sequence[Hunk],
    expand_names: Iterable[str | re.Pattern[str]] = (),
    contract_names: Iterable[str | re.Pattern[str]] = (),
    routes: Sequence[Route] = (),
    path: str | None = None,
) -> list[HunkSide]:
    """Each hunk's side: a route of ``path`` first, then the names its lines add and remove.

    ``expand_names`` name what the expand part creates (a column, ``Model.column``), and
    ``contract_names`` what the contract part drops: plain words match as whole names,
    compiled patterns as they are.
    """
    expand = names_pattern(expand_names)
    contract = names_pattern(contract_names)
    sides: list[HunkSide] = []
    for hunk in hunks:
        route = _route(hunk, routes, path)
        if route is not None:
            reason = (
                f"{hunk.label()} matches {route.match.pattern!r} of a [[phase]] hunks rule "
                f"(path {route.path.text!r}): phase {route.phase}"
            )
            sides.append(HunkSide(hunk.index, Side.ROUTED, reason, route.phase))
            continue
        adds = _named(hunk.added, expand)
        drops = _named(hunk.removed, contract)
        if adds and drops:
            side = Side.MIXED
            reason = (
                f"{hunk.label()} both adds {_words(adds)} (expand) and removes {_words(drops)} "
                "(contract): the file cannot be split there"
            )
        elif adds:
            side, reason = Side.EXPAND, f"{hunk.label()} adds {_words(adds)} (expand)"
        elif drops:
            side, reason = Side.CONTRACT, f"{hunk.label()} removes {_words(drops)} (contract)"
        else:
            side = Side.NEUTRAL
            reason = f"{hunk.label()} names no expand or contract object: ships with head"
        named = adds if side is Side.EXPAND else drops if side is Side.CONTRACT else []
        sides.append(HunkSide(hunk.index, side, reason, names=tuple(named)))
    return sides


def _route(hunk: Hunk, routes: Sequence[Route], path: str | None) -> Route | None:
    """The first route whose glob takes ``path`` and whose regex finds a changed line."""
    for route in routes:
        if path is not None and not route.path.match(path):
            continue
        if any(route.match.search(line) for line in (*hunk.removed, *hunk.added)):
            return route
    return None


def _words(found: Sequence[str]) -> str:
    shown = ", ".join(repr(word) for word in found[:3])
    return shown + (f" and {len(found) - 3} more" if len(found) > 3 else "")


@dataclass(frozen=True)
class WholeFile:
    """The file is not split: it ships whole, in the later phase; ``reason`` says why."""

    path: str
    reason: str
    # False when there was nothing to split (unchanged, every hunk in one phase):
    # not worth a warning in the plan.
    worth_saying: bool = True


@dataclass(frozen=True)
class HunkSplit:
    """A file split by hunk: ``texts`` holds (phase, the file from that phase on), in order.

    The last text is head's; before the first phase the file is ``base``.
    """

    path: str
    base: str
    hunks: tuple[Hunk, ...]
    sides: tuple[HunkSide, ...]
    phases: tuple[int, ...]  # each hunk's phase, by index
    texts: tuple[tuple[int, str], ...]

    @property
    def early(self) -> str:
        """The file in the first phase that changes it: base with the earliest hunks."""
        return self.texts[0][1]

    @property
    def late(self) -> str:
        """Head's version, from the last phase that changes it."""
        return self.texts[-1][1]

    def text_at(self, phase: int) -> str:
        """The file as phase ``phase`` ships it."""
        text = self.base
        for number, phase_text in self.texts:
            if number <= phase:
                text = phase_text
        return text


def split_file(
    path: str,
    base: str | None,
    head: str | None,
    *,
    expand_names: Iterable[str | re.Pattern[str]] = (),
    contract_names: Iterable[str | re.Pattern[str]] = (),
    routes: Sequence[Route] = (),
    early: int = 1,
    late: int = 2,
    diff: str | None = None,
) -> HunkSplit | WholeFile:
    """Split one file's change between the ``early`` and ``late`` phases, or say why not.

    ``base``/``head`` are None when the file does not exist there; ``diff`` is git's
    diff of the file (``--unified=3``), else difflib's is used. Expand hunks go
    to ``early``, routed hunks to their route's phase, every other hunk to ``late``.
    The file stays whole (in the later phase) when a hunk mixes expand and contract,
    when a hunk would ship before one it depends on, or when a partial Python file
    does not compile.
    """
    if early >= late:
        raise ValueError(f"the early phase ({early}) must come before the late one ({late})")
    if base is None or head is None:
        what = "an added" if base is None else "a deleted"
        return WholeFile(path, f"{path}: {what} file ships whole")
    hunks = file_hunks(base, head) if diff is None else hunks_from_diff(diff, base)
    if partial_text(base, hunks, range(len(hunks))) != head:
        raise ValueError(f"the diff of {path} does not turn its base into its head")
    if not hunks:
        return WholeFile(path, f"{path}: unchanged", worth_saying=False)
    sides = classify_hunks(hunks, expand_names, contract_names, routes, path)
    mixed = next((side for side in sides if side.side is Side.MIXED), None)
    if mixed is not None:
        return WholeFile(path, f"{path}: {mixed.reason}")
    phases = tuple(_phase(side, early, late) for side in sides)
    return stage_file(path, base, hunks, phases, sides)


def _phase(side: HunkSide, early: int, late: int) -> int:
    if side.phase is not None:
        return side.phase
    return early if side.side is Side.EXPAND else late


def stage_file(
    path: str,
    base: str,
    hunks: Sequence[Hunk],
    phases: Sequence[int],
    sides: Sequence[HunkSide] = (),
) -> HunkSplit | WholeFile:
    """The file in each phase when hunk ``i`` ships in ``phases[i]``, or why it cannot be.

    Every text but the last (head's) is checked: no hunk ships before a hunk it
    depends on (:func:`dependency`), and a ``.py`` file still compiles.
    """
    if len(phases) != len(hunks):
        raise ValueError(f"{len(hunks)} hunks but {len(phases)} phases")
    if not hunks:
        return WholeFile(path, f"{path}: unchanged", worth_saying=False)
    numbers = sorted(set(phases))
    if len(numbers) < 2:
        return WholeFile(
            path,
            f"{path}: every hunk ships in phase {numbers[0]}; nothing to split",
            worth_saying=False,
        )
    head = partial_text(base, hunks, range(len(hunks)))
    python = path.endswith((".py", ".pyi"))
    if python and (problem := _compile_error(head, path)) is not None:
        return WholeFile(path, f"{path}: head's version does not compile here ({problem})")
    texts: list[tuple[int, str]] = []
    for number in numbers[:-1]:
        selected = {index for index, phase in enumerate(phases) if phase <= number}
        found = dependency(hunks, selected)
        if found is not None:
            early, later = found
            return WholeFile(
                path,
                f"{path}: {early.label()} (phase {phases[early.index]}) is within "
                f"{2 * CONTEXT} lines of {later.label()} (phase {phases[later.index]}): "
                "the earlier one cannot ship alone",
            )
        text = partial_text(base, hunks, selected)
        if python and (problem := _compile_error(text, path)) is not None:
            return WholeFile(
                path, f"{path}: the version for phase {number} does not compile ({problem})"
            )
        texts.append((number, text))
    texts.append((numbers[-1], head))
    return HunkSplit(path, base, tuple(hunks), tuple(sides), tuple(phases), tuple(texts))


def dependency(hunks: Sequence[Hunk], selected: Collection[int]) -> tuple[Hunk, Hunk] | None:
    """A selected hunk and an unselected one it depends on, or None.

    Conservatively, two hunks depend on each other when fewer than ``2 * CONTEXT + 1``
    unchanged lines separate them: their 3-line contexts would overlap, so neither
    applies as a patch without the other (diff tools would have made them one hunk).
    """
    ordered = sorted(hunks, key=_in_base_order)
    for before, after in itertools.pairwise(ordered):
        if (before.index in selected) == (after.index in selected):
            continue
        if after.base.start - before.base.stop <= 2 * CONTEXT:
            if before.index in selected:
                return before, after
            return after, before
    return None


def _compile_error(text: str, path: str) -> str | None:
    """Why ``text`` is not valid Python, or None; it is compiled, never run."""
    try:
        with warnings.catch_warnings():  # an invalid escape warns; head's own text may have one
            warnings.simplefilter("ignore")
            compile(text, path, "exec", dont_inherit=True)
    except SyntaxError as error:
        return f"line {error.lineno}: {error.msg}"
    except ValueError as error:  # a NUL byte
        return str(error)
    return None
