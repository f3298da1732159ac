"""Progress of long work, on standard error: a sign of life that never touches stdout.

Commands make one :class:`Progress` and go through it::

    progress = Progress.for_output(options.output_format)
    with progress.step("rebuilding phase 2"):
        ...
    with progress.steps() as announce:  # a sequence: each step ends the one before
        announce("planning the phases")
        ...
        announce("phase 1 check: pytest", always=True)

``steps`` yields a :class:`stager.types.Announce`, a plain callable, so that a
lower layer (``branches/``, ``database/``, ``analysis.py``) can say which step
begins without importing ``render/``. A step is shown once it lasts over
:data:`QUIET_SECONDS`, or at once when it is ``always`` (a user's ``--check``,
a database's phase): a quick run prints no progress at all.

Where it goes:

- a terminal on stderr: rich's spinner with the step and its elapsed time,
  erased when the step ends; a step announced ``always``, or one that lasted
  over :data:`QUIET_SECONDS`, leaves one line ``✓ step  4.1 s``;
- anything else (a CI log, ``2> file``): plain lines ``stager: step …`` when a
  step starts and ``stager: step: 4.1 s`` when it ends. A step that is not
  ``always`` says nothing unless it lasts over :data:`QUIET_SECONDS`, so a
  quick run prints no progress at all;
- ``--format json``: no line at all outside a terminal (a program reads the
  JSON, and maybe stderr with it); a terminal still sees the spinner, which
  erases itself.

Nothing here ever writes to stdout: rich's live display is told not to
redirect it, so a command's report stays whole whatever the terminal shows.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TextIO

from stager.render.formats import Format
from stager.render.quoting import escape_controls
from stager.types import Announce, unannounced

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress as RichProgress

QUIET_SECONDS = 1.0
"""A step quicker than this leaves no line: progress is for work a person waits on."""


def elapsed(seconds: float) -> str:
    """``0.4 s``, ``12.0 s``, ``2 min 05 s``: how long a step took, as a person reads it."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s"


@dataclass
class _Plain:
    """Lines on a stream that is no terminal; a step not ``always`` is announced late, if at all."""

    stream: TextIO
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _line(self, text: str) -> None:
        with self._lock:
            print(f"stager: {_one_line(text)}", file=self.stream, flush=True)

    @contextmanager
    def step(self, message: str, always: bool) -> Iterator[None]:
        started = time.monotonic()
        announced = threading.Event()

        def announce() -> None:
            announced.set()
            self._line(f"{message} …")

        timer = None
        if always:
            announce()
        else:  # said only once it has taken long enough to be waited on
            timer = threading.Timer(QUIET_SECONDS, announce)
            timer.daemon = True
            timer.start()
        ended = "stopped after "  # unless the step comes to its end
        try:
            yield
            ended = ""
        finally:
            if timer is not None:
                timer.cancel()
                timer.join()
            if announced.is_set():
                self._line(f"{message}: {ended}{elapsed(time.monotonic() - started)}")


@dataclass
class _Terminal:
    """rich's spinner on stderr; a finished step leaves a line when it was worth waiting for."""

    stream: TextIO
    lines: bool  # False with --format json: the spinner only
    _live: RichProgress | None = None
    _stderr: Console | None = None

    @contextmanager
    def step(self, message: str, always: bool) -> Iterator[None]:
        from rich.markup import escape

        live = self._start()
        started = time.monotonic()
        task = live.add_task(escape(_one_line(message)), total=None)
        if always:  # drawn now, not at the spinner's next tick: it may end before that
            live.refresh()
        finished = False  # a step cut short leaves no ✓: the error or the interruption says why
        try:
            yield
            finished = True
        finally:
            live.remove_task(task)
            if not live.task_ids:  # the last step ended: the spinner goes until the next one
                self.stop()
            seconds = time.monotonic() - started
            if finished and self.lines and (always or seconds >= QUIET_SECONDS):
                self._console().print(
                    f"[green]✓[/] {escape(_one_line(message))}  [dim]{elapsed(seconds)}[/]",
                    highlight=False,
                )

    def _console(self) -> Console:
        if self._stderr is None:
            from rich.console import Console

            self._stderr = Console(file=self.stream, highlight=False)
        return self._stderr

    def _start(self) -> RichProgress:
        if self._live is None:
            from rich.progress import Progress as RichProgress
            from rich.progress import SpinnerColumn, TextColumn, TimeElapsedColumn

            self._live = RichProgress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                TimeElapsedColumn(),
                console=self._console(),
                transient=True,
                redirect_stdout=False,  # stdout is the command's report: never rerouted
                redirect_stderr=False,
            )
            self._live.start()
        return self._live

    def stop(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None


class Progress:
    """Where a command says which long step it is in (module doc); silent when told to be."""

    def __init__(self, sink: _Plain | _Terminal | None) -> None:
        self._sink = sink

    @classmethod
    def for_output(cls, output_format: Format, stream: TextIO | None = None) -> Progress:
        """Progress for a command printing ``output_format``: a terminal's, plain lines, or none."""
        stream = stream or sys.stderr
        if stream.isatty():
            return cls(_Terminal(stream, lines=output_format is not Format.JSON))
        if output_format is Format.JSON:
            return cls(None)
        return cls(_Plain(stream))

    @classmethod
    def silent(cls) -> Progress:
        return cls(None)

    @contextmanager
    def step(self, message: str, *, always: bool = False) -> Iterator[None]:
        """One step of long work, from start to end (``always``: announced however quick)."""
        if self._sink is None:
            yield
            return
        with self._sink.step(message, always):
            yield

    @contextmanager
    def steps(self) -> Iterator[Announce]:
        """A sequence of steps: each call begins a step and ends the one before; leaving ends
        the last. What it yields is the :class:`stager.types.Announce` of the lower layers."""
        sink = self._sink
        if sink is None:
            yield unannounced
            return
        current = ExitStack()  # the step under way, ended when the next begins

        def begin(message: str, *, always: bool = False) -> None:
            current.close()
            current.enter_context(sink.step(message, always))

        with current:
            yield begin


def _one_line(text: str) -> str:
    """A progress line is one line: a multi-line ``--check`` command is shown on one."""
    return escape_controls(" ".join(text.splitlines()))
