"""The journal of a ref transaction: what a killed run leaves, and how the next run settles it.

The half-applied states are built by hand (a journal, some refs moved, a lock
left): racing a real kill against git's commit step would be flaky.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
from pathlib import Path

import pytest

from stager.branches.journal import Settle, settle
from stager.branches.refs import undo_last_split
from stager.errors import StagerError
from stager.git.process_owner import process_start
from stager.git.repository import Repository
from stager.rules.sections import SplitRules
from tests.branches.helpers import feature_repo
from tests.branches.test_split import split
from tests.gitrepo import GitRepo

RECORD = "refs/stager/record/feature"
PHASES = ["refs/heads/stage/1-part1", "refs/heads/stage/2-part2", "refs/heads/stage/3-part3"]


@pytest.fixture
def feature(repo: GitRepo) -> GitRepo:
    feature_repo(repo)
    return repo


def journal_file(repo: GitRepo) -> Path:
    return repo.path / ".git" / "stager" / "transaction.json"


def dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def write_journal(
    repo: GitRepo,
    command: str,
    updates: list[tuple[str, str | None, str | None]],
    **owner: object,
) -> None:
    """``updates``: (ref, new, old) as the killed run meant them; ``owner``: pid, start."""
    journal_file(repo).parent.mkdir(exist_ok=True)
    journal_file(repo).write_text(
        json.dumps(
            {
                "command": command,
                "pid": dead_pid(),
                "host": socket.gethostname(),
                "time": "20240101T120000Z",
                "updates": [{"ref": ref, "new": new, "old": old} for ref, new, old in updates],
                **owner,
            }
        )
    )


def tips(repo: GitRepo) -> dict[str, str]:
    return {ref: repo.git("rev-parse", ref) for ref in [*PHASES, RECORD]}


def test_a_refused_transaction_leaves_no_journal(feature: GitRepo) -> None:
    lock = feature.path / ".git" / "refs/heads/stage/2-part2.lock"
    lock.parent.mkdir(parents=True)
    lock.write_text("")  # no journal names it: the user's to remove, never stager's
    with pytest.raises(StagerError, match="no branch was changed"):
        split(feature)
    assert not journal_file(feature).exists() and lock.exists()
    lock.unlink()
    split(feature)
    assert not journal_file(feature).exists()


def test_a_journal_whose_refs_all_moved_or_none_did_goes_without_a_word(
    feature: GitRepo,
) -> None:
    split(feature)
    built = tips(feature)
    for moved in (built, dict.fromkeys(built)):  # killed after git, or before it
        write_journal(feature, "split", [(ref, built[ref], None) for ref in built])
        if not all(moved.values()):
            for ref in built:
                feature.git("update-ref", "-d", ref)
        assert settle(Repository(feature.path), Settle.REPORT) is None  # verify writes nothing
        assert journal_file(feature).exists()
        assert settle(Repository(feature.path), Settle.FINISH) is None
        assert not journal_file(feature).exists()


def test_a_reused_pid_does_not_keep_a_journal_alive(feature: GitRepo) -> None:
    """The pid a killed run wrote may be a live process since: its start time tells them apart."""
    me = os.getpid()
    if not process_start(me):
        pytest.skip("no process start times here (/proc)")
    split(feature)
    built = tips(feature)
    for ref in PHASES[2:]:  # git moved the first two, then the run was killed
        feature.git("update-ref", "-d", ref)
    feature.git("update-ref", "-d", RECORD)
    updates: list[tuple[str, str | None, str | None]] = [(r, sha, None) for r, sha in built.items()]
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        write_journal(feature, "split", updates, pid=sleeper.pid, start="1")  # pid reused
        with pytest.raises(StagerError, match="interrupted while moving branches"):
            settle(Repository(feature.path), Settle.REPORT)
        live = process_start(sleeper.pid)
        write_journal(feature, "split", updates, pid=sleeper.pid, start=live)  # its writer
        with pytest.raises(StagerError, match=rf"pid {sleeper.pid}, since .* is moving"):
            settle(Repository(feature.path), Settle.REPORT)
    finally:
        sleeper.kill()
        sleeper.wait()


def test_the_next_undo_finishes_an_interrupted_undo(feature: GitRepo) -> None:
    split(feature)
    built = tips(feature)
    write_journal(feature, "undo", [(ref, None, sha) for ref, sha in built.items()])
    for ref in PHASES[:2]:  # git deleted these two, then the run was killed
        feature.git("update-ref", "-d", ref)
    with pytest.raises(StagerError, match=r"`stager split --undo` finishes the undo"):
        settle(Repository(feature.path), Settle.REPORT)
    undone = undo_last_split(Repository(feature.path), split=SplitRules())
    assert undone.settled == (
        "finished the stager undo interrupted at 20240101T120000Z: moved stage/3-part3, its record"
    )
    assert feature.git("for-each-ref", "refs/heads/stage/", "refs/stager/") == ""
    assert not journal_file(feature).exists()


def test_a_branch_moved_since_the_interruption_stops_both_ways_out(feature: GitRepo) -> None:
    split(feature)
    built = tips(feature)
    write_journal(feature, "split", [(ref, sha, None) for ref, sha in built.items()])
    feature.git("update-ref", "-d", PHASES[2])
    feature.git("update-ref", "-d", RECORD)
    feature.git("update-ref", PHASES[1], "main")  # someone's since: neither old nor new
    state = feature.git("for-each-ref")
    for how in (Settle.FINISH, Settle.UNDO):
        with pytest.raises(StagerError, match="stage/2-part2 changed since; nothing was done"):
            settle(Repository(feature.path), how)
        assert feature.git("for-each-ref") == state and journal_file(feature).exists()


def test_a_damaged_journal_says_where_it_is(feature: GitRepo) -> None:
    journal_file(feature).parent.mkdir()
    journal_file(feature).write_text('{"command": "split"}')
    with pytest.raises(StagerError, match=r"transaction\.json is damaged") as error:
        split(feature)
    assert f"rm {journal_file(feature)}" in (error.value.fix or "")
    assert feature.git("for-each-ref", "refs/heads/stage/", "refs/stager/") == ""
