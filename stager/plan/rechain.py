"""Re-chaining: each branch migration's final ``down_revision`` in the split.

Migrations are ordered by phase, then by their original upgrade order, and
placed phase by phase. A phase first keeps every original parent that is
already in the graph (the base, an earlier phase, or an earlier migration of
the same phase): a branch-and-merge written inside one phase stays as written.
Only a parent still missing (it is in a later phase) is replaced by the head
that stands for its line: the head whose history holds the parent, else the
most of its ancestors. When the phase would then leave a different number of
heads than the merge base has, the phase is placed again re-chaining every
parent that is no longer a head, so each phase's first migrations stack on the
head the previous phase left (the merge base's head for phase 1), a migration
only ever takes current heads as parents, and the number of heads never grows.
A phase that still leaves the wrong number of heads is reported
(``Rechained.problems``); the split would refuse it.

With re-chaining off (``[stager] rechain = false``) nothing is rewritten:
every original parent is kept, and the phases are only checked.

A rewritten parent is final: a later phase never restores the original one.
A database that ran phase k is at its head; if phase k+1 put a skipped
revision back *below* that head, Alembic would take it as applied and never
run it. ``depends_on`` is kept as written (the plan keeps its target in the
same or an earlier phase) and never makes or unmakes a head.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from itertools import groupby

from stager.migrations.graph import RevisionGraph
from stager.migrations.revision_files import MigrationFile
from stager.plan.phase import reachable
from stager.types import RepoPath, Revision


@dataclass(frozen=True)
class Rechained:
    """Branch migrations in the order the split writes them, with their parents there.

    ``problems``: phase number → the heads it leaves, for each phase that leaves
    a different number of heads than the merge base has.
    """

    order: tuple[MigrationFile, ...]
    parents: Mapping[Revision, tuple[Revision, ...]]
    problems: Mapping[int, tuple[Revision, ...]] = field(default_factory=dict)


def rechain(
    migrations: Sequence[MigrationFile],
    phase_of: Mapping[RepoPath, int],
    base: RevisionGraph,
    head: RevisionGraph,
    *,
    allowed: bool = True,
) -> Rechained:
    """``migrations``: the branch's added revisions, in head's upgrade order.

    ``allowed``: whether parents may be rewritten (``[stager] rechain``).
    """
    position: dict[Revision, int] = {}
    for index, migration in enumerate(migrations):
        if migration.revision is not None:
            position.setdefault(migration.revision, index)  # a duplicate id keeps its first place
    order = sorted(
        (m for m in migrations if m.revision is not None),
        key=lambda m: (phase_of.get(m.path, 0), position[m.revision]),  # type: ignore[index]
    )
    chainer = _Chainer(base, head, frozenset(position), allowed=allowed)
    problems: dict[int, tuple[Revision, ...]] = {}
    for number, members in groupby(order, key=lambda m: phase_of.get(m.path, 0)):
        group = list(members)
        before = list(chainer.heads)
        chainer.place(group, keep=True)
        for mode in ("heads", "lines"):
            if not allowed or len(chainer.heads) == chainer.expected:
                break
            # Keeping the phase's own chain leaves another number of heads: re-chain it
            # onto the heads; failing that, stack each migration on the head of its line.
            chainer.undo(group, before)
            chainer.place(group, keep=False, linear=mode == "lines")
        if len(chainer.heads) != chainer.expected:
            problems[number] = tuple(chainer.heads)
    return Rechained(tuple(order), chainer.parents, problems)


class _Chainer:
    """The graph built so far: its heads and the parents given to each placed revision."""

    def __init__(
        self,
        base: RevisionGraph,
        head: RevisionGraph,
        added: frozenset[Revision],
        *,
        allowed: bool,
    ) -> None:
        self.base = base
        self.head = head
        self.added = added
        self.allowed = allowed
        self.component = _components(head, base, self.parents_of)
        self.base_heads = tuple(base.heads())
        # A base without migrations: the branch starts the history with one head.
        self.expected = len(self.base_heads) or 1
        self.heads: list[Revision] = list(self.base_heads)
        self.parents: dict[Revision, tuple[Revision, ...]] = {}
        self.known: dict[Revision, frozenset[Revision]] = {}
        self.lineage = cache(self._lineage)
        self.children: dict[Revision, set[Revision]] | None = None

    def parents_of(self, revision: Revision) -> tuple[Revision, ...]:
        graph = self.head if revision in self.head else self.base
        if revision not in graph:
            return ()
        return tuple(
            p for p in graph.revision(revision).down_revisions if p in self.head or p in self.base
        )

    def _lineage(self, revision: Revision) -> frozenset[Revision]:
        """The revision and its down_revision ancestors (depends_on is no lineage)."""
        if revision not in self.head and revision not in self.base:
            return frozenset()
        return frozenset(reachable(revision, self.parents_of))

    def history(self, revision: Revision) -> frozenset[Revision]:
        """Ancestry in the graph built so far (computed only when heads must be told apart)."""
        found = self.known.get(revision)
        if found is None:
            seen: set[Revision] = set()
            todo = [revision]
            while todo:  # iterative, and a cycle (SG004) ends it
                current = todo.pop()
                if current in seen:
                    continue
                seen.add(current)
                if current in self.parents:
                    todo.extend(self.parents[current])
                else:
                    seen |= self.lineage(current)
            found = frozenset(seen)
            self.known[revision] = found
        return found

    def undo(self, group: Sequence[MigrationFile], heads: list[Revision]) -> None:
        """Forget the placement of ``group``: the heads go back to ``heads``."""
        self.heads = heads
        for migration in group:
            self.parents.pop(migration.revision, None)  # type: ignore[arg-type]
        self.known.clear()

    def place(self, group: Sequence[MigrationFile], *, keep: bool, linear: bool = False) -> None:
        """Give each migration of ``group`` its parents.

        ``keep``: keep the original parents already there. ``linear``: one parent
        each, the current head of the line the migration ends up in at the
        branch's head; each takes one head and leaves one, so the count holds.
        """
        for migration in group:
            revision = migration.revision
            assert revision is not None
            if linear:
                chosen = self._line_head(revision)
            else:
                chosen = self._parents(revision, migration.down_revisions, keep=keep)
            self.parents[revision] = chosen
            consumed = [self.heads.index(parent) for parent in chosen if parent in self.heads]
            slot = min(consumed) if consumed else len(self.heads)
            self.heads = [h for h in self.heads if h not in chosen]
            self.heads.insert(min(slot, len(self.heads)), revision)

    def _line_head(self, revision: Revision) -> tuple[Revision, ...]:
        """The current head of the line ``revision`` joins at the branch's head."""
        line = self.line(revision)
        for candidate in self.heads:
            if line is not None and line in self.history(candidate):
                return (candidate,)
        return tuple(self.heads[:1])

    def line(self, revision: Revision) -> Revision | None:
        """The merge-base head whose line ``revision`` ends up in at the branch's head."""
        if self.children is None:
            children: dict[Revision, set[Revision]] = {}
            for migration in self.head:
                if migration.revision is not None:
                    for parent in self.parents_of(migration.revision):
                        children.setdefault(parent, set()).add(migration.revision)
            self.children = children
        children = self.children
        descendants = reachable(revision, lambda current: children.get(current, ()))
        ends = [end for end in descendants if not children.get(end)]
        lines = sorted({h for end in ends for h in self.lineage(end) if h in self.base_heads})
        return lines[0] if lines else None

    def _parents(
        self, revision: Revision, originals: tuple[Revision, ...], *, keep: bool
    ) -> tuple[Revision, ...]:
        chosen: list[Revision] = []
        if not originals and not keep:
            # A new line of history, unless descendants of it were placed first
            # (a later phase holds the root): then it stacks on them.
            line = self.component.get(revision)
            related = [h for h in self.heads if line is not None and self.component.get(h) == line]
            chosen.extend(related[:1])
        standing: list[Revision] = []  # heads chosen for a parent that is not there yet
        for parent in originals:
            if parent == revision or (parent not in self.head and parent not in self.base):
                chosen.append(parent)  # itself (SG004) or no revision (SG003): left as written
                continue
            there = parent in self.parents or (parent in self.base and parent not in self.added)
            pick: Revision | None = parent
            if parent not in self.heads and self.allowed and not (keep and there):
                pick = _stand_in(parent, self.lineage, self.heads, self.history, self.component)
                if pick is not None and pick != parent:
                    standing.append(pick)
            # Two parents on one line of history now: the merge keeps one of them.
            if pick is not None and pick not in chosen:
                chosen.append(pick)
        # A stand-in never merges two heads the original merge did not join: that would
        # leave fewer heads than the base has. The merge keeps the parents it names.
        joined = [p for p in chosen if p in self.heads]
        if len(joined) > 1:
            named = [p for p in joined if p not in standing]
            drop = set(standing) - set(named) if named else set(joined[1:])
            chosen = [p for p in chosen if p not in drop]
        if standing and len(chosen) > 1:
            # A kept parent below a stand-in is already in its history: the merge needs one.
            chosen = [
                p
                for p in chosen
                if not any(q != p and p in self.history(q) for q in chosen if q in self.parents)
            ]
        return tuple(chosen)


