"""The history invariant: a database at any revision of the feature branch, upgraded along
the phases, runs nothing twice and skips nothing.

Databases that ran the feature branch (dev, staging, a preview) are at some
revision X of it: X and its ancestors ran. Upgraded along the phased history,
Alembic takes X and X's ancestors *there* as applied and runs the rest. So
for every revision of the branch, the operations applied up to it must be the
same on both histories. Re-chaining can break that: when a phase puts the
branch's revision B before its parent A, a database at A has not run B, which
the phases count as run below A (skipped), and one at B has run A, which the
phases then run again. Those revisions are the exceptions: the staging
document and the first pull request open with how to bring such a database
back (:class:`HistoryWarning`), and ``verify`` fails on any other.

Operations are compared by what they do (:func:`~.split_invariant.shape`), as
a multiset. The expand revision R_e of a split is R's ancestor on the phased
history, so "at R" counts R_e's operations with R's contract part, as on the
branch. A revision below the merge base's heads is the same on both sides and
not counted; any other revision the phased history has and the branch has not
(``--onto`` REF's own) counts as one the branch never ran.
"""

from __future__ import annotations

import shlex
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from stager.branches.split_invariant import Shape, describe_shapes, shape
from stager.migrations.compare import MigrationReport
from stager.migrations.graph import RevisionGraph
from stager.migrations.parse import parse_migration
from stager.migrations.revision_files import MigrationFile
from stager.plan.assessment import PhaseChain, alembic_invocation
from stager.plan.phase import DerivedKind, Phase
from stager.types import RepoPath, Revision, Sha

_SHOWN = 5  # operations named in one divergence's description


@dataclass(frozen=True)
class Step:
    """One revision of a history: what it revises (and depends on), and what it runs."""

    parents: tuple[Revision, ...]
    operations: tuple[Shape, ...]


History = Mapping[Revision, Step]


@dataclass(frozen=True)
class Divergence:
    """A revision of the branch at which the phased history has applied something else."""

    revision: Revision
    skipped: tuple[Shape, ...]  # the phases take them as run; a database at it never ran them
    repeated: tuple[Shape, ...]  # a database at it ran them; the phases run them again
    missing: bool = False  # the phased history has no such revision

    def describe(self) -> str:
        if self.missing:
            return f"{self.revision}: no phase adds it"
        more = describe_shapes(self.skipped, _SHOWN)
        less = describe_shapes(self.repeated, _SHOWN)
        if not self.repeated:
            what = f"applied {more}, which the feature branch has not"
        elif not self.skipped:
            what = f"not applied {less}, which the feature branch has"
        else:
            what = f"applied {more}, which the feature branch has not, and not {less}, which it has"
        return f"{self.revision}: up to it, the phases have {what}"


def _unknown(revision: Revision) -> Shape:
    """A revision the feature branch does not have, standing for whatever it runs."""
    return (f"revision {revision}", None, (), None)


class _Ancestry:
    """Each revision's ancestors (itself included) in one history, as a bit set.

    Bits index revisions shared by both histories (``index``); a revision below
    the merge base is no bit: the walk stops there. A parent neither in the
    history nor below the merge base is a bit of its own, standing for a
    revision the other history may not have.
    """

    def __init__(
        self, history: History, base: Collection[Revision], index: dict[Revision, int]
    ) -> None:
        self.history = history
        self.base = base
        self.index = index
        self.masks: dict[Revision, int] = {}

    def bit(self, revision: Revision) -> int:
        return 1 << self.index.setdefault(revision, len(self.index))

    def mask(self, revision: Revision) -> int:
        """Iterative post-order, so a long history needs no recursion; a cycle ends it."""
        if revision in self.masks:
            return self.masks[revision]
        entered: set[Revision] = set()
        todo = [revision]
        while todo:
            current = todo[-1]
            if current in self.masks:
                todo.pop()
                continue
            step = self.history.get(current)
            parents = [] if step is None else [p for p in step.parents if p not in self.base]
            waiting = [p for p in parents if p not in self.masks and p not in entered]
            if current not in entered and waiting:
                entered.add(current)
                todo.extend(waiting)
                continue
            todo.pop()
            mask = self.bit(current)
            for parent in parents:
                mask |= self.masks.get(parent, 0)  # 0: a parent in a cycle with it
            self.masks[current] = mask
        return self.masks[revision]

    def operations(self, revision: Revision) -> tuple[Shape, ...]:
        step = self.history.get(revision)
        return (_unknown(revision),) if step is None else step.operations


