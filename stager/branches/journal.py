"""A ref transaction in progress: what a killed run leaves, and how the next run settles it.

Every ref a split or an undo changes moves in ONE ``git update-ref --stdin``
transaction, which git applies whole or not at all — unless it is killed in
its commit step, where it renames each ref's ``.lock`` into place one after
the other: some branches moved, the others not, their locks left behind. So
before the transaction stager writes what it is about to do (the process, and
every ref with its old and new value) to
``<git common dir>/stager/transaction.json``, and removes it once git has
answered. The next ``split``, ``split --undo`` or ``verify`` that finds it
compares every ref with it:

* nothing moved, or everything did: the file goes, there is nothing to say;
* some refs moved and the others not: ``split`` finishes the transaction,
  ``split --undo`` puts the moved refs back (or finishes an interrupted undo),
  ``verify`` and ``split --dry-run`` stop and say so.

A ``<ref>.lock`` left behind is removed only for a ref the transaction was
moving, when the process that wrote the file is dead (its pid, on this host)
and the lock holds the value git was writing; any other lock is named, for
the user to remove.
"""

from __future__ import annotations

import enum
import json
import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from stager.branches.record import RECORD_FILE, RECORD_PREFIX, read_record, record_ref, timestamp
from stager.errors import StagerError
from stager.git.process_owner import Owner, process_start, this_host
from stager.git.ref_files import common_dir, packed_refs_lock, ref_locks
from stager.git.refs import RefUpdate, read_refs, update_refs
from stager.git.repository import Repository
from stager.plain_data import from_plain, to_plain
from stager.types import Sha

JOURNAL = Path("stager") / "transaction.json"


class Command(enum.StrEnum):
    SPLIT = "split"
    UNDO = "undo"


class Settle(enum.Enum):
    """What a run does with a transaction another run left half-applied."""

    REPORT = "report"  # verify, a dry run: stop and say so
    FINISH = "finish"  # split: move the rest
    UNDO = "undo"  # split --undo: put back what an interrupted split moved


@dataclass(frozen=True)
class Transaction:
    """What one run is about to move, as the journal keeps it."""

    command: Command
    pid: int
    host: str
    time: str
    updates: tuple[RefUpdate, ...]
    start: str = ""  # the process's start time: with the pid it survives pid reuse


@dataclass(frozen=True)
class Progress:
    """Each ref of a transaction: moved to its new value, still at its old one, or neither."""

    moved: tuple[RefUpdate, ...]
    left: tuple[RefUpdate, ...]
    changed: tuple[RefUpdate, ...]  # someone moved it since


@dataclass(frozen=True)
class Settled:
    """A half-applied transaction this run finished or put back."""

    command: Command  # the interrupted run's
    time: str
    finished: bool  # True: moved the rest; False: put back what it had moved
    updates: tuple[RefUpdate, ...]  # what this run moved to settle it

    def describe(self) -> str:
        done = "finished" if self.finished else "put back"
        refs = _listed(update.ref for update in self.updates)
        return f"{done} the stager {self.command} interrupted at {self.time}: moved {refs}"


def move_refs(repo: Repository, updates: Sequence[RefUpdate], command: Command) -> None:
    """``update_refs``, with the journal of it on disk while git works."""
    if not updates:
        return
    path = _path(repo)
    pid = os.getpid()
    transaction = Transaction(
        command, pid, this_host(), timestamp(), tuple(updates), process_start(pid)
    )
    _write(path, transaction)
    try:
        update_refs(repo, updates)
    except StagerError:
        # git refused before its commit step, so nothing moved; should a ref have moved
        # all the same, the journal stays for the next run to settle.
        state = progress(repo, transaction)
        if state.moved:
            raise interrupted_error(transaction, state, path) from None
        path.unlink(missing_ok=True)
        raise
    path.unlink(missing_ok=True)


def progress(repo: Repository, transaction: Transaction) -> Progress:
    now = read_refs(repo, [update.ref for update in transaction.updates])
    moved, left, changed = [], [], []
    for update in transaction.updates:
        value = now.get(update.ref)
        if value == update.new:
            moved.append(update)
        elif value == update.old:
            left.append(update)
        else:
            changed.append(update)
    return Progress(tuple(moved), tuple(left), tuple(changed))


def pending(repo: Repository) -> Transaction | None:
    """The journal of a transaction that has not finished (its run may still be working)."""
    path = _path(repo)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        found = from_plain(Transaction, json.loads(text))
    except ValueError as error:
        raise StagerError(
            f"{path} is damaged ({error}): it is not the journal of a stager run",
            f"remove it (`rm {path}`) and run the command again",
        ) from None
    assert isinstance(found, Transaction)
    return found


