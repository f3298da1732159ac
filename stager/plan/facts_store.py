"""The facts of Python blobs: parsed once ever, cached by blob id in the user's cache folder.

A blob id names its content, and a file's facts (:mod:`stager.plan.pyfacts`)
are a pure function of its content, so an entry is never stale for the same
parser. The cache file's name carries a hash of the parser's source and
Python's version (its grammar decides what parses), so a new stager or Python
starts a fresh one. As the revision files' cache (:mod:`stager.migrations.parse_cache`),
it is plain JSON read back by type, never a pickle, and written atomically.
Two files per repository: the facts the last run used, read at the start, and
those of earlier runs (another branch's files), read only when the first
lacks a blob; together at most ``CACHE_LIMIT``, the least recently used
dropped first. A run that needs nothing new writes nothing. Anything wrong
with them only means parsing again. ``STAGER_NO_CACHE=1`` turns it off.

What is not cached is parsed, on both cores when there is much of it
(:func:`prefetch`), and a version that differs from the other one only in
comments takes the other one's facts (:mod:`stager.plan.comment_edits`).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import typing
from collections.abc import Iterable, Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stager.cache_files import cache_path, sources_fingerprint
from stager.plain_data import from_plain, to_plain
from stager.plan.comment_edits import carried_over
from stager.plan.pyfacts import PyFacts, python_facts
from stager.plan.pyscan import ImportRef
from stager.types import Sha

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor
    from threading import Thread

_VERSION = 3  # of the files' layout; the parser itself is in the name
_HEADER = json.dumps({"stager facts": _VERSION})
# What the two cache files of a repository may hold together: about 8,000 file versions.
CACHE_LIMIT = 32 * 1024 * 1024
# The modules whose code decides the facts or their JSON form.
_PARSER_MODULES = (
    "types.py",
    "plain_data.py",
    "cache_files.py",
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
    return sources_fingerprint(parser_sources(), sys.version.encode())


def cache_file(repository_key: str) -> Path | None:
    """Where the last run's facts of one repository live; None when caching is off.

    The earlier runs' facts are next to it (:func:`earlier_file`).
    """
    if os.environ.get("STAGER_NO_CACHE"):
        return None
    return cache_path("facts", repository_key, _fingerprint(), ".jsonl")


def earlier_file(path: Path) -> Path:
    """The facts earlier runs used and the last one did not, most recently used first."""
    return path.with_name(f"{path.stem}.earlier.jsonl")


def _read_lines(path: Path) -> dict[Sha, str]:
    """A cache file's entries, each still as its JSON text (read back when asked for)."""
    try:
        lines = path.read_text(encoding="utf-8").split("\n")
    except Exception:  # a missing or unreadable cache is only a slower run
        return {}
    if lines[0] != _HEADER:
        return {}
    entries: dict[Sha, str] = {}
    for line in lines[1:]:
        blob, tab, entry = line.partition("\t")
        if tab:
            entries[Sha(blob)] = entry
    return entries


def _decode(blob: Sha, entry: str) -> PyFacts | None:
    try:
        return _read_facts(json.loads(entry), blob)
    except Exception:  # a broken or foreign entry is only a parse more, never trusted
        return None


def _encode(facts: PyFacts) -> str:
    # ASCII and compact: no tab or line break inside an entry.
    plain: dict[str, Any] = to_plain(facts)  # type: ignore[assignment]
    for name in _STRINGS.keys() & plain.keys():
        items = plain[name]
        if all(item and _SEPARATOR not in item for item in items):
            plain[name] = _SEPARATOR.join(items)  # one JSON string: read back many times faster
    if "imports" in plain:
        plain["imports"] = [
            [ref["module"], ref["level"], ref["names"], ref["line"]] for ref in plain["imports"]
        ]
    return json.dumps(plain, separators=(",", ":"))


# A Python file's names by the thousand are kept as one string each, joined by a
# character no identifier or call shape holds. A list is still read (``_encode``
# writes one when an item holds it).
_SEPARATOR = "|"
_FIELDS: dict[str, Any] = typing.get_type_hints(PyFacts)
_STRINGS = {
    name: kind for name, kind in _FIELDS.items() if kind in (frozenset[str], tuple[str, ...])
}


