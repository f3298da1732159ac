"""Python source read without ``ast``: for the files stager's own parser cannot read.

A project may target a newer Python than stager runs on (``except A, B:`` is
valid from 3.14 on), nest deeper than CPython's parser allows, or hold a file
too large to parse in bounded time. Such a file still imports modules and
uses names, and losing those edges would ship a phase without a module it
imports. :func:`scan_tokens` reads them from Python's own tokens, which know
no grammar and so tolerate syntax they have never seen; :func:`scan_lines`
reads them with regular expressions, for files over the parse limit. Both
err on the side of more names than ``ast`` would find: a name too many costs
an edge, a name missed loses one.
"""

from __future__ import annotations

import ast
import io
import keyword
import re
import tokenize
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# A string is taken for SQL when it reads like a statement, not like prose.
_SQL = re.compile(
    r"\b(?:select\b[\s\S]*\bfrom|update\b[\s\S]*\bset|insert\s+into|delete\s+from"
    r"|(?:alter|create|drop)\s+(?:table|index|type|view|materialized))\b",
    re.IGNORECASE,
)
_KEYWORDS = frozenset(keyword.kwlist)
_BLOCKS = frozenset({"def", "class"})
_TARGET_PUNCTUATION = frozenset({",", "(", ")", "[", "]", "*"})
# Python 3.12+ splits f-strings into tokens; their text parts are strings too.
_STRING_PARTS = frozenset({tokenize.STRING, getattr(tokenize, "FSTRING_MIDDLE", tokenize.STRING)})
_COMPARISONS = frozenset({"==", "<=", ">=", "!="})
_FIELD = re.compile(r"\{([^{}]*)\}")


def looks_like_sql(text: str) -> bool:
    """Whether a string reads like an SQL statement rather than prose or a UI label."""
    return _SQL.search(text) is not None


class ImportRef(NamedTuple):
    """``import module`` (names empty) or ``from [.]module import names``.

    A NamedTuple: thousands are read back from the facts cache per run.
    """

    module: str  # dotted; "" for ``from . import x``
    level: int  # 0 absolute, 1 for ``.``, 2 for ``..``
    names: tuple[str, ...]
    line: int


@dataclass
class Scanned:
    """What a scan found; the names mean what :class:`~stager.plan.pyfacts.PyFacts` says."""

    imports: list[ImportRef] = field(default_factory=list)
    top: set[str] = field(default_factory=set)
    imported: set[str] = field(default_factory=set)
    members: set[str] = field(default_factory=set)
    names: set[str] = field(default_factory=set)
    attributes: set[str] = field(default_factory=set)
    words: set[str] = field(default_factory=set)
    sql_words: set[str] = field(default_factory=set)

    def string(self, text: str) -> None:
        words = IDENTIFIER.findall(text)
        self.words.update(words)
        if looks_like_sql(text):
            self.sql_words.update(words)


def scan_tokens(text: str) -> Scanned:
    """Imports, definitions and names of ``text``, from its tokens; never raises.

    Imports count at statement starts outside ``def`` and ``class`` bodies and
    ``if TYPE_CHECKING:`` blocks, as ``ast`` counts them. A tokenizer error (an
    unclosed string) ends the scan with what came before it.
    """
    found = Scanned()
    # (indentation, opener) of the enclosing blocks that hold no module-level code
    blocks: list[tuple[int, str]] = []
    docstring = True  # the module's first statement may be its docstring
    for statement, indent in _logical_lines(text):
        while blocks and indent <= blocks[-1][0]:
            blocks.pop()
        opener = blocks[-1][1] if blocks else None
        _uses(statement, found, docstring=docstring)
        for part in _split(statement, ";"):
            _statement(part, opener, found)
        kind = _opens(statement)
        if kind is not None:
            blocks.append((indent, kind))
        docstring = kind in _BLOCKS  # a def's or a class's first statement may be one too
    return found


