"""gitignore-style ("gitwildmatch") path patterns, compiled to regular expressions.

The semantics are git's own (``gitignore(5)`` plus ``wildmatch.c``), so a
pattern in rules.toml selects exactly the paths the same line in a
``.gitignore`` would: the test suite cross-checks this against
``git check-ignore``. We do not depend on ``pathspec`` for it.

A pattern matches a path when it matches the path itself or any of its parent
directories (``build/`` selects every file under any ``build`` directory).
Matching is case-sensitive and works on characters, not bytes.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

# POSIX classes as git's ASCII-only ctype sees them (wildmatch.c).
_POSIX_CLASSES = {
    "alnum": "a-zA-Z0-9",
    "alpha": "a-zA-Z",
    "blank": " \\t",
    "cntrl": "\\x00-\\x1f\\x7f",
    "digit": "0-9",
    "graph": "!-~",
    "lower": "a-z",
    "print": " -~",
    "punct": "!-/:-@\\[-`{-~",
    "space": " \\t\\n\\r",
    "upper": "A-Z",
    "xdigit": "0-9a-fA-F",
}

_WILDCARDS = "*?[\\"


class _ClassError(Exception):
    """An unclosed bracket expression at ``index`` of the pattern body.

    Control flow only: ``compile_glob`` always catches it, and its ValueError
    becomes a RulesError naming the file and line where the pattern is.
    """

    def __init__(self, index: int) -> None:
        super().__init__(index)
        self.index = index


@dataclass(frozen=True)
class Pattern:
    """One compiled pattern; ``text`` is the pattern as written (with its ``!``)."""

    text: str
    negated: bool
    directory_only: bool
    regex: re.Pattern[str]

    def match(self, path: str) -> bool:
        """True when the pattern (ignoring its ``!``) selects ``path`` or a parent of it."""
        return self.regex.fullmatch(path) is not None


def compile_glob(pattern: str) -> Pattern:
    """Compile one gitignore-style pattern; ValueError says why a pattern is invalid."""
    if not pattern:
        raise ValueError("empty pattern; use '*' to match every file")
    if pattern.startswith("#"):
        # In a .gitignore this line would be a comment and match nothing.
        raise ValueError(r"a pattern starting with '#' is a comment in gitignore; write '\#'")
    if pattern.endswith(" ") and not pattern.endswith("\\ "):
        # git silently drops unescaped trailing spaces; a config file should not.
        raise ValueError(r"trailing whitespace is ignored by git; remove it or escape it as '\ '")
    negated = pattern.startswith("!")
    body = pattern[1:] if negated else pattern
    directory_only = body.endswith("/")
    if directory_only:
        body = body[:-1]
    if not body:
        raise ValueError("pattern matches nothing; write a path, e.g. 'docs/' or '*.md'")
    # Like git: any '/' left (even a leading one) anchors the pattern to the root;
    # without one, the pattern is matched against every path's basename.
    anchored = "/" in body
    if "//" in body or body.endswith("/"):
        raise ValueError("empty path component ('//'); remove the extra '/'")
    offset = len(pattern) - len(body) - directory_only  # characters before the body
    if body.startswith("/"):
        body = body[1:]
        offset += 1
    try:
        core = _translate(body, anchored)
    except _ClassError as error:
        column = offset + error.index + 1
        raise ValueError(
            f"unclosed '[' at column {column}; close it with ']' or write '\\['"
        ) from None

    prefix = "" if anchored else "(?:.*/)?"
    # A directory-only pattern must match a parent directory, never the file itself.
    suffix = "/.*" if directory_only else "(?:/.*)?"
    regex = re.compile(prefix + core + suffix, re.DOTALL)
    return Pattern(pattern, negated, directory_only, regex)


def match_patterns(patterns: Sequence[Pattern], path: str) -> Pattern | None:
    """The pattern that decides ``path`` in a gitignore-style list, or None.

    As in a .gitignore the last matching pattern wins, so ``!pattern`` takes
    back paths an earlier pattern selected. Unlike git, a ``!`` pattern can take
    back a file even when its parent directory was selected.
    """
    combined = _combined(tuple(patterns))
    if combined is not None and combined.fullmatch(path) is None:
        return None  # the common case: one regex search rejects the whole list
    return decide(patterns, path)


def decide(patterns: Sequence[Pattern], path: str) -> Pattern | None:
    """``match_patterns`` without the fast rejection (callers that did their own)."""
    for pattern in reversed(patterns):
        if pattern.match(path):
            return None if pattern.negated else pattern
    return None


@functools.lru_cache(maxsize=1024)
def _combined(patterns: tuple[Pattern, ...]) -> re.Pattern[str] | None:
    return combine(patterns)


def combine(patterns: Sequence[Pattern]) -> re.Pattern[str] | None:
    """One alternation of the positive patterns, for a fast 'no match' answer."""
    positive = [pattern.regex.pattern for pattern in patterns if not pattern.negated]
    if not positive:
        return None
    return re.compile("|".join(f"(?:{regex})" for regex in positive), re.DOTALL)


def _translate(body: str, anchored: bool) -> str:
    """Regex for the pattern body (no leading/trailing '/', no '!')."""
    # git compares the literal prefix (up to the first wildcard) separately and
    # then wildmatches the rest, so a '**' right after that prefix counts as
    # starting a component: 'a**/b' matches 'ab', 'a/b' and 'ax/y/b'. Mirror it.
    literal_end = next((i for i, ch in enumerate(body) if ch in _WILDCARDS), -1)
    out: list[str] = []
    i = 0
    n = len(body)
    while i < n:
        ch = body[i]
        if ch == "*":
            j = i
            while j < n and body[j] == "*":
                j += 1
            starts_component = i == 0 or body[i - 1] == "/" or (anchored and i == literal_end)
            if j - i >= 2 and starts_component and (j == n or body[j] == "/"):
                if j == n:
                    out.append(".*")  # trailing '/**': everything inside
                    i = j
                else:
                    out.append("(?:.*/)?")  # '**/': zero or more directories
                    i = j + 1
            else:
                out.append("[^/]*")
                i = j
        elif ch == "?":
            out.append("[^/]")
            i += 1
        elif ch == "[":
            regex, i = _translate_class(body, i)
            out.append(regex)
        elif ch == "\\":
            if i + 1 == n:
                raise ValueError(r"pattern ends with a lone '\'; escape it as '\\'")
            out.append(re.escape(body[i + 1]))
            i += 2
        else:
            out.append(re.escape(ch))
            i += 1
    return "".join(out)


def _translate_class(body: str, start: int) -> tuple[str, int]:
    """Regex for the bracket expression at ``body[start]``; returns it and the next index."""
    i = start + 1
    negated = i < len(body) and body[i] in "!^"
    if negated:
        i += 1
    items: list[str] = []
    first = True
    previous: str | None = None  # last single character, the start of a possible range
    while True:
        if i >= len(body):
            raise _ClassError(start)
        ch = body[i]
        if ch == "]" and not first:
            i += 1
            break
        first = False
        if ch == "\\":
            if i + 1 >= len(body):
                raise _ClassError(start)
            previous = body[i + 1]
            items.append(re.escape(previous))
            i += 2
        elif ch == "-" and previous is not None and i + 1 < len(body) and body[i + 1] != "]":
            high = body[i + 1]
            i += 2
            if high == "\\":
                if i >= len(body):
                    raise _ClassError(start)
                high = body[i]
                i += 1
            # The range's first character is already in the set; git ignores a
            # reversed range rather than rejecting it.
            if previous < high:
                items.append(f"{re.escape(previous)}-{re.escape(high)}")
            previous = None
        elif ch == "[" and body.startswith(":", i + 1):
            members, i = _posix_class(body, i, start)
            items.append(members if members else re.escape("["))
            # A '[' that opens no '[:name:]' is a literal and may start a range.
            previous = None if members else "["
        else:
            previous = ch
            items.append(re.escape(ch))
            i += 1
    members = "".join(items)
    # A bracket expression never matches '/' (git's WM_PATHNAME).
    if negated:
        return f"[^/{members}]", i
    return (f"(?!/)[{members}]" if members else "(?!)"), i


def _posix_class(body: str, i: int, start: int) -> tuple[str, int]:
    """Members of the ``[:name:]`` at ``body[i]``, or ``""`` when it is a literal '['."""
    close = body.find("]", i + 2)
    if close == -1:
        raise _ClassError(start)
    name = body[i + 2 : close]
    if not (len(name) >= 1 and name.endswith(":")):
        return "", i + 1
    name = name[:-1]
    if name not in _POSIX_CLASSES:
        raise ValueError(
            f"unknown character class '[:{name}:]'; use one of {', '.join(sorted(_POSIX_CLASSES))}"
        )
    return _POSIX_CLASSES[name], close + 1