def _read_facts(data: object, blob: str) -> PyFacts:
    """An entry's facts, every value checked against its field's type (ValueError if not)."""
    if not isinstance(data, dict):
        raise ValueError(f"{blob}: an object expected")
    given: dict[str, Any] = {}
    for name, value in data.items():
        kind = _STRINGS.get(name)
        if kind is not None and type(value) is str:
            items = value.split(_SEPARATOR)
            given[name] = frozenset(items) if kind == frozenset[str] else tuple(items)
        elif name == "imports":
            given[name] = _read_imports(value)
        elif name in _FIELDS:
            given[name] = from_plain(_FIELDS[name], value, f"{blob}.{name}")
        else:
            raise ValueError(f"{blob}: unknown field {name!r}")
    return PyFacts(**given)


def _read_imports(value: object) -> tuple[ImportRef, ...]:
    """``[[module, level, [names], line], …]``, each checked."""
    if not isinstance(value, list):
        raise ValueError("imports: a list expected")
    refs = []
    for module, level, names, line in value:
        if not (
            type(module) is str
            and type(level) is int
            and type(line) is int
            and type(names) is list
            and all(type(name) is str for name in names)
        ):
            raise ValueError(f"imports: not an import: {[module, level, names, line]!r}")
        refs.append(ImportRef(module, level, tuple(names), line))
    return tuple(refs)


def _write(path: Path, entries: Iterable[tuple[Sha, str]]) -> None:
    """Replace ``path`` at once with these entries (a reader sees the old file or the new one)."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(handle, "w", encoding="utf-8") as stream:
        stream.write(_HEADER)
        stream.writelines(f"\n{blob}\t{entry}" for blob, entry in entries)
    Path(temporary).replace(path)


class FactsStore:
    """Facts by blob id for one run: from the cache, carried over, or parsed.

    The cache is two files: the facts the last run used, read whole at the
    start, and those of earlier runs (other branches), read only when a blob
    is not in the first. Together they stay under ``CACHE_LIMIT``: the
    least recently used go first.
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.known: dict[Sha, PyFacts] = {}
        self._entries: dict[Sha, str] = {}  # the JSON text of each fact read from the cache
        for blob, entry in (_read_lines(path) if path else {}).items():
            found = _decode(blob, entry)
            if found is not None:
                self.known[blob] = found
                self._entries[blob] = entry
        self._earlier: dict[Sha, str] | None = None  # read on the first blob the last run lacks
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

    def has(self, blob: Sha) -> bool:
        """Whether this run has ``blob``'s facts at hand (parsed, or read from the last run's)."""
        return blob in self.used or blob in self.known

    def save(self) -> None:
        """Keep this run's facts first, then the earlier ones that fit (nothing new: left as is)."""
        if self.path is None or self.used.keys() == self.known.keys():
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            latest = [
                (blob, self._entries.get(blob) or _encode(found))
                for blob, found in sorted(self.used.items())
            ]
            room = CACHE_LIMIT - sum(len(blob) + len(entry) + 2 for blob, entry in latest)
            kept: list[tuple[Sha, str]] = []
            # The last run's facts this one did not use, then the earlier ones, in that order.
            for blob, entry in [*_read_lines(self.path).items(), *self.earlier().items()]:
                size = len(blob) + len(entry) + 2
                if blob in self.used or size > room:
                    continue
                room -= size
                kept.append((blob, entry))
            _write(earlier_file(self.path), dict(kept).items())
            _write(self.path, latest)
        except Exception:  # an unwritable cache is only a slower next run
            return

    def earlier(self) -> dict[Sha, str]:
        """The earlier runs' entries (an empty dict without a cache)."""
        if self._earlier is None:
            self._earlier = _read_lines(earlier_file(self.path)) if self.path else {}
        return self._earlier

    def _known(self, blob: Sha) -> PyFacts | None:
        found = self.used.get(blob)
        if found is None:
            found = self.known.get(blob)
            if found is None:
                found = self._from_earlier(blob)
            if found is not None:
                self.used[blob] = found
        return found

    def _from_earlier(self, blob: Sha) -> PyFacts | None:
        entry = self.earlier().get(blob)
        if entry is None:
            return None
        found = _decode(blob, entry)
        if found is not None:
            self._entries[blob] = entry  # written back as read
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