def _bits(mask: int) -> Iterable[int]:
    while mask:
        low = mask & -mask
        yield low.bit_length() - 1
        mask ^= low


def divergences(
    feature: History, phased: History, base: Collection[Revision]
) -> tuple[Divergence, ...]:
    """Every revision of ``feature`` at which ``phased`` has applied something else.

    ``base``: the merge base's revisions, where both histories start. The
    operations of the ancestors both histories share with the same operations
    cancel out; only the others are counted, so a long history costs little.
    """
    index: dict[Revision, int] = {}
    ours, theirs = _Ancestry(feature, base, index), _Ancestry(phased, base, index)
    masks = {revision: (ours.mask(revision), theirs.mask(revision)) for revision in feature}
    names = {number: revision for revision, number in index.items()}
    differ = 0  # revisions whose operations are not the same on both sides
    for revision, number in index.items():
        same = revision in feature and revision in phased
        if not same or ours.operations(revision) != theirs.operations(revision):
            differ |= 1 << number
    found: list[Divergence] = []
    for revision, (mine, other) in masks.items():
        if revision not in phased:
            found.append(Divergence(revision, (), (), missing=True))
            continue
        shared = mine & other & ~differ
        ran: Counter[Shape] = Counter()
        taken: Counter[Shape] = Counter()
        for number in _bits(mine & ~shared):
            ran.update(ours.operations(names[number]))
        for number in _bits(other & ~shared):
            taken.update(theirs.operations(names[number]))
        if ran != taken:
            found.append(
                Divergence(
                    revision, tuple((taken - ran).elements()), tuple((ran - taken).elements())
                )
            )
    return tuple(found)


def _step(migration: MigrationFile, parents: Iterable[Revision] | None = None) -> Step:
    written = migration.down_revisions if parents is None else tuple(parents)
    return Step(
        (*written, *migration.depends_on),
        tuple(shape(op) for op in migration.operations if op.function == "upgrade"),
    )


def graph_history(graph: RevisionGraph, base: Collection[Revision]) -> dict[Revision, Step]:
    """The revisions of ``graph`` above the merge base ``base``, in upgrade order."""
    return {
        revision: _step(graph.files[revision])
        for revision in graph.upgrade_order()
        if revision not in base and revision in graph.files
    }


def feature_history(report: MigrationReport) -> dict[Revision, Step]:
    """The feature branch's own revisions (head's, not the merge base's), in upgrade order."""
    return graph_history(report.head, report.base.files)


def chain_history(
    chains: Mapping[int, PhaseChain], phases: Sequence[Phase], report: MigrationReport
) -> dict[Revision, Step]:
    """The phased history as ``chains`` write it: each revision with its parents there.

    ``chains``: each phase's chain as split recorded it, else as the plan
    re-chains it. A split revision's parts run what stager derived for them.
    """
    derived = {
        item.path: item
        for phase in phases
        for item in phase.derived
        if item.kind in (DerivedKind.EXPAND_REVISION, DerivedKind.CONTRACT_REVISION)
    }
    history: dict[Revision, Step] = {}
    for phase in phases:
        chain = chains.get(phase.number)
        for link in chain.links if chain is not None else ():
            item = derived.get(link.path)
            migration = (
                parse_migration(item.path, Sha("0" * 40), item.source)
                if item is not None
                else report.by_path.get(link.path)
            )
            if migration is not None:
                history[link.revision] = _step(migration, link.parents)
    return history


