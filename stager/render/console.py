"""Consoles for stdout: safe to print repository text on, quiet when the reader goes away.

Every console stager prints through comes from here. A control character in
what it prints (a file name or a docstring from the branch) is shown escaped,
never sent to the terminal as a command; rich's own colours are styles, not
text, and still reach the terminal. rich's own Console exits 1 on a closed
pipe; these exit 141, as git does, when the reader goes away (``| head``).
"""

from __future__ import annotations

import functools
import io
import os
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, NoReturn

from stager.render.quoting import escape_controls

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderableType
    from rich.segment import Segment

EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, as git exits
PLAIN_WIDTH = 120


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

        def on_broken_pipe(self) -> None:
            broken_pipe_exit()

    return SafeConsole


def terminal_console(**options: Any) -> Console:
    """A rich Console for stdout whose closed pipe exits 141 quietly (rich's own exits 1)."""
    return _console_class()(**options)


def plain_console() -> Console:
    """A console that records plain text (no colours, fixed width) for files and pipes."""
    return _console_class()(
        record=True, width=PLAIN_WIDTH, no_color=True, highlight=False, file=io.StringIO()
    )