def _opens(statement: Sequence[tokenize.TokenInfo]) -> str | None:
    """ "def", "class" or "if" (``if TYPE_CHECKING:``) for a line opening such a block."""
    words = [token.string for token in statement[:4]]
    if words[0] == "async":
        words = words[1:]
    if words[0] in _BLOCKS:
        return words[0]
    if words[0] == "if" and "TYPE_CHECKING" in words:
        return "if"
    return None


def _logical_lines(text: str) -> Iterator[tuple[Sequence[tokenize.TokenInfo], int]]:
    """Each logical line's tokens (comments and line breaks left out) and indentation."""
    indent = 0
    line: list[tokenize.TokenInfo] = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.INDENT:
                indent += 1
            elif token.type == tokenize.DEDENT:
                indent -= 1
            elif token.type in (tokenize.NEWLINE, tokenize.ENDMARKER):
                if line:
                    yield line, indent
                line = []
            elif token.type not in (tokenize.NL, tokenize.COMMENT):
                line.append(token)
    except (tokenize.TokenError, SyntaxError):  # IndentationError is a SyntaxError
        pass
    if line:
        yield line, indent


def _uses(statement: Sequence[tokenize.TokenInfo], found: Scanned, *, docstring: bool) -> None:
    """The names, attributes and string words of one logical line."""
    if docstring and all(token.type in _STRING_PARTS for token in statement):
        return
    brackets = 0
    strings: list[str] = []  # adjacent literals: Python joins them into one string
    previous: tokenize.TokenInfo | None = None
    for token in (*statement, None):
        if token is not None and token.type in _STRING_PARTS:
            strings.append(token.string)
            continue
        if strings:
            found.string("".join(_string(literal, found) for literal in strings))
            strings = []
        if token is None:
            break
        if token.type == tokenize.NAME and token.string not in _KEYWORDS:
            after_dot = previous is not None and previous.string == "."
            (found.attributes if after_dot else found.names).add(token.string)
        elif token.type == tokenize.OP:
            brackets += (token.string in "([{") - (token.string in ")]}")
            if token.string == "=" and brackets and previous and previous.type == tokenize.NAME:
                found.attributes.add(previous.string)  # f(attr=...): a keyword argument
        previous = token


def _string(literal: str, found: Scanned) -> str:
    """A string literal's text; an f-string's fields are code (3.11 tokenizes them whole)."""
    body = literal.lstrip("rRbBuUfF")
    prefix = literal[: len(literal) - len(body)]
    if "f" in prefix.lower():
        for field in _FIELD.findall(body):
            code = set(IDENTIFIER.findall(field)) - _KEYWORDS
            found.names.update(code)
            found.attributes.update(code)
        literal = prefix.replace("f", "").replace("F", "") + _FIELD.sub(" ", body)
    try:
        value = ast.literal_eval(literal)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return body  # an FSTRING_MIDDLE part (3.12+) is raw text
    return value if isinstance(value, str) else ""


def _split(tokens: Sequence[tokenize.TokenInfo], separator: str) -> list[list[tokenize.TokenInfo]]:
    """``tokens`` cut at each ``separator`` outside brackets (the empty parts left out)."""
    parts: list[list[tokenize.TokenInfo]] = [[]]
    brackets = 0
    for token in tokens:
        if token.type == tokenize.OP and token.string in "([{":
            brackets += 1
        elif token.type == tokenize.OP and token.string in ")]}":
            brackets -= 1
        if brackets == 0 and token.type == tokenize.OP and token.string == separator:
            parts.append([])
        else:
            parts[-1].append(token)
    return [part for part in parts if part]


def _statement(tokens: Sequence[tokenize.TokenInfo], opener: str | None, found: Scanned) -> None:
    if opener is None and tokens[0].string in ("import", "from"):
        _import(tokens, found)
        return
    bound = _bound(tokens)
    if opener is None:
        found.top.update(bound)
    elif opener == "class":
        found.members.update(bound)