def planned_divergences(
    chains: Mapping[int, PhaseChain], phases: Sequence[Phase], report: MigrationReport
) -> tuple[Divergence, ...]:
    """The exceptions of the phased history ``chains`` describe (see :func:`chain_history`)."""
    return divergences(
        feature_history(report), chain_history(chains, phases, report), report.base.files
    )


@dataclass(frozen=True)
class HistoryWarning:
    """What a database at an exception must do before it follows the phases.

    ``targets``: the merge base's heads below the exceptions (``base`` when the
    merge base has no revision), each downgraded to in turn from a checkout of
    the feature branch (where the exceptions have their original parents);
    ``downgrade`` is that command, None when an exception starts a line of
    history of its own and no revision of the merge base is below it.
    """

    revisions: tuple[Revision, ...]
    targets: tuple[Revision, ...]
    downgrade: str | None

    @property
    def message(self) -> str:
        ids = ", ".join(f"`{revision}`" for revision in self.revisions)
        why = (
            "the phases re-chain these revisions, so such a database upgraded along them "
            "would run operations twice or skip them"
        )
        if self.downgrade is None:
            return (
                f"Databases whose `alembic current` shows any of {ids} must first be restored "
                f"from a backup taken before they ran the feature branch's migrations: {why}."
            )
        targets = " and ".join(f"`{target}`" for target in self.targets)
        return (
            f"Databases whose `alembic current` shows any of {ids} must first be downgraded "
            f"to {targets} from a checkout of the feature branch (`{self.downgrade}`), or "
            f"restored from a backup taken before they ran these revisions: {why}."
        )


def _base_heads(report: MigrationReport, path: RepoPath | None) -> tuple[Revision, ...]:
    """The merge base's heads in the Alembic environment holding ``path``."""
    for locations, graph in report.base_environments.items():
        if path is not None and any(
            path.startswith(folder.rstrip("/") + "/") for folder in locations
        ):
            return graph.heads()
    return report.base.heads()


def history_warning(
    report: MigrationReport, exceptions: Sequence[Revision]
) -> HistoryWarning | None:
    """The warning for databases at ``exceptions`` (None: there is none).

    Each Alembic environment (its own ``alembic -c …``) goes back to its own
    merge-base heads: those below its exceptions, one ``downgrade`` each.
    """
    if not exceptions:
        return None
    groups: dict[str, list[Revision]] = {}
    paths: dict[Revision, RepoPath] = {}
    for revision in exceptions:
        migration = report.head.files.get(revision)
        if migration is not None:
            paths[revision] = migration.path
        alembic = alembic_invocation(report.configs, [paths[revision]] if migration else [])
        groups.setdefault(alembic, []).append(revision)
    targets: list[Revision] = []
    commands: list[str] = []
    for alembic, revisions in groups.items():
        base_heads = _base_heads(report, paths.get(revisions[0]))
        below: list[Revision] = []
        for revision in revisions:
            ancestors = report.head.ancestors(revision) if revision in report.head else frozenset()
            found = [head for head in base_heads if head in ancestors]
            if base_heads and not found:
                # a line of history the branch starts: no revision to go back to but its base
                return HistoryWarning(tuple(exceptions), (), None)
            below += found
        chosen = [head for head in base_heads if head in below] or [Revision("base")]
        targets += chosen
        # alembic downgrades to one revision at a time (as the phases' rollback commands do)
        commands += [f"{alembic} downgrade {shlex.quote(target)}" for target in chosen]
    return HistoryWarning(tuple(exceptions), tuple(targets), " && ".join(commands))


def planned_warning(
    chains: Mapping[int, PhaseChain], phases: Sequence[Phase], report: MigrationReport
) -> HistoryWarning | None:
    """The warning the staging document and the first pull request open with, if any."""
    found = planned_divergences(chains, phases, report)
    return history_warning(report, [divergence.revision for divergence in found])
