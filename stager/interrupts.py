"""Signals that stop stager: SIGTERM and SIGHUP unwind like Ctrl-C; some steps finish first.

CI cancels a job with SIGTERM and a closed terminal sends SIGHUP. Python's
default for both is to die on the spot, skipping every ``finally``: temporary
worktrees, verify's folders and the object quarantine would stay behind, and a
``--check`` command would run on. :func:`stop_like_ctrl_c` makes them raise
:class:`Interrupted`, a ``KeyboardInterrupt``, so that they unwind the stack
exactly as Ctrl-C does. :func:`deferred` holds every such signal (Ctrl-C too)
back while a step that must not be cut in half runs: the one ref transaction,
and the cleanup itself.

Signals are handled in the main thread only (Python's rule), and a signal the
parent process ignores (``nohup``, a background job's SIGINT) stays ignored.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

Handler = Callable[[int, FrameType | None], object] | int | signal.Handlers | None


class Interrupted(KeyboardInterrupt):
    """A signal stopped stager.

    ``finished``: what it let finish first (a ref update); ``outcome``: what the
    interrupted command had written, when it knows (split reads its record).
    """

    def __init__(self, signum: int, finished: str = "", outcome: str = "") -> None:
        super().__init__(signum)
        self.signum = signum
        self.finished = finished
        self.outcome = outcome

    @classmethod
    def of(cls, interrupt: KeyboardInterrupt, outcome: str = "") -> Interrupted:
        """``interrupt`` as an :class:`Interrupted` (Python's own Ctrl-C raises a bare one)."""
        if isinstance(interrupt, Interrupted):
            return cls(interrupt.signum, interrupt.finished, outcome or interrupt.outcome)
        return cls(signal.SIGINT, outcome=outcome)

    @property
    def exit_code(self) -> int:
        """128 + the signal's number, as a shell reports a process the signal killed."""
        return 128 + self.signum

    def message(self) -> str:
        """One line: which signal, what finished, what was cleaned up, what was left as it was."""
        name = signal.Signals(self.signum).name
        verb = "interrupted" if self.signum == signal.SIGINT else "terminated"
        if self.outcome:
            once = f" once {self.finished}" if self.finished else ""
            return f"{verb} ({name}){once}: {self.outcome}"
        if self.finished:
            return (
                f"{verb} ({name}) once {self.finished}; "
                "its temporary worktrees and folders are removed, your checkout is as it was"
            )
        return (
            f"{verb} ({name}); its temporary worktrees and folders are removed, your checkout "
            "is as it was, and branches moved all together or not at all"
        )


def _stopping_signals() -> tuple[int, ...]:
    """SIGINT, SIGTERM, and SIGHUP where there is one (not on Windows)."""
    hangup = getattr(signal, "SIGHUP", None)
    return (signal.SIGINT, signal.SIGTERM) + ((hangup,) if hangup is not None else ())


def _raise(signum: int, _frame: FrameType | None) -> None:
    raise Interrupted(signum)


@contextmanager
def _handling(signums: tuple[int, ...], handler: Handler) -> Iterator[None]:
    """``handler`` for each of ``signums`` that is not ignored, in the main thread; then back."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread receives Python's signal handlers
        return
    previous: dict[int, Handler] = {}
    for signum in signums:
        current = signal.getsignal(signum)
        if current not in (signal.SIG_IGN, None):  # None: set outside Python; leave it
            previous[signum] = signal.signal(signum, handler)
    try:
        yield
    finally:
        for signum, handler_before in previous.items():
            signal.signal(signum, handler_before)


@contextmanager
def stop_like_ctrl_c() -> Iterator[None]:
    """While the block runs, SIGTERM and SIGHUP raise :class:`Interrupted` (Ctrl-C is Python's)."""
    with _handling(tuple(s for s in _stopping_signals() if s != signal.SIGINT), _raise):
        yield


@contextmanager
def deferred(finished: str = "") -> Iterator[None]:
    """Hold back SIGINT, SIGTERM and SIGHUP while the block runs; raise the first one after it.

    ``finished`` says what the block did, for the message when a signal waited
    for it. When the block is the cleanup of a stop already under way (it runs
    while a ``KeyboardInterrupt`` unwinds the stack), a second signal is
    dropped: stager is stopping anyway, and says why the first time.
    """
    caught: list[int] = []
    stopping = isinstance(sys.exception(), KeyboardInterrupt)
    with _handling(_stopping_signals(), lambda signum, _frame: caught.append(signum)):
        try:
            yield
        except BaseException as error:
            if caught and not stopping:
                raise Interrupted(caught[0]) from error
            raise
    if caught and not stopping:
        raise Interrupted(caught[0], finished)
