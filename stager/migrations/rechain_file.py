"""Re-chain an Alembic revision file: new ``down_revision``, new ``Revises:`` line, nothing else.

``stager split`` chains a phase's first migrations onto the head the previous
phase left. The edit is made on the file's text at the positions ``ast``
gives, so every other byte (comments, quotes, formatting, line endings, the
encoding) stays as it was: a reviewer sees a two-line diff, and ``verify``
proves it by running the same edit on head's version and comparing bytes.
The file is read, never imported.
"""

from __future__ import annotations

import ast
import bisect
import io
import re
import tokenize
from collections.abc import Sequence
from dataclasses import dataclass

from stager.errors import MigrationError
from stager.migrations.parse import TOO_DEEP, assignments, revision_id_problem
from stager.migrations.revision_files import over_parse_limit
from stager.types import Revision

FIELD = "down_revision"
# Python's own line ends (the tokenizer reads \r\n, \r and \n); str.splitlines
# would also split on \f, \x1c, \u2028…, which do not end a line for Python.
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)?")
# Where the part of a large revision file that stager parses ends, and what must not follow it.
_FIRST_DEFINITION = re.compile(r"^(?:(?:async[ \t]+)?def\b|class\b|@)", re.MULTILINE)
_IDENTIFIER_LINE = re.compile(rf"^({FIELD}|revision)[ \t]*[:=]", re.MULTILINE)
_REVISES = re.compile(r"^([ \t]*Revises[ \t]*:)([ \t]*)(.*?)([ \t]*)$", re.IGNORECASE)


class RelinkError(MigrationError):
    """A revision file whose ``down_revision`` stager cannot rewrite safely."""


@dataclass(frozen=True)
class Relinked:
    """The rewritten file, and what it said before."""

    source: bytes
    old_parents: tuple[Revision, ...]
    revises_line: int | None  # 1-based line of the Revises: line rewritten, None when absent
    down_revision_line: int  # 1-based line of the assignment rewritten


@dataclass(frozen=True)
class _Edit:
    start: int
    end: int
    text: str


class SourceLines:
    """Character offsets of a text's lines, to turn ast positions into string slices."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts: list[int] = []
        self.lines: list[str] = []
        for match in _LINE.finditer(text):
            if match.group():
                self.starts.append(match.start())
                self.lines.append(match.group())
        if not self.lines or self.lines[-1].endswith(("\n", "\r")):
            self.starts.append(len(text))  # the empty last line ast can point at
            self.lines.append("")

    def offset(self, lineno: int, col_offset: int) -> int:
        """ast's (line, UTF-8 byte column) as an index into the text."""
        line = self.lines[lineno - 1]
        column = len(line.encode("utf-8")[:col_offset].decode("utf-8"))
        return self.starts[lineno - 1] + column


def decode_source(source: bytes) -> tuple[str, str]:
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(source).readline)
        return source.decode(encoding), encoding
    except (SyntaxError, LookupError, UnicodeDecodeError) as error:
        raise RelinkError(f"cannot decode the file: {error}", "save it as UTF-8") from None


def module_assignment(module: ast.Module, field: str = FIELD) -> ast.expr | None:
    """The value of the last module-level ``down_revision = ...`` (the one import keeps)."""
    found: ast.expr | None = None
    for statement in module.body:
        for target, value in assignments(statement):
            if isinstance(target, ast.Name) and target.id == field:
                found = value
    return found


def _check_ids(module: ast.Module, old: Sequence[Revision], new: Sequence[Revision]) -> None:
    """Refuse ids that would forge lines in the docstring or the commit's trailers."""
    own = module_assignment(module, "revision")
    try:
        literal = ast.literal_eval(own) if own is not None else None
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        literal = None
    ids = [literal] if isinstance(literal, str) else []
    for revision in (*ids, *old, *new):
        why = revision_id_problem(revision)
        if why is not None:
            raise RelinkError(
                f"the revision id {revision!r} {why}",
                "rename the revision (and every down_revision naming it) to letters, "
                "digits and underscores",
            )


def _parents(value: ast.expr) -> tuple[Revision, ...]:
    try:
        literal = ast.literal_eval(value)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        raise RelinkError(
            f"{FIELD} is not a literal", f"write {FIELD} as a string, a tuple of strings or None"
        ) from None
    if literal is None:
        return ()
    if isinstance(literal, str):
        return (Revision(literal),)
    if isinstance(literal, tuple | list) and all(isinstance(item, str) for item in literal):
        return tuple(Revision(item) for item in literal)
    raise RelinkError(
        f"{FIELD} is a {type(literal).__name__}",
        f"write {FIELD} as a string, a tuple of strings or None",
    )


def _quote(segment: str) -> str:
    """The quote character the file already uses for the value; ' (alembic's repr) by default."""
    match = re.search(r"[\"']", segment)
    return match.group() if match else "'"


def _literal(revision: str, quote: str) -> str:
    if quote in revision or "\\" in revision or not revision.isprintable():
        return repr(revision)
    return f"{quote}{revision}{quote}"