def _bound(tokens: Sequence[tokenize.TokenInfo]) -> set[str]:
    """Names a statement binds: ``def``/``class NAME``, ``a, b = …``, ``x: int``, ``x += 1``."""
    words = [token.string for token in tokens]
    if words[0] == "async":
        words = words[1:]
    if words[0] in _BLOCKS:
        return {words[1]} if len(words) > 1 and words[1].isidentifier() else set()
    if len(words) > 1 and tokens[0].type == tokenize.NAME and words[0] not in _KEYWORDS:
        follow = words[1]
        if follow == ":" or (follow.endswith("=") and follow not in _COMPARISONS):
            return {words[0]}
    parts = _split(tokens, "=")
    bound: set[str] = set()
    for target in parts[:-1]:
        if all(t.type == tokenize.NAME or t.string in _TARGET_PUNCTUATION for t in target):
            bound.update(t.string for t in target if t.type == tokenize.NAME)
    return bound - _KEYWORDS


def _import(tokens: Sequence[tokenize.TokenInfo], found: Scanned) -> None:
    """``import a.b as c, d`` or ``from ..x import (y as z, w)``."""
    words = [token.string for token in tokens if token.string not in "()"]
    line = tokens[0].start[0]
    if words[0] == "import":
        for module, alias in _clauses(words[1:]):
            found.imports.append(ImportRef(module, 0, (), line))
            found.imported.add(alias or module.split(".")[0])
        return
    if "import" not in words:
        return
    at = words.index("import")
    source = "".join(words[1:at])
    module = source.lstrip(".")
    clauses = _clauses(words[at + 1 :])
    found.imports.append(
        ImportRef(module, len(source) - len(module), tuple(name for name, _ in clauses), line)
    )
    found.imported.update(alias or name for name, alias in clauses if name != "*")


def _clauses(words: Sequence[str]) -> list[tuple[str, str | None]]:
    """Words of ``a.b as c, d`` (commas and dots apart or not) → [("a.b", "c"), ("d", None)]."""
    clauses: list[tuple[str, str | None]] = []
    clause: list[str] = []
    for word in [*words, ","]:
        if word != ",":
            clause.append(word)
            continue
        at = clause.index("as") if "as" in clause else len(clause)
        name, alias = "".join(clause[:at]), "".join(clause[at + 1 :])
        if name:
            clauses.append((name, alias or None))
        clause = []
    return clauses


_WORDS = re.compile(r"[\w.*]+|,")
_IMPORT_LINE = re.compile(
    r"^[ \t]*(?:from[ \t]+(\.*)([\w.]*)[ \t]+import[ \t]*(\([^)]*\)|[^\n#;]*)"
    r"|import[ \t]+([^\n#;]*))",
    re.MULTILINE,
)
_TOP_LINE = re.compile(
    r"^(?:(?:async[ \t]+)?(?:def|class)[ \t]+(\w+)|(\w+)[ \t]*(?::|[-+*/%&|^@]?=(?!=)))",
    re.MULTILINE,
)


def scan_lines(text: str) -> Scanned:
    """Imports, module-level definitions and every identifier, by regular expressions.

    For files over the parse limit: linear and fast, and coarser than
    :func:`scan_tokens` (a word in a comment or a string counts as used).
    """
    found = Scanned()
    line, counted = 1, 0
    for match in _IMPORT_LINE.finditer(text):
        line, counted = line + text.count("\n", counted, match.start()), match.start()
        dots, module, names, plain = match.groups()
        if plain is not None:
            for name, alias in _clauses(_WORDS.findall(plain)):
                found.imports.append(ImportRef(name, 0, (), line))
                found.imported.add(alias or name.split(".")[0])
            continue
        clauses = _clauses(_WORDS.findall(names))
        found.imports.append(ImportRef(module, len(dots), tuple(n for n, _ in clauses), line))
        found.imported.update(alias or name for name, alias in clauses if name != "*")
    for match in _TOP_LINE.finditer(text):
        found.top.add(match.group(1) or match.group(2))
    # Every identifier, anywhere: used as a name, an attribute, a word, in SQL.
    identifiers = set(IDENTIFIER.findall(text)) - _KEYWORDS
    found.names = found.attributes = found.words = found.sql_words = identifiers
    return found
