"""Consoles for stdout: a reader that goes away (``| head``) ends stager quietly with 141.

rich's own Console exits 1 on a closed pipe; every console stager prints
through comes from here so that every command exits as git does.
"""

from __future__ import annotations

import io
import os
import sys
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from rich.console import Console

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


def terminal_console(**options: Any) -> Console:
    """A rich Console for stdout whose closed pipe exits 141 quietly (rich's own exits 1)."""
    from rich.console import Console

    class _Console(Console):
        def on_broken_pipe(self) -> None:
            broken_pipe_exit()

    return _Console(**options)


def plain_console() -> Console:
    """A console that records plain text (no colours, fixed width) for files and pipes."""
    from rich.console import Console

    return Console(
        record=True, width=PLAIN_WIDTH, no_color=True, highlight=False, file=io.StringIO()
    )
