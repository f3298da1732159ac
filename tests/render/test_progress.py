"""Progress on stderr: plain lines for a log, rich's spinner for a terminal, nothing for JSON."""

from __future__ import annotations

import io
import os
import pty
import re
import time

import pytest

from stager.render import progress as progress_module
from stager.render.formats import Format
from stager.render.progress import Progress, elapsed
from tests.terminal import read_to_the_end, visible


def test_a_step_announced_always_starts_and_ends_with_its_time() -> None:
    log = io.StringIO()
    with Progress.for_output(Format.TABLE, log).steps() as announce:
        announce("phase 1 check: pytest\n-x", always=True)  # a command of two lines: one line
        announce("phase 2 check: pytest", always=True)
    lines = log.getvalue().splitlines()
    assert lines[0] == "stager: phase 1 check: pytest -x …"
    assert lines[1].startswith("stager: phase 1 check: pytest -x: ") and lines[1].endswith(" s")
    assert lines[2] == "stager: phase 2 check: pytest …" and len(lines) == 4


def test_a_quick_step_says_nothing_a_slow_one_speaks_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(progress_module, "QUIET_SECONDS", 0.05)
    log = io.StringIO()
    with Progress.for_output(Format.MARKDOWN, log).steps() as announce:
        announce("parsing the migrations")
        announce("planning the phases")
        time.sleep(0.2)
    assert log.getvalue().splitlines()[0] == "stager: planning the phases …"
    assert len(log.getvalue().splitlines()) == 2 and "parsing" not in log.getvalue()


def test_a_step_cut_short_says_so() -> None:
    log = io.StringIO()
    with (
        pytest.raises(KeyboardInterrupt),
        Progress.for_output(Format.TABLE, log).step("pushing to origin", always=True),
    ):
        raise KeyboardInterrupt
    assert "stager: pushing to origin: stopped after 0.0 s" in log.getvalue()


def test_json_output_gets_no_progress_line() -> None:
    log = io.StringIO()
    with Progress.for_output(Format.JSON, log).steps() as announce:
        announce("phase 1 check: true", always=True)
    assert log.getvalue() == ""


def test_a_terminal_sees_the_spinner_and_a_line_per_finished_step() -> None:
    main, child = pty.openpty()
    terminal = os.fdopen(child, "w", encoding="utf-8")
    with Progress.for_output(Format.TABLE, terminal).steps() as announce:
        announce("phase 1 check: make test", always=True)
        announce("parsing the migrations")  # quick: the spinner only, erased
    terminal.close()
    shown = visible(read_to_the_end(main))
    # the time is the step's own: 0.0 s idle, more on a loaded machine
    assert re.search(r"✓ phase 1 check: make test  \d+\.\d s", shown), shown
    assert "✓ parsing" not in shown  # its spinner, if drawn at all, is erased


def test_a_terminal_step_cut_short_leaves_no_tick() -> None:
    main, child = pty.openpty()
    terminal = os.fdopen(child, "w", encoding="utf-8")
    with (
        pytest.raises(KeyboardInterrupt),
        Progress.for_output(Format.TABLE, terminal).step("phase 1 check: make test", always=True),
    ):
        raise KeyboardInterrupt
    terminal.close()
    shown = visible(read_to_the_end(main))
    # The spinner's own drawing (if rich got to it before the interruption) is erased
    # with it; what must never appear is the tick of a finished step.
    assert "✓" not in shown, shown


def test_elapsed_reads_as_a_person_says_it() -> None:
    assert [elapsed(0.04), elapsed(59.94), elapsed(125)] == ["0.0 s", "59.9 s", "2 min 05 s"]
