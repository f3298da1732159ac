"""Text from the analysed repository made safe to show, on a terminal and in markdown.

File names, docstrings, revision ids and commit subjects are written by whoever
pushed the branch. On a terminal a control character in them is a command (an
OSC title, a clear screen, a hyperlink); in a pull request body
``<!-- stager:end -->`` would move the generated part and ``@team`` would ping
people. Every output path shows such text through the functions here.
"""

from __future__ import annotations

import re

# C0, DEL, C1, and the lone surrogates that stand for bytes which are not UTF-8
# (git's paths are decoded with surrogateescape).
_CONTROLS = "\x00-\x1f\x7f-\x9f\ud800-\udfff"
_CONTROL = re.compile(f"[{_CONTROLS}]")
_CONTROL_BUT_LINES = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")  # \t, \n kept
_NEEDS_QUOTES = re.compile(f'[{_CONTROLS}"\\\\]')
_NAMED = {
    "\a": "\\a",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\v": "\\v",
    "\f": "\\f",
    "\r": "\\r",
    '"': '\\"',
    "\\": "\\\\",
}
WORD_JOINER = "\u2060"
"""Invisible, and breaks what GitHub would read as a mention, a tag or an entity."""


def _c_escape(match: re.Match[str]) -> str:
    """One character as git's C quoting writes it: ``\\n``, ``\\"`` or octal bytes."""
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    if "\udc80" <= char <= "\udcff":  # a byte that is not UTF-8, as surrogateescape kept it
        return f"\\{ord(char) - 0xDC00:03o}"
    return "".join(f"\\{byte:03o}" for byte in char.encode("utf-8", "surrogatepass"))


def quote_path(path: str) -> str:
    """``path`` as git shows it: as it is, or C-quoted in double quotes (``"a\\nb"``).

    Like git with ``core.quotePath=false``: a path with a control character, a
    double quote or a backslash is quoted; other characters, accented letters
    too, stay as they are. C1 controls, which git passes through, are quoted
    too, and so are bytes that are not UTF-8 (octal, as git's default quotes them).
    """
    if not _NEEDS_QUOTES.search(path):
        return path
    return '"' + _NEEDS_QUOTES.sub(_c_escape, path) + '"'


def one_line(text: str) -> str:
    """Free text (a docstring's first line, a commit subject, a message) as one safe line.

    Every control character, line breaks too, becomes its C escape (``\\033``,
    ``\\n``); nothing is quoted.
    """
    return _CONTROL.sub(_c_escape, text)


def escape_controls(text: str) -> str:
    """``text`` with its control characters escaped but its line breaks and tabs kept.

    For text that is several lines by design (a console's output, a rendered
    template): what a terminal would run as a command becomes visible.
    """
    return _CONTROL_BUT_LINES.sub(_c_escape, text)


# --- markdown ---------------------------------------------------------------

# What GitHub reads as a mention: "@" after a non-word character, then a letter or digit.
_MENTION = re.compile(r"(?<![\w@])@(?=[A-Za-z0-9])")
# The start of an HTML comment (which hides what follows; stager's markers are
# comments), declaration or processing instruction. Other tags are GitHub's to
# sanitise, and stay: ``git revert -m 1 <merge commit>`` is copied from a body.
_COMMENT = re.compile(r"<(?=[!?])")
# The start of an entity: "&#64;" is "@" to GitHub, which would mention again.
_ENTITY = re.compile(r"&(?=#|[A-Za-z][A-Za-z0-9]*;)")


class BuiltMarkdown(str):
    """Markdown stager built itself, every piece of repository text in it already made safe
    (a Mermaid block: ``render.mermaid``): a template writes it as it is, lines and all."""

    __slots__ = ()


def neutralise(text: str) -> str:
    """``text`` made inert in GitHub markdown, inside a code span or out of one.

    Control characters are escaped and a line break is a space, as markdown
    shows a single one: the text cannot start a block (a heading, a fence, a
    list item) where the template put it inline. A word joiner, which shows
    nothing, goes after the ``@`` of a mention, the ``<`` of a comment (so
    ``<!-- stager:end -->`` is no longer a marker) and the ``&`` of an entity.
    Applying it twice changes nothing more.
    """
    text = escape_controls(text).replace("\n", " ")
    for pattern in (_MENTION, _COMMENT, _ENTITY):
        text = pattern.sub(lambda match: match.group() + WORD_JOINER, text)
    return text


def code_span(text: object) -> str:
    """``text`` as a markdown code span that shows it exactly, quoted as git quotes a path.

    The fence has one backtick more than the longest run of backticks inside
    (CommonMark); a space pads text that starts or ends with a backtick, or
    with a space at both ends, because CommonMark strips one there.
    """
    shown = quote_path(str(text)) or '""'  # an empty span is no span: show an empty string
    longest = max((len(run) for run in re.findall("`+", shown)), default=0)
    fence = "`" * (longest + 1)
    padded = shown.startswith("`") or shown.endswith("`")
    padded = padded or (shown.startswith(" ") and shown.endswith(" ") and bool(shown.strip()))
    pad = " " if padded else ""
    return f"{fence}{pad}{shown}{pad}{fence}"


def table_cell(text: object) -> str:
    """``text`` inside one cell of a markdown table: pipes escaped, on one line.

    GitHub splits a row at every unescaped ``|``, inside code spans too.
    """
    return str(text).replace("|", "\\|").replace("\n", " ")
