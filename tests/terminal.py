"""Run stager as a user's terminal would: in a pseudo-terminal of a given width."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


def run_in_terminal(
    args: list[str], columns: int, env: Mapping[str, str], cwd: Path | None = None
) -> str:
    """``python -m stager ARGS`` in a pseudo-terminal ``columns`` wide; what it showed.

    COLUMNS and LINES are left out, so that stager asks the terminal its size.
    """
    main, child = pty.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    environment = {k: v for k, v in env.items() if k not in {"COLUMNS", "LINES"}}
    process = subprocess.Popen(
        [sys.executable, "-m", "stager", *args],
        stdin=child,
        stdout=child,
        stderr=child,
        env={**environment, "TERM": "xterm-256color", "PYTHONPATH": str(ROOT)},
        cwd=cwd,
        close_fds=True,
    )
    os.close(child)
    shown = read_to_the_end(main)
    process.wait(timeout=120)
    return shown.replace("\r\n", "\n")


def read_to_the_end(main: int) -> str:
    """Everything written to a pseudo-terminal whose other end is closed; ``main`` is closed.

    One read is not enough: the kernel hands what was written to the reading end in
    chunks, some of them later on a busy machine.
    """
    chunks: list[bytes] = []
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # EIO: every writer closed its end and all was read
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(main)
    return b"".join(chunks).decode("utf-8")


def visible(text: str) -> str:
    """``text`` as a reader sees it: no colour codes."""
    return ANSI.sub("", text)
