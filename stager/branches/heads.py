"""The Alembic graph of every phase: as many heads as the base, nothing dangling, no cycle,
no revision id defined twice.

Used before a split writes anything (on the planned contents) and by
``verify`` (on the branches' real trees).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from stager.errors import StagerError
from stager.git.repository import TreeEntry
from stager.migrations.compare import MigrationReport
from stager.migrations.discovery import discover, migration_entries
from stager.migrations.graph import RevisionGraph
from stager.migrations.parse import parse_migration
from stager.migrations.revision_files import BlobSource, MigrationFile
from stager.plan.phase import first_few
from stager.types import RepoPath, Revision, Sha
from stager.wording import count


class GraphReader:
    """Revision graphs of whole trees; each distinct revision file is parsed once.

    ``parsed``: revision files already parsed, by blob (the analysis's
    :attr:`MigrationReport.parsed`): the phases' trees hold mostly those.
    """

    def __init__(self, blobs: BlobSource, parsed: Mapping[Sha, MigrationFile] = {}) -> None:
        self.blobs = blobs
        self._parsed: dict[Sha, MigrationFile] = dict(parsed)

    def files(self, tree: Mapping[RepoPath, TreeEntry]) -> list[MigrationFile]:
        """The tree's revision files, in alembic's load order."""
        entries = migration_entries(discover(tree, self.blobs), tree)
        missing = [entry.blob for entry in entries.values() if entry.blob not in self._parsed]
        contents = self.blobs.read_blobs(missing) if missing else {}
        found: list[MigrationFile] = []
        for path, entry in entries.items():
            parsed = self._parsed.get(entry.blob)
            if parsed is None:
                parsed = parse_migration(path, entry.blob, contents.get(entry.blob, b""))
                self._parsed[entry.blob] = parsed
            found.append(parsed if parsed.path == path else replace(parsed, path=path))
        return found

    def graph(self, tree: Mapping[RepoPath, TreeEntry]) -> RevisionGraph:
        return RevisionGraph.build(self.files(tree))


@dataclass(frozen=True)
class GraphCheck:
    """Problems of one phase's graph compared with the base's and the previous phase's."""

    heads: tuple[Revision, ...]
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def check_graph(graph: RevisionGraph, base: RevisionGraph, previous: RevisionGraph) -> GraphCheck:
    """Heads as many as the base's; no new dangling parent, cycle or duplicate revision id;
    no parent changed."""
    problems: list[str] = []
    heads = graph.heads()
    if len(heads) != len(base.heads()):
        problems.append(
            f"{count(len(heads), 'Alembic head')} ({', '.join(heads) or 'none'}) "
            "where the base has "
            f"{len(base.heads())} ({', '.join(base.heads()) or 'none'})"
        )
    known = {(d.migration.revision, d.target) for d in base.dangling()}
    for dangling in graph.dangling():
        if (dangling.migration.revision, dangling.target) not in known:
            problems.append(
                f"{dangling.migration.revision} ({dangling.migration.path}): {dangling.field} "
                f"{dangling.target} is not in this phase"
            )
    old_cycles = {frozenset(cycle) for cycle in base.cycles()}
    for cycle in graph.cycles():
        if frozenset(cycle) not in old_cycles:
            problems.append("revisions require each other in a cycle: " + " → ".join(cycle))
    old_duplicates = {duplicate.revision for duplicate in base.duplicates()}
    for duplicate in graph.duplicates():
        if duplicate.revision not in old_duplicates:
            paths = " and ".join(migration.path for migration in duplicate.migrations)
            problems.append(
                f"revision {duplicate.revision} is defined by {len(duplicate.migrations)} "
                f"files: {paths}"
            )
    for migration in graph:
        if migration.revision is None or migration.revision not in previous:
            continue
        before = previous.revision(migration.revision).down_revisions
        if before != migration.down_revisions:
            problems.append(
                f"{migration.revision} ({migration.path}): down_revision "
                f"{', '.join(before) or 'None'} in the previous phase, "
                f"{', '.join(migration.down_revisions) or 'None'} here: a database already "
                "upgraded would skip revisions"
            )
    return GraphCheck(heads, tuple(problems))


def planned_files(
    start: Iterable[MigrationFile],
    changes: Mapping[RepoPath, Sha | None],
    report: MigrationReport,
    new_parents: Mapping[RepoPath, tuple[Revision, ...]],
    derived: Mapping[RepoPath, MigrationFile] | None = None,
) -> dict[RepoPath, MigrationFile]:
    """The revision files after a phase, computed from the plan (no tree is read).

    ``changes`` are the phase's paths with head's blob (None: deleted);
    ``new_parents`` the re-chained parents by path; ``derived`` the revision
    files stager derived for the phase (expand, contract), as it writes them.
    """
    files = {migration.path: migration for migration in start}
    files.update(derived or {})
    for path, blob in changes.items():
        if derived and path in derived:
            continue
        head = report.by_path.get(path)
        if blob is None:
            files.pop(path, None)
        elif head is not None and head.blob == blob:
            parents = new_parents.get(path)
            files[path] = replace(head, down_revisions=parents) if parents is not None else head
    return files