def format_parents(parents: Sequence[Revision], original: ast.expr, segment: str) -> str:
    """The new value's text, in the style of the old one (quotes, tuple or list)."""
    quote = _quote(segment)
    if not parents:
        return "None"
    if len(parents) == 1 and not isinstance(original, ast.Tuple | ast.List):
        return _literal(parents[0], quote)
    items = ", ".join(_literal(parent, quote) for parent in parents)
    if isinstance(original, ast.List):
        return f"[{items}]"
    return f"({items},)" if len(parents) == 1 else f"({items})"


def _revises_edit(
    module: ast.Module, lines: SourceLines, parents: Sequence[Revision]
) -> _Edit | None:
    """The edit of the module docstring's ``Revises:`` line, None when there is none."""
    first = module.body[0] if module.body else None
    if not (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    ):
        return None
    end_line = first.end_lineno or first.lineno
    for number in range(first.lineno, end_line + 1):
        raw = lines.lines[number - 1]
        content = raw.rstrip("\r\n")
        match = _REVISES.match(content)
        if match is None:
            continue
        space = match.group(2) or (" " if parents else "")
        start = lines.starts[number - 1] + match.end(1)
        end = lines.starts[number - 1] + match.end(3)
        return _Edit(start, end, space + ", ".join(parents))
    return None


def _parsed_part(text: str, size: int) -> tuple[str, str]:
    """The part of the file ``ast`` reads, and the rest, kept as it is.

    A file over the parse limit (a data migration of generated INSERTs) is
    read up to its first ``def`` or ``class``: alembic's identifiers come
    before ``upgrade()``, and parsing megabytes twice would cost a split
    minutes. A ``down_revision`` or ``revision`` assigned again below that
    line would be missed, so such a file is refused.
    """
    too_large = over_parse_limit(size)
    if too_large is None:
        return text, ""
    first = _FIRST_DEFINITION.search(text)
    head = text[: first.start()] if first is not None else text
    if first is None or over_parse_limit(len(head)) is not None:
        raise RelinkError(
            f"{too_large}, and its identifiers are not all above its first `def`",
            f"move revision and {FIELD} to the top of the file, as alembic writes them",
        )
    again = _IDENTIFIER_LINE.search(text, first.start())
    if again is not None:
        line = text.count("\n", 0, again.start()) + 1
        raise RelinkError(
            f"{too_large}, and it assigns {again.group(1)} again at line {line}, below "
            "its first `def`",
            f"assign revision and {FIELD} once, at the top of the file",
        )
    return head, text[len(head) :]


def relink(source: bytes, parents: Sequence[Revision]) -> Relinked:
    """``source`` with ``down_revision`` (and the docstring's ``Revises:``) set to ``parents``.

    Raises RelinkError when the file does not parse or has no literal
    module-level ``down_revision`` (a file over the parse limit: in its part
    above the first ``def``, see :func:`_parsed_part`).
    """
    text, encoding = decode_source(source)
    text, rest = _parsed_part(text, len(source))
    try:
        module = ast.parse(text)
    except (SyntaxError, ValueError) as error:
        raise RelinkError(
            f"cannot parse the revision file: {error}", "fix the file so that Python can read it"
        ) from None
    except (MemoryError, RecursionError):  # CPython's limits: alembic cannot load it either
        raise RelinkError(
            f"cannot parse the revision file: {TOO_DEEP}",
            "fix the file so that Python can read it (split the expression)",
        ) from None
    value = module_assignment(module)
    if value is None or value.end_lineno is None or value.end_col_offset is None:
        raise RelinkError(
            f"no module-level `{FIELD} = ...` assignment",
            f"add one: alembic needs {FIELD} to chain the revision",
        )
    old_parents = _parents(value)
    _check_ids(module, old_parents, parents)
    lines = SourceLines(text)
    start = lines.offset(value.lineno, value.col_offset)
    end = lines.offset(value.end_lineno, value.end_col_offset)
    edits = [_Edit(start, end, format_parents(parents, value, text[start:end]))]
    revises = _revises_edit(module, lines, parents)
    if revises is not None:
        edits.append(revises)
    new_text = text
    for edit in sorted(edits, key=lambda edit: edit.start, reverse=True):
        new_text = new_text[: edit.start] + edit.text + new_text[edit.end :]
    _check(new_text, parents)
    result = (new_text + rest).encode(encoding)
    # the 1-based line holding the edit's start
    revises_line = bisect.bisect_right(lines.starts, revises.start) if revises is not None else None
    return Relinked(result, old_parents, revises_line, value.lineno)


def _check(text: str, parents: Sequence[Revision]) -> None:
    """The rewritten file must parse and say exactly ``parents``: never ship a broken edit."""
    value = module_assignment(ast.parse(text))
    if value is None or _parents(value) != tuple(parents):
        raise RelinkError(
            f"rewriting {FIELD} did not give {tuple(parents)}",
            "edit the file by hand and report this as a stager bug",
        )
