"""What each phase must contain: its paths, head's version of each, the re-chained migrations.

Phase k's tree is phase k-1's tree plus head's version of every path planned
in phase k (a deleted path removed), with the phase's migrations re-chained.
Every path the branch changes must be in exactly one phase: that is what makes
the split lossless, so a plan that leaves one out is refused here.

A phase's derived files (issue 12: the expand revision R_e at a new path, R
reduced to its contract part at R's path, a file with only its early hunks)
are written with the plan's source instead of head's blob, re-chained to the
planned parents, and recorded as rewrites (reason expand, contract, partial).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from stager.branches.split_types import BROKEN, CONTRACT, EXPAND, ONTO, PARTIAL, PLAN, Rewrite
from stager.errors import StagerError
from stager.git.diff import ChangedFile, Status
from stager.git.trees import Node
from stager.git.write import Writer
from stager.migrations.compare import MigrationReport
from stager.migrations.parse import parse_migration
from stager.migrations.rechain_file import RelinkError, relink
from stager.migrations.revision_files import MigrationFile
from stager.plan.phase import DerivedFile, DerivedKind, Phase
from stager.types import RepoPath, Revision, Sha
from stager.wording import count


@dataclass(frozen=True)
class PhaseTarget:
    """A phase's part of merge-base..head."""

    phase: Phase
    paths: frozenset[RepoPath]  # every path it changes (both sides of a rename)
    start: Mapping[RepoPath, Node | None]  # the merge base's entries for them
    head: Mapping[RepoPath, Node | None]  # head's entries (None: deleted)
    changes: Mapping[RepoPath, Node | None]  # head's, with re-chained migrations substituted
    rewrites: tuple[Rewrite, ...]
    # derived revision files (expand, contract) as the phase writes them, parsed
    derived: Mapping[RepoPath, MigrationFile] = field(default_factory=dict)


def _shown(paths: Iterable[str], limit: int = 5) -> str:
    items = sorted(paths)
    text = ", ".join(items[:limit])
    return text + (f" and {len(items) - limit} more" if len(items) > limit else "")


def assign_paths(
    files: Sequence[ChangedFile], phases: Sequence[Phase]
) -> dict[int, dict[RepoPath, ChangedFile]]:
    """Phase number → the changed paths it takes (with their change); every path exactly once.

    A renamed file's old path goes with its new path unless the plan places
    the old path itself.
    """
    by_path = {changed.path: changed for changed in files}
    by_old = {changed.old_path: changed for changed in files if changed.old_path}
    listed = {planned.path for phase in phases for planned in phase.files}
    owner: dict[RepoPath, int] = {}
    taken: dict[int, dict[RepoPath, ChangedFile]] = {phase.number: {} for phase in phases}
    unknown: list[str] = []

    def take(path: RepoPath, changed: ChangedFile, number: int) -> None:
        if path in owner and owner[path] != number:
            raise StagerError(
                f"{path} is planned in phase {owner[path]} and in phase {number}",
                "a changed file belongs to one phase: fix the plan (stager plan --write) "
                "or the [[phase]] rules",
            )
        owner[path] = number
        taken[number][path] = changed

    for phase in phases:
        for planned in phase.files:
            changed = by_path.get(planned.path)
            if changed is not None:
                take(changed.path, changed, phase.number)
                if changed.old_path and changed.old_path not in listed:
                    take(changed.old_path, changed, phase.number)
            elif planned.path in by_old:
                take(planned.path, by_old[planned.path], phase.number)
            else:
                unknown.append(planned.path)
    if unknown:
        raise StagerError(
            f"the plan lists {count(len(unknown), 'path')} the branch does not change: "
            f"{_shown(unknown)}",
            "the plan is out of date: refresh it with `stager plan --write stager-plan.toml`",
        )
    every = {path for changed in files for path in changed.paths}
    missing = every - set(owner)
    if missing:
        raise StagerError(
            f"{count(len(missing), 'changed file')} {'is' if len(missing) == 1 else 'are'} "
            f"in no phase: {_shown(missing)}",
            "add a [[phase]] that takes them, or set `unassigned` under [stager] in the rules",
        )
    return taken