def settle(repo: Repository, how: Settle) -> Settled | None:
    """Settle the transaction a killed run left, if any; None when there was nothing to do."""
    transaction = pending(repo)
    if transaction is None:
        return None
    path = _path(repo)
    if _alive(transaction):
        raise StagerError(
            f"a stager {transaction.command} (pid {transaction.pid}, since "
            f"{transaction.time}) is moving branches in this repository",
            f"wait for it to finish; if no stager is running, remove {path}",
        )
    if how is not Settle.REPORT:
        _remove_stale_locks(repo, transaction)
    state = progress(repo, transaction)
    if not (state.moved and state.left):  # nothing moved, or all did (and some moved on since)
        if how is not Settle.REPORT:  # a report writes nothing
            path.unlink(missing_ok=True)
        return None
    if how is Settle.REPORT or state.changed:
        raise interrupted_error(transaction, state, path)
    finish = how is Settle.FINISH or transaction.command is Command.UNDO
    updates = (
        [RefUpdate(u.ref, u.new, u.old) for u in state.left]
        if finish
        else [RefUpdate(u.ref, u.old, u.new) for u in state.moved]
    )
    try:
        # A put-back is an undo: interrupted in turn, the next --undo finishes it.
        move_refs(repo, updates, transaction.command if finish else Command.UNDO)
    except StagerError:
        _write(path, transaction)  # still to settle: measured against it, nothing is lost
        raise
    return Settled(transaction.command, transaction.time, finish, tuple(updates))


def after_interrupt(repo: Repository, name: str, before: Sha | None) -> str:
    """What a split of branch ``name`` that a signal stopped had written, in words.

    ``before``: the value of its record when the run started; the record moves
    with the branches, in the same transaction.
    """
    transaction = pending(repo)
    if transaction is not None and not _alive(transaction):
        state = progress(repo, transaction)
        if state.moved and state.left:
            return (
                f"it stopped while moving branches: {_halves(state)} — `stager split` "
                "finishes it, `stager split --undo` puts every branch back"
            )
    ref = record_ref(name)
    if read_refs(repo, [ref]).get(ref) == before:
        return "nothing was written"
    found = read_record(repo, name)
    assert found is not None  # the record moved: this run wrote it
    moved = _listed(item.ref for item in found.record.moved)
    return (
        f"the split was written first: {moved} moved (`git show "
        f"{found.ref}:{RECORD_FILE}`) — check them with `stager verify`; `stager split --undo` "
        "undoes it"
    )


def interrupted_error(transaction: Transaction, state: Progress, path: Path) -> StagerError:
    """A half-applied transaction: which refs moved, which not; how to finish or undo it."""
    what = (
        f"a previous stager {transaction.command} was interrupted while moving branches "
        f"at {transaction.time}: {_halves(state)}"
    )
    if state.changed:
        changed = _listed(update.ref for update in state.changed)
        return StagerError(
            f"{what}, and {changed} changed since; nothing was done",
            f"put the branches as you want them (`git branch -f`), then remove {path}",
        )
    if transaction.command is Command.UNDO:
        return StagerError(what, "`stager split --undo` finishes the undo")
    return StagerError(
        what,
        "`stager split` finishes it (then splits as asked); `stager split --undo` puts every "
        "branch back as it was before it",
    )


def _remove_stale_locks(repo: Repository, transaction: Transaction) -> None:
    """Remove the locks git left for the refs this dead run moved; name any other one."""
    wanted = {update.ref: update.new or "" for update in transaction.updates}
    foreign: list[Path] = []
    for lock in ref_locks(repo, list(wanted)):
        if lock.value == wanted[lock.ref]:  # what git was writing for it: its lock
            lock.path.unlink(missing_ok=True)
        else:
            foreign.append(lock.path)
    packed = packed_refs_lock(repo)
    if packed is not None:
        foreign.append(packed)
    if foreign:
        shown = " ".join(str(path) for path in foreign)
        raise StagerError(
            f"git's lock file(s) {shown} block the branches an interrupted stager "
            f"{transaction.command} was moving, and stager cannot tell that they are its own",
            f"make sure no git command is running, remove them (`rm {shown}`), and run the "
            "command again",
        )


def _alive(transaction: Transaction) -> bool:
    """Whether the run that wrote the journal may still be working (unknown counts as yes)."""
    if transaction.host != this_host():
        return True
    if transaction.pid == os.getpid():  # this process: its own run is over
        return False
    return Owner(transaction.pid, transaction.start, transaction.host).alive()


def _halves(state: Progress) -> str:
    """``stage/1-a, stage/2-b moved, stage/3-c not``."""
    moved = _listed(update.ref for update in state.moved)
    return f"{moved} moved, {_listed(update.ref for update in state.left)} not"


def _listed(refs: Iterable[str]) -> str:
    """Branches by their short names; the record as "its record"; backups in full."""
    return ", ".join(
        "its record" if ref.startswith(RECORD_PREFIX) else ref.removeprefix("refs/heads/")
        for ref in refs
    )


def _path(repo: Repository) -> Path:
    return common_dir(repo) / JOURNAL


def _write(path: Path, transaction: Transaction) -> None:
    """The journal, whole or not at all (written aside, then renamed into place)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(to_plain(transaction), indent=2) + "\n"
    descriptor, name = tempfile.mkstemp(prefix=".transaction-", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(text)
        Path(name).replace(path)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