def _components(
    head: RevisionGraph, base: RevisionGraph, parents_of: Callable[[Revision], tuple[Revision, ...]]
) -> dict[Revision, Revision]:
    """Each revision's line of history: the down_revision-connected group it belongs to."""
    root: dict[Revision, Revision] = {}

    def find(revision: Revision) -> Revision:
        while root.setdefault(revision, revision) != revision:
            root[revision] = root[root[revision]]
            revision = root[revision]
        return revision

    for graph in (base, head):
        for migration in graph:
            assert migration.revision is not None
            for parent in parents_of(migration.revision):
                first, second = find(migration.revision), find(parent)
                if first != second:
                    root[max(first, second)] = min(first, second)
    return {revision: find(revision) for revision in list(root)}


def _stand_in(
    parent: Revision,
    lineage: Callable[[Revision], frozenset[Revision]],
    heads: Sequence[Revision],
    history: Callable[[Revision], frozenset[Revision]],
    component: Mapping[Revision, Revision],
) -> Revision | None:
    """The current head that stands for ``parent``'s line of history, None if none does.

    The head whose history holds the parent, else the one holding most of the
    parent's original ancestors, else one on the same line of history.
    """
    group = component.get(parent)
    related = [h for h in heads if group is not None and component.get(h) == group]
    if len(related) == 1:
        return related[0]  # the usual case, one head per line: no ancestry needed
    if not heads:
        return None
    line = lineage(parent)

    def score(index: int, candidate: Revision) -> tuple[bool, int, bool, int]:
        ancestry = history(candidate)
        return (
            parent in ancestry,
            len(ancestry & line),
            group is not None and component.get(candidate) == group,
            -index,
        )

    best_score, best = max((score(index, head), head) for index, head in enumerate(heads))
    if not any(best_score[:3]):
        return None  # nothing of its line is in the graph yet: it starts the line
    return best