def path_entries(path: RepoPath, changed: ChangedFile) -> tuple[Node | None, Node | None]:
    """(merge base's, head's) entry of ``path`` in ``changed``."""
    if changed.old_path == path and path != changed.path:  # the old side of a rename
        old = (changed.old_mode, changed.old_blob)
        return old, None
    before: Node | None = None
    if changed.status not in (Status.ADDED, Status.RENAMED, Status.COPIED):
        before = (changed.old_mode, changed.old_blob)
    after: Node | None = None
    if changed.status is not Status.DELETED:
        after = (changed.new_mode, changed.new_blob)
    return before, after


@dataclass(frozen=True)
class Rechain:
    """One migration whose parents differ in the split from head's file."""

    phase: int
    path: RepoPath
    revision: Revision
    parents: tuple[Revision, ...]
    reason: str


def rechains(
    phases: Sequence[Phase],
    migrations: MigrationReport,
    onto_parents: Mapping[Revision, Revision] | None = None,
    on_ref: Mapping[Revision, tuple[Revision, ...]] | None = None,
    broken: frozenset[Revision] = frozenset(),
) -> list[Rechain]:
    """Migrations whose ``down_revision`` in the split differs from head's file.

    ``onto_parents`` maps a merge-base head to the --onto REF head that
    replaces it as a parent; ``on_ref`` are the revisions REF already has,
    with their parents there: they are left as REF has them (an earlier phase
    that was merged keeps the parents it was merged with, re-chained or not).
    ``broken``: revisions re-chained to repair the branch's graph (--rechain-broken).
    """
    on_ref = on_ref or {}
    found: list[Rechain] = []
    for phase in phases:
        derived = {item.path for item in phase.derived}
        for planned in phase.migrations:
            if planned.path in derived:
                continue  # written from the plan's source, with its parents: derived_source
            current = migrations.by_path.get(planned.path)
            if current is None or current.revision is None:
                raise StagerError(
                    f"the plan re-chains {planned.revision} in {planned.path}, "
                    "which is not a revision file of the branch head",
                    "refresh the plan with `stager plan --write stager-plan.toml`",
                )
            wanted = tuple(planned.down_revision)
            reason = PLAN
            if current.revision in on_ref:
                # Head's file would give REF a second version of a merged revision.
                merged = tuple(on_ref[current.revision])
                if merged != wanted:
                    wanted, reason = merged, ONTO
            elif onto_parents:
                moved = tuple(onto_parents.get(parent, parent) for parent in wanted)
                if moved != wanted:
                    wanted, reason = moved, ONTO
            if current.revision in broken:
                reason = BROKEN  # what --rechain-broken allowed, wherever the parents now are
            if wanted != current.down_revisions:
                found.append(Rechain(phase.number, planned.path, current.revision, wanted, reason))
    return found


def phase_targets(
    writer: Writer,
    files: Sequence[ChangedFile],
    phases: Sequence[Phase],
    migrations: MigrationReport,
    onto_parents: Mapping[Revision, Revision] | None = None,
    on_ref: Mapping[Revision, tuple[Revision, ...]] | None = None,
    broken: frozenset[Revision] = frozenset(),
) -> list[PhaseTarget]:
    """Every phase's target, with re-chained revision files written as new blobs."""
    taken = assign_paths(files, phases)
    planned_rechains = rechains(phases, migrations, onto_parents, on_ref, broken)
    for rechain in planned_rechains:
        if rechain.path not in taken[rechain.phase]:
            raise StagerError(
                f"the plan puts migration {rechain.revision} in phase {rechain.phase} "
                f"but its file {rechain.path} in another phase",
                "refresh the plan with `stager plan --write stager-plan.toml`",
            )
    rewrites = _rewrite(writer, planned_rechains, migrations)
    heads = {
        path: node
        for changed in files
        for path in changed.paths
        if (node := path_entries(path, changed)[1]) is not None
    }
    targets: list[PhaseTarget] = []
    for phase in phases:
        start: dict[RepoPath, Node | None] = {}
        head: dict[RepoPath, Node | None] = {}
        for path, changed in taken[phase.number].items():
            start[path], head[path] = path_entries(path, changed)
        own = [rewrite for rewrite in rewrites if rewrite.path in head]
        changes = dict(head)
        for rewrite in own:
            node = head[rewrite.path]
            assert node is not None  # a revision file of head exists on head
            changes[rewrite.path] = (node[0], rewrite.new_blob)
        derived: dict[RepoPath, MigrationFile] = {}
        for item in phase.derived:
            source = derived_source(phase, item)
            blob = writer.add_object("blob", source)
            node = heads.get(item.path)
            changes[item.path] = (node[0] if node else "100644", blob)
            own.append(_derived_rewrite(item, blob, node, migrations, phase))
            if item.kind is not DerivedKind.PARTIAL:
                derived[item.path] = parse_migration(item.path, blob, source)
        targets.append(
            PhaseTarget(phase, frozenset(head), start, head, changes, tuple(own), derived)
        )
    return targets


