"""stager.interrupts: SIGTERM and SIGHUP unwind like Ctrl-C; a deferred step finishes first.

The signals are real (``os.kill`` of this process); pytest runs tests in the
main thread, the only one Python's signal handlers run in. The commands
stopped by real signals are in tests/commands/test_interrupted.py.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator

import pytest

import stager.cli
from stager.error_handler import error_handler
from stager.interrupts import Interrupted, deferred, stop_like_ctrl_c


@pytest.fixture(autouse=True)
def _handlers_restored() -> Iterator[None]:
    """Ctrl-C raises (even when pytest runs in the background); pytest's handlers come back."""
    before = {
        signum: signal.getsignal(signum)
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    }
    signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    for signum, handler in before.items():
        signal.signal(signum, handler)


def kill_myself(signum: int) -> None:
    os.kill(os.getpid(), signum)


def test_sigterm_and_sighup_raise_like_ctrl_c_then_their_handlers_come_back() -> None:
    before = signal.getsignal(signal.SIGTERM)
    for signum in (signal.SIGTERM, signal.SIGHUP):
        with stop_like_ctrl_c(), pytest.raises(KeyboardInterrupt) as raised:
            kill_myself(signum)
        assert isinstance(raised.value, Interrupted)
        assert (raised.value.signum, raised.value.exit_code) == (signum, 128 + signum)
    assert signal.getsignal(signal.SIGTERM) is before


def test_an_ignored_signal_stays_ignored() -> None:
    """`nohup stager …` ignores SIGHUP: closing the terminal must not stop it."""
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    with stop_like_ctrl_c():
        assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
        kill_myself(signal.SIGHUP)
        with deferred():
            assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
    assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_deferred_lets_the_step_finish_then_stops(signum: int) -> None:
    finished, before = False, signal.getsignal(signal.SIGINT)
    with (
        stop_like_ctrl_c(),
        pytest.raises(Interrupted) as raised,
        deferred("the ref update had finished"),
    ):
        kill_myself(signum)
        kill_myself(signal.SIGTERM)  # a second signal: the first one is reported
        finished = True
    assert finished
    assert (raised.value.signum, raised.value.finished) == (signum, "the ref update had finished")
    assert signal.getsignal(signal.SIGINT) is before


def test_deferred_does_not_claim_a_step_that_failed() -> None:
    with (
        stop_like_ctrl_c(),
        pytest.raises(Interrupted) as raised,
        deferred("the ref update had finished"),
    ):
        kill_myself(signal.SIGTERM)
        raise ValueError("git refused")
    assert raised.value.finished == ""
    assert isinstance(raised.value.__cause__, ValueError)


def test_a_second_signal_during_the_cleanup_of_a_stop_is_dropped() -> None:
    """The cleanup runs to its end, and stager reports the signal that stopped it."""
    cleaned = False
    with stop_like_ctrl_c(), pytest.raises(Interrupted) as raised:
        try:
            kill_myself(signal.SIGTERM)
        finally:
            with deferred():
                kill_myself(signal.SIGINT)
                cleaned = True
    assert cleaned and raised.value.signum == signal.SIGTERM


def test_messages_and_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    cases = [
        (Interrupted(signal.SIGTERM), 143, "stager: terminated (SIGTERM); its temporary worktrees"),
        (Interrupted(signal.SIGHUP), 129, "stager: terminated (SIGHUP); its temporary worktrees"),
        (KeyboardInterrupt(), 130, "stager: interrupted (SIGINT); its temporary worktrees"),
        (
            Interrupted(signal.SIGTERM, "the ref update had finished"),
            143,
            "stager: terminated (SIGTERM) once the ref update had finished; its temporary",
        ),
    ]
    for error, code, start in cases:
        with pytest.raises(SystemExit) as exit_info, error_handler():
            raise error
        err = capsys.readouterr().err
        assert exit_info.value.code == code
        assert err.startswith(start) and err.count("\n") == 1, err


def test_sigterm_while_click_parses_exits_143(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """click turns every KeyboardInterrupt into its Abort: main gives SIGTERM its code back."""

    class Terminating:
        @staticmethod
        def parse(_value: str) -> None:
            kill_myself(signal.SIGTERM)

    before = signal.getsignal(signal.SIGTERM)
    monkeypatch.setattr(stager.cli, "Risk", Terminating)  # --fail-on's click callback
    monkeypatch.setattr(sys, "argv", ["stager", "analyze", "--fail-on", "high"])
    with pytest.raises(SystemExit) as exit_info:
        stager.cli.main()
    assert exit_info.value.code == 143
    assert "terminated (SIGTERM)" in capsys.readouterr().err
    assert signal.getsignal(signal.SIGTERM) is before  # main put pytest's handler back
