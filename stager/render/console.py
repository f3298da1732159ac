"""Consoles for stdout: safe to print repository text on, sized to where the text goes.

Every console stager prints through comes from here. A control character in
what it prints (a file name or a docstring from the branch) is shown escaped,
never sent to the terminal as a command; rich's own colours are styles, not
text, and still reach the terminal. rich's own Console exits 1 on a closed
pipe; these exit 141, as git does, when the reader goes away (``| head``).

Width is decided here, once for every command. A pipe or a file (CI logs,
``| less``, ``grep``) gets every logical line whole, never wrapped: a finding or
a path cut in two can be neither searched for nor clicked. A terminal gets
lines that fit its width, broken only between words (a path is never cut), each
continued at its own indent. Colours follow rich, which honours the
``NO_COLOR`` and ``FORCE_COLOR`` conventions; ``FORCE_COLOR`` colours a pipe
but does not wrap it.
"""

from __future__ import annotations

import functools
import io
import os
import re
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, NoReturn

from stager.render.quoting import escape_controls

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderableType
    from rich.segment import Segment
    from rich.text import Text

EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, as git exits
UNWRAPPED_WIDTH = 10_000
"""The width of a pipe or a file: wide enough that no line, and no table, ever wraps."""
_WORD = re.compile(r"\S+")


def broken_pipe_exit() -> NoReturn:
    """`stager analyze | head -1`: the reader has all it wanted; exit quietly.

    Exits like git does on SIGPIPE, with stdout pointed at /dev/null so that the
    interpreter's final flush does not fail again.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    raise SystemExit(EXIT_BROKEN_PIPE) from None


@functools.cache
def _console_class() -> type[Console]:
    """rich's Console, escaping control characters and exiting 141 on a closed pipe."""
    from rich.console import Console
    from rich.segment import Segment
    from rich.text import Text

    class SafeConsole(Console):
        def render(
            self, renderable: RenderableType, options: ConsoleOptions | None = None
        ) -> Iterable[Segment]:
            # Every print, and every cell of a table, is rendered here: the one
            # place no text can bypass. Escaping twice changes nothing more.
            for segment in super().render(renderable, options):
                text, style, control = segment
                escaped = text if control else escape_controls(text)
                yield segment if escaped == text else Segment(escaped, style)

        def print(self, *objects: Any, **options: Any) -> None:
            # A pipe's console never wraps (soft_wrap); a terminal's wraps each line of
            # text here, at words, continued at its indent. Tables lay out themselves.
            if self.soft_wrap or len(objects) != 1 or options.get("width") is not None:
                super().print(*objects, **options)
                return
            (item,) = objects
            if isinstance(item, str):
                item = self.render_str(
                    item,
                    markup=options.get("markup"),
                    highlight=options.get("highlight"),
                    emoji=options.get("emoji"),
                )
            if not isinstance(item, Text):
                super().print(item, **options)
                return
            options.update(soft_wrap=True, markup=False, highlight=False, emoji=False)
            super().print(wrap_at_words(item, self.width), **options)

        def on_broken_pipe(self) -> None:
            broken_pipe_exit()

    return SafeConsole


def wrap_at_words(text: Text, width: int) -> Text:
    """``text`` broken between words to fit ``width``; each line continued at its own indent.

    A word longer than the width (a path) stays whole on a line of its own: the
    terminal shows it folded, but it is copied, searched and clicked whole.
    """
    from rich.cells import cell_len
    from rich.text import Text

    rows: list[Text] = []
    for line in text.split("\n", allow_blank=True):
        plain = line.plain
        words = [match.span() for match in _WORD.finditer(plain)]
        if cell_len(plain) <= width or len(words) < 2:
            rows.append(line)
            continue
        indent = Text(plain[: len(plain) - len(plain.lstrip(" "))])
        budget, start, end = width, 0, words[0][1]
        for word_start, word_end in words[1:]:
            if cell_len(plain[start:word_end]) > budget:
                rows.append(line[start:end] if start == 0 else indent + line[start:end])
                budget, start = max(width - len(indent), 1), word_start
            end = word_end
        rows.append(line[start:end] if start == 0 else indent + line[start:end])
    return Text("\n").join(rows)


def stdout_console() -> Console:
    """The console for stdout: a terminal's width, or whole lines for a pipe (module doc)."""
    if sys.stdout.isatty():
        return _console_class()(highlight=False)
    return _console_class()(highlight=False, width=UNWRAPPED_WIDTH, soft_wrap=True)


def plain_console() -> Console:
    """A console that records plain text (no colours, lines never wrapped) for files."""
    return _console_class()(
        record=True,
        width=UNWRAPPED_WIDTH,
        soft_wrap=True,
        no_color=True,
        highlight=False,
        file=io.StringIO(),
    )
