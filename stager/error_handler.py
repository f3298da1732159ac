"""The one place errors become exit codes (modelled on pre-commit's error_handler).

StagerError → its message on one line, exit 1. Ctrl-C → 130, SIGTERM → 143 and
SIGHUP → 129 (128 + the signal, as a shell reports it; see
:mod:`stager.interrupts`), after every ``finally`` cleaned up. A closed output
pipe → 141, silently. Anything else is a bug in stager: exit 3, with the
traceback in a log file whose path is printed.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from stager import __version__
from stager.errors import StagerError
from stager.interrupts import Interrupted
from stager.render.console import broken_pipe_exit
from stager.render.quoting import escape_controls

EXIT_CRASH = 3


def crash_log_path() -> Path:
    """Where a crash traceback goes: the user's cache, never the analysed repository."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "stager" / "stager-crash.log"


def _write_crash_log(error: BaseException) -> Path:
    """The traceback in :func:`crash_log_path`, else in a new file of the temporary folder.

    Neither is opened through a symbolic link: the temporary folder is shared,
    so its log gets a fresh name (``mkstemp``: ``O_EXCL``, mode 0600), and the
    cache's log is opened with ``O_NOFOLLOW``.
    """
    text = (
        f"stager {__version__} crashed at {time.strftime('%Y-%m-%d %H:%M:%S')}\n"
        f"argv: {sys.argv}\npython: {sys.version}\n\n" + "".join(traceback.format_exception(error))
    )
    try:
        return _write_new(crash_log_path(), text)
    except OSError:
        pass
    try:
        descriptor, name = tempfile.mkstemp(prefix="stager-crash-", suffix=".log")
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(text)
    except OSError:
        return Path("(could not write a log)")
    return Path(name)


def _write_new(path: Path, text: str) -> Path:
    """``text`` in ``path``, replacing a regular file, never following a link."""
    path.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    with os.fdopen(os.open(path, flags, 0o600), "w", encoding="utf-8") as file:
        file.write(text)
    return path


@contextmanager
def error_handler() -> Iterator[None]:
    """Turn every exception into a message and an exit code."""
    try:
        yield
    except StagerError as error:
        # A message may name a file or revision of the branch: never a terminal command.
        print(f"stager: error: {escape_controls(str(error))}", file=sys.stderr)
        raise SystemExit(error.exit_code) from None
    except KeyboardInterrupt as interrupt:
        stopped = Interrupted.of(interrupt)
        print(f"stager: {stopped.message()}", file=sys.stderr)
        raise SystemExit(stopped.exit_code) from None
    except BrokenPipeError:
        broken_pipe_exit()
    except Exception as error:
        log = _write_crash_log(error)
        print(
            f"stager: unexpected error: {type(error).__name__}: {escape_controls(str(error))}\n"
            f"This is a bug in stager. The traceback is in {log}: "
            "please attach it to a bug report.",
            file=sys.stderr,
        )
        raise SystemExit(EXIT_CRASH) from None
