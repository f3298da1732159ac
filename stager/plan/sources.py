"""The text of the changed files, both versions, read from git blobs in one batch.

Nothing is read from the work tree: the plan describes the commits, not
whatever the checkout holds. Binary files and submodules are never read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from stager.git.diff import ChangedFile, Status
from stager.migrations.revision_files import BlobSource
from stager.plan.facts_store import FactsStore, Version
from stager.plan.pyfacts import UNPARSED, PyFacts
from stager.types import RepoPath, Sha

PYTHON_SUFFIXES = (".py", ".pyi")
JS_SUFFIXES = (".js", ".jsx", ".ts", ".tsx", ".mjs", ".cjs", ".vue", ".svelte")
# Files whose text is "code" when searching for a column or table name.
CODE_SUFFIXES = (
    *PYTHON_SUFFIXES,
    *JS_SUFFIXES,
    ".sql",
    ".java",
    ".kt",
    ".go",
    ".rb",
    ".php",
    ".cs",
    ".scala",
    ".rs",
)
_NULL = frozenset("0")


def _is_null(sha: Sha) -> bool:
    return not sha or set(sha) <= _NULL


def is_code(path: str) -> bool:
    return path.endswith(CODE_SUFFIXES)


def is_python(path: str) -> bool:
    return path.endswith(PYTHON_SUFFIXES)


def is_js(path: str) -> bool:
    return path.endswith(JS_SUFFIXES)


def is_new_path(change: ChangedFile) -> bool:
    """The change's path did not exist on the merge base (added, or a rename's target)."""
    return change.status in (Status.ADDED, Status.RENAMED, Status.COPIED)


def is_gone(change: ChangedFile) -> bool:
    return change.status is Status.DELETED


@dataclass
class Code:
    """Text and parsed facts of the changed code files, keyed by the change's path.

    ``base`` holds the merge-base version (read at ``old_path`` for a rename).
    """

    files: Mapping[RepoPath, ChangedFile]
    head: Mapping[RepoPath, str]
    base: Mapping[RepoPath, str]
    migrations: frozenset[RepoPath]  # revision files: not application code
    store: FactsStore = field(default_factory=FactsStore)
    # The versions the planner asked for (only their scan warnings count).
    _facts: dict[tuple[RepoPath, bool], PyFacts] = field(default_factory=dict)

    def facts(self, path: RepoPath, *, head: bool) -> PyFacts:
        """Python facts of one version of a changed file (UNPARSED when absent or broken)."""
        key = (path, head)
        found = self._facts.get(key)
        if found is None:
            version, other = self._version(path, head=head), self._version(path, head=not head)
            found = UNPARSED if version is None else self.store.facts(*version, other)
            self._facts[key] = found
        return found

    def has_facts(self, path: RepoPath, *, head: bool) -> bool:
        """Whether the store holds that version's facts already (it costs nothing then)."""
        change = self.files[path]
        return self.store.has(change.new_blob if head else change.old_blob)

    def _version(self, path: RepoPath, *, head: bool) -> Version | None:
        """The blob and text of one version of a changed Python file (None: none)."""
        text = (self.head if head else self.base).get(path)
        if text is None or not is_python(path):
            return None
        change = self.files[path]
        return (change.new_blob if head else change.old_blob), text

    def prefetch(self, wanted: Iterable[tuple[RepoPath, bool, bool]]) -> None:
        """Parse now, on every core if many, the (path, base?, head?) versions ``wanted``."""
        self.store.prefetch(
            (
                self._version(path, head=False) if base else None,
                self._version(path, head=True) if head else None,
            )
            for path, base, head in wanted
        )

    def scan_warnings(self) -> list[str]:
        """One warning per file whose facts the planner read by a scan, not by ``ast``.

        Only the versions it read count: a file that imports no changed
        module is never parsed, and loses nothing. A revision file's SG007
        says it already.
        """
        warnings: dict[RepoPath, str] = {}
        for (path, head), facts in sorted(self._facts.items(), key=lambda item: not item[0][1]):
            note = facts.scanned
            if note is not None and path not in warnings and path not in self.migrations:
                warnings[path] = f"{path}{'' if head else ' (merge-base version)'}: {note}"
        return [warnings[path] for path in sorted(warnings)]

    def code_paths(self) -> list[RepoPath]:
        """Changed application code files (not migrations), sorted."""
        return sorted(
            path
            for path, change in self.files.items()
            if path not in self.migrations and any(map(is_code, change.paths))
        )


def _wanted(change: ChangedFile) -> bool:
    if change.binary or change.submodule:
        return False
    return any(map(is_code, change.paths))  # revision files are .py: code too


@dataclass(frozen=True)
class Texts:
    """Both versions of the changed code files, by the change's path."""

    head: Mapping[RepoPath, str]
    base: Mapping[RepoPath, str]


def read_texts(files: Iterable[ChangedFile], blobs: BlobSource) -> Texts:
    """Read both versions of every changed code file with ONE ``read_blobs`` call.

    Independent of the rest of the analysis, so it can run next to it.
    """
    wanted = [change for change in files if _wanted(change)]
    versions = (
        {change.path: change.new_blob for change in wanted if not _is_null(change.new_blob)},
        {change.path: change.old_blob for change in wanted if _has_base(change)},
    )
    shas = [sha for version in versions for sha in version.values()]
    data = blobs.read_blobs(dict.fromkeys(shas)) if shas else {}
    head, base = (
        {path: data[sha].decode("utf-8", "replace") for path, sha in version.items() if sha in data}
        for version in versions
    )
    return Texts(head, base)


def _has_base(change: ChangedFile) -> bool:
    # A copy's old blob is its source's, which stays where it was: no base version.
    return not _is_null(change.old_blob) and change.status is not Status.COPIED


def read_code(
    files: Iterable[ChangedFile],
    blobs: BlobSource,
    migrations: frozenset[RepoPath],
    texts: Texts | None = None,
    store: FactsStore | None = None,
) -> Code:
    """The changed code files' texts (read now unless ``texts`` has them) and facts."""
    files = list(files)
    if texts is None:
        texts = read_texts(files, blobs)
    by_path = {change.path: change for change in files}
    return Code(by_path, texts.head, texts.base, migrations, store or FactsStore())
