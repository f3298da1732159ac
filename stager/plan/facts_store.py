"""The facts of Python blobs: parsed once ever, cached by blob id in the user's cache folder.

A blob id names its content, and a file's facts (:mod:`stager.plan.pyfacts`)
are a pure function of its content, so an entry is never stale for the same
parser. The cache file's name carries a hash of the parser's source and
Python's version (its grammar decides what parses), so a new stager or Python
starts a fresh one. As the revision files' cache (:mod:`stager.migrations.parse_cache`),
it is plain JSON read back by type, never a pickle, written atomically, one
file per repository holding the facts of the last run (so it stays bounded);
anything wrong with it only means parsing again. ``STAGER_NO_CACHE=1`` turns it
off.

What is not cached is parsed, on both cores when there is much of it
(:func:`prefetch`), and a version that differs from the other one only in
comments takes the other one's facts (:mod:`stager.plan.comment_edits`).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from collections.abc import Iterable, Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from stager.plain_data import from_plain, to_plain
from stager.plan.comment_edits import carried_over
from stager.plan.pyfacts import PyFacts, python_facts
from stager.types import Sha

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor
    from threading import Thread

_VERSION = 1  # of the file's layout; the parser itself is in the name
# The modules whose code decides the facts or their JSON form.
_PARSER_MODULES = (
    "types.py",
    "plain_data.py",
    "migrations/parse.py",
    "migrations/revision_files.py",
    "plan/pyfacts.py",
    "plan/pyscan.py",
    "plan/comment_edits.py",
    "plan/facts_store.py",
)
# Below this many files to parse, starting worker processes costs more than it saves.
POOL_THRESHOLD = 200

Version = tuple[Sha, str]  # a blob and its text


def parser_sources() -> list[Path]:
    package = Path(__file__).resolve().parent.parent
    return [package / name for name in _PARSER_MODULES]


@cache
def _fingerprint() -> str | None:
    """A hash of the parser's sources and Python's version; None when one cannot be read."""
    digest = hashlib.sha1(sys.version.encode(), usedforsecurity=False)
    try:
        for path in parser_sources():
            digest.update(path.read_bytes())
    except OSError:
        return None
    return digest.hexdigest()[:16]


def cache_file(repository_key: str) -> Path | None:
    """Where the facts cache of one repository lives; None when caching is off."""
    if os.environ.get("STAGER_NO_CACHE"):
        return None
    fingerprint = _fingerprint()
    if fingerprint is None:
        return None
    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    name = hashlib.sha1(
        f"{repository_key}\0{fingerprint}".encode(), usedforsecurity=False
    ).hexdigest()
    return Path(root) / "stager" / "facts" / f"{name}.json"


def _load(path: Path | None) -> dict[Sha, PyFacts]:
    if path is None:
        return {}
    try:
        data = json.loads(path.read_bytes())
        if not isinstance(data, dict) or data.get("version") != _VERSION:
            return {}
        return {
            Sha(blob): from_plain(PyFacts, entry, blob) for blob, entry in data["facts"].items()
        }
    except Exception:  # a broken or foreign cache is only a slower run, never trusted
        return {}


class FactsStore:
    """Facts by blob id for one run: from the cache, carried over, or parsed."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.known = _load(path)
        self.used: dict[Sha, PyFacts] = {}
        self.parsed = 0  # files this run parsed (or scanned), for the tests and benchmarks
        self.carried = 0  # versions that took the other version's facts instead

    @classmethod
    def for_repository(cls, repository_key: str) -> FactsStore:
        return cls(cache_file(repository_key))

    def facts(self, blob: Sha, text: str, other: Version | None = None) -> PyFacts:
        """The facts of ``blob`` (whose content is ``text``).

        ``other``: the file's other version, whose facts this one takes when
        the two differ only in comments (parsing it first if need be).
        """
        found = self._known(blob)
        if found is not None:
            return found
        if other is not None and may_carry(text, other[1]):
            other_facts = self._known(other[0])
            if other_facts is None:
                other_facts = self._parse(other[0], other[1])
            found = carried_over(other_facts, other[1], text)
            if found is not None:
                self.carried += 1
                self.used[blob] = found
                return found
        return self._parse(blob, text)

    def prefetch(self, files: Iterable[tuple[Version | None, Version | None]]) -> None:
        """Parse now, on every core, what ``facts`` would parse of these (base, head) pairs.

        Only when there is much to parse: a few files cost less than the
        workers' start. The result is the same as parsing one by one.
        """
        wanted: dict[Sha, str] = {}
        for base, head in files:
            versions = [version for version in (base, head) if version is not None]
            if any(self._known(blob) is not None for blob, _text in versions):
                continue  # the other one is cached, or carried over from it
            if base is not None and head is not None and may_carry(base[1], head[1]):
                versions = [base]  # parse one; the other takes its facts
            wanted.update((blob, text) for blob, text in versions if blob not in self.used)
        if len(wanted) < POOL_THRESHOLD:
            return
        blobs = sorted(wanted)
        for blob, found in zip(blobs, parse_all([wanted[blob] for blob in blobs]), strict=True):
            self.used[blob] = found
            self.parsed += 1

    def save(self) -> None:
        """Replace the cache with this run's facts (nothing to write: left as it is)."""
        if self.path is None or self.used.keys() == self.known.keys():
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.path.parent, suffix=".tmp")
            facts = {blob: to_plain(found) for blob, found in sorted(self.used.items())}
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                json.dump({"version": _VERSION, "facts": facts}, stream, separators=(",", ":"))
            Path(temporary).replace(self.path)
        except Exception:  # an unwritable cache is only a slower next run
            return

    def _known(self, blob: Sha) -> PyFacts | None:
        found = self.used.get(blob)
        if found is None:
            found = self.known.get(blob)
            if found is not None:
                self.used[blob] = found
        return found

    def _parse(self, blob: Sha, text: str) -> PyFacts:
        found = self.used[blob] = python_facts(text)
        self.parsed += 1
        return found