def check_plan(
    report: MigrationReport,
    phases: Sequence[tuple[str, Mapping[RepoPath, Sha | None]]],
    new_parents: Mapping[RepoPath, tuple[Revision, ...]],
    *,
    stacked: bool,
    base: RevisionGraph | None = None,
    derived: Sequence[Mapping[RepoPath, MigrationFile]] = (),
) -> list[tuple[tuple[Revision, ...], tuple[Revision, ...]]]:
    """Refuse a split whose phases would break the Alembic graph (nothing is written).

    ``phases``: (label, the phase's paths with head's blob) in merge order.
    ``base``: the graph the first phase starts from (the merge base's by default).
    ``derived``: each phase's derived revision files (expand, contract), by path.
    Returns each phase's Alembic heads before and after it.
    """
    start_graph = base if base is not None else report.base
    _refuse_missing_revisions(report, start_graph)
    start = list(start_graph)
    current = {migration.path: migration for migration in start}
    previous = start_graph
    problems: list[str] = []
    heads: list[tuple[tuple[Revision, ...], tuple[Revision, ...]]] = []
    for index, (label, changes) in enumerate(phases):
        files = planned_files(
            current.values() if stacked else start,
            changes,
            report,
            new_parents,
            derived[index] if index < len(derived) else None,
        )
        graph = RevisionGraph.build(files.values())
        result = check_graph(graph, start_graph, previous if stacked else start_graph)
        problems += [f"{label}: {problem}" for problem in result.problems]
        heads.append(((previous if stacked else start_graph).heads(), result.heads))
        if stacked:
            current, previous = files, graph
    if problems:
        raise StagerError(
            "the phases would break the Alembic history; nothing was written: "
            + "; ".join(problems[:5])
            + (f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""),
            _plan_fix(report),
        )
    return heads


def _plan_fix(report: MigrationReport) -> str:
    """How to mend a plan that breaks the graph: bring back deleted revisions, else re-chain."""
    if report.deleted:
        # No re-chaining brings back a revision the base has: databases ran it.
        paths = sorted(migration.path for migration in report.deleted)
        return (
            f"the branch deletes {count(len(paths), 'revision file')} the base has "
            f"({first_few(paths, 3)}): restore them on the branch "
            "(`git checkout <base> -- <file>`), and undo a revision's effect with a new "
            "revision instead (see SG009 in `stager analyze`)"
        )
    return (
        "move the migration to the phase of its parent, or let stager re-chain it "
        "([stager] rechain = true) and refresh the plan (`stager plan`)"
    )


def _refuse_missing_revisions(report: MigrationReport, start: RevisionGraph) -> None:
    """A revision file of the branch naming a revision no file defines (SG003).

    No phase can hold what does not exist: moving the migration would not help,
    fixing the id or adding the missing migration does.
    """
    known = {(d.migration.revision, d.target) for d in start.dangling()}
    missing = [
        dangling
        for dangling in report.head.dangling()
        if dangling.migration.path in report.by_path
        and (dangling.migration.revision, dangling.target) not in known
    ]
    if not missing:
        return
    shown = "; ".join(
        f"{d.migration.revision} ({d.migration.path}): {d.field} {d.target!r} names a "
        "revision that no revision file on the branch defines (finding SG003)"
        for d in missing[:5]
    )
    more = f" (and {len(missing) - 5} more)" if len(missing) > 5 else ""
    fields = " or ".join(dict.fromkeys(d.field for d in missing))
    raise StagerError(
        f"the phases would break the Alembic history; nothing was written: {shown}{more}",
        f"the revision it depends on does not exist: fix the id in {fields}, or add the "
        "migration it names, then run stager again",
    )


def onto_parents(
    base: RevisionGraph,
    ref: RevisionGraph,
    ref_name: str,
    branch: RevisionGraph | None = None,
) -> dict[Revision, Revision]:
    """Revisions that --onto REF has built on: each → REF's head that replaces it as a parent.

    ``branch``: head's graph. The branch's own revisions already on REF (an
    earlier phase merged, squashed or not) are not new to the branch: they
    never move anything, and a later revision of the branch on one of them
    only moves when REF has built further on it.
    """
    own = {revision for revision in (branch.files if branch else {}) if revision not in base}
    if all(revision in base or revision in own for revision in ref.files):
        return {}
    mapping: dict[Revision, Revision] = {}
    ref_heads = ref.heads()
    candidates = [*base.heads(), *(revision for revision in own if revision in ref)]
    for head in candidates:
        if head in ref_heads or head not in ref:
            continue
        later = [candidate for candidate in ref_heads if head in ref.ancestors(candidate)]
        if len(later) > 1:
            raise StagerError(
                f"{ref_name} has {len(later)} Alembic heads after {head} "
                f"({', '.join(later)}): stager cannot tell which one the branch goes on",
                f"merge them on {ref_name} first (`alembic merge heads`), then split again",
            )
        if later:
            mapping[head] = later[0]
    return mapping


def ref_parents(graph: RevisionGraph | None) -> dict[Revision, tuple[Revision, ...]]:
    """Each revision of --onto REF's graph → its parents there (empty without --onto)."""
    if graph is None:
        return {}
    return {revision: file.down_revisions for revision, file in graph.files.items()}