_REASONS = {
    DerivedKind.EXPAND_REVISION: EXPAND,
    DerivedKind.CONTRACT_REVISION: CONTRACT,
    DerivedKind.PARTIAL: PARTIAL,
}


def derived_source(phase: Phase, item: DerivedFile) -> bytes:
    """``item``'s bytes in ``phase``: the plan's source, a revision re-chained as planned."""
    planned = next((m for m in phase.migrations if m.path == item.path), None)
    if planned is None:
        return item.source
    try:
        return relink(item.source, tuple(planned.down_revision)).source
    except RelinkError as error:
        raise StagerError(
            f"cannot re-chain the {item.kind} file {item.path}: {error.problem}", error.fix
        ) from None


def _derived_rewrite(
    item: DerivedFile, blob: Sha, node: Node | None, migrations: MigrationReport, phase: Phase
) -> Rewrite:
    head = migrations.by_path.get(item.path)
    planned = next((m for m in phase.migrations if m.path == item.path), None)
    revision = planned.revision if planned is not None else Revision("")
    return Rewrite(
        path=item.path,
        revision=revision,
        old_parents=head.down_revisions if head is not None else (),
        new_parents=tuple(planned.down_revision) if planned is not None else (),
        old_blob=node[1] if node is not None else None,  # None: a new file (R_e)
        new_blob=blob,
        reason=_REASONS[item.kind],
    )


def _rewrite(
    writer: Writer, planned: Sequence[Rechain], migrations: MigrationReport
) -> list[Rewrite]:
    blobs = {rechain.path: migrations.by_path[rechain.path].blob for rechain in planned}
    contents = writer.repo.read_blobs(blobs.values())
    results = []
    for rechain in planned:
        try:
            results.append(relink(contents[blobs[rechain.path]], rechain.parents))
        except RelinkError as error:
            raise StagerError(
                f"cannot re-chain {rechain.path}: {error.problem}",
                error.fix,
            ) from None
    new_blobs = [writer.add_object("blob", result.source) for result in results]
    return [
        Rewrite(
            path=rechain.path,
            revision=rechain.revision,
            old_parents=result.old_parents,
            new_parents=rechain.parents,
            old_blob=blobs[rechain.path],
            new_blob=new_blob,
            reason=rechain.reason,
        )
        for rechain, result, new_blob in zip(planned, results, new_blobs, strict=True)
    ]


def relink_versions(
    writer: Writer, rewrites: Sequence[Rewrite], versions: Mapping[RepoPath, Iterable[Sha]]
) -> dict[tuple[RepoPath, Sha], Sha]:
    """Re-chained copies of the earlier versions of re-chained files (for replayed commits).

    A version that cannot be re-chained (a work-in-progress that does not
    parse) is kept as it was: only head's version must be re-chained.
    """
    rewrites = [rewrite for rewrite in rewrites if not rewrite.derived]
    by_path = {rewrite.path: rewrite for rewrite in rewrites}
    mapping = {
        (rewrite.path, rewrite.old_blob): rewrite.new_blob
        for rewrite in rewrites
        if rewrite.old_blob is not None
    }
    wanted = [
        (path, blob)
        for path, blobs in versions.items()
        if path in by_path
        for blob in dict.fromkeys(blobs)
        if (path, blob) not in mapping
    ]
    contents = writer.repo.read_blobs(blob for _, blob in wanted)
    for path, blob in wanted:
        try:
            source = relink(contents[blob], by_path[path].new_parents).source
        except RelinkError:
            mapping[path, blob] = blob
        else:
            mapping[path, blob] = writer.add_object("blob", source)
    return mapping