def may_carry(text: str, other: str) -> bool:
    """Cheap test: do the two versions differ in comment and blank lines only, in one block?

    The full test (:func:`~stager.plan.comment_edits.carried_over`) needs the
    facts of one of them.
    """
    return text != other and carried_over(_LINES_ONLY, text, other) is not None


# Facts without strings or lines: ``carried_over`` then tests the lines alone.
_LINES_ONLY = PyFacts()


def parse_all(texts: Sequence[str]) -> list[PyFacts]:
    """``python_facts`` of each text, in order, on every core (a process each).

    A worker that dies (the kernel's out-of-memory killer) breaks the pool: what
    it had not given back is parsed here instead, never waited for.
    """
    workers = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    start = _start_method()
    if start is None or (workers or 1) < 2:
        return [python_facts(text) for text in texts]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    workers = workers or 1
    size = max(1, len(texts) // (workers * 8))
    chunks = [texts[first : first + size] for first in range(0, len(texts), size)]
    pool = ProcessPoolExecutor(
        workers, mp_context=multiprocessing.get_context(start), initializer=_worker_signals
    )
    found: list[PyFacts] = []
    try:
        for chunk, job in [(chunk, pool.submit(_parse_chunk, chunk)) for chunk in chunks]:
            try:
                found.extend(job.result())
            except BrokenProcessPool:  # its workers are gone: parse the rest here
                found.extend(python_facts(text) for text in chunk)
    except BaseException:  # Ctrl-C: stop now, not once the workers finish their share
        _kill(pool)
        raise
    pool.shutdown()
    return found


def _parse_chunk(texts: Sequence[str]) -> list[PyFacts]:
    return [python_facts(text) for text in texts]


def _kill(pool: ProcessPoolExecutor) -> None:
    """End the pool at once: its workers killed, its thread ended, nothing left running."""
    processes = list((pool._processes or {}).values())
    manager: Thread | None = getattr(pool, "_executor_manager_thread", None)
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.kill()
    for process in processes:
        process.join()
    if manager is not None:
        manager.join()


def _start_method() -> str | None:
    """``fork`` when only this thread runs (nothing to copy half-done), else none: parse here."""
    import threading

    if threading.active_count() > 1 or sys.platform != "linux":
        return None
    return "fork"


def _worker_signals() -> None:
    """Ctrl-C reaches the whole process group: stager kills the workers, they do not stop."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for signum in (signal.SIGTERM, getattr(signal, "SIGHUP", signal.SIGTERM)):
        signal.signal(signum, signal.SIG_DFL)  # the parent's "stop like Ctrl-C" is not theirs
