"""Re-chaining: each branch migration's final ``down_revision`` in the split.

Migrations are ordered by phase, then by their original upgrade order. Each
keeps its original parent while that parent is still a head of the graph
built so far; otherwise (the parent is in a later phase, or another migration
was chained onto it first) it is chained onto the head that stands for that
parent's line: the head whose history holds the parent, else the most of its
ancestors. So each phase's first migrations stack on the head the previous
phase left (the merge base's head for phase 1), a migration only ever takes
current heads as parents, and the number of heads never grows.

A rewritten parent is final: a later phase never restores the original one.
A database that ran phase k is at its head; if phase k+1 put a skipped
revision back *below* that head, Alembic would take it as applied and never
run it. ``depends_on`` is kept as written (the plan keeps its target in the
same or an earlier phase) and never makes or unmakes a head.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache

from stager.migrations.graph import RevisionGraph
from stager.migrations.model import MigrationFile
from stager.types import RepoPath, Revision


@dataclass(frozen=True)
class Rechained:
    """Branch migrations in the order the split writes them, with their parents there."""

    order: tuple[MigrationFile, ...]
    parents: Mapping[Revision, tuple[Revision, ...]]


def rechain(
    migrations: Sequence[MigrationFile],
    phase_of: Mapping[RepoPath, int],
    base: RevisionGraph,
    head: RevisionGraph,
) -> Rechained:
    """``migrations``: the branch's added revisions, in head's upgrade order."""
    position = {migration.revision: index for index, migration in enumerate(migrations)}
    order = sorted(
        (m for m in migrations if m.revision is not None),
        key=lambda m: (phase_of.get(m.path, 0), position[m.revision]),
    )

    def parents_of(revision: Revision) -> tuple[Revision, ...]:
        graph = head if revision in head else base
        if revision not in graph:
            return ()
        return tuple(p for p in graph.revision(revision).down_revisions if p in head or p in base)

    @cache
    def lineage(revision: Revision) -> frozenset[Revision]:
        """The revision and its down_revision ancestors (depends_on is no lineage)."""
        if revision not in head and revision not in base:
            return frozenset()
        seen = {revision}
        todo = [revision]
        while todo:  # iterative: histories are thousands of revisions deep
            for parent in parents_of(todo.pop()):
                if parent not in seen:
                    seen.add(parent)
                    todo.append(parent)
        return frozenset(seen)

    component = _components(head, base, parents_of)
    heads: list[Revision] = list(base.heads())
    parents: dict[Revision, tuple[Revision, ...]] = {}
    known: dict[Revision, frozenset[Revision]] = {}

    def history(revision: Revision) -> frozenset[Revision]:
        """Ancestry in the graph built so far (computed only when heads must be told apart)."""
        found = known.get(revision)
        if found is None:
            if revision in parents:
                found = frozenset({revision}).union(*(history(p) for p in parents[revision]))
            else:
                found = lineage(revision)
            known[revision] = found
        return found

    for migration in order:
        revision = migration.revision
        assert revision is not None
        chosen: list[Revision] = []
        originals = migration.down_revisions
        if not originals:
            # A new line of history, unless descendants of it were placed first
            # (a later phase holds the root): then it stacks on them.
            group = component.get(revision)
            related = [h for h in heads if component.get(h) == group and group is not None]
            chosen.extend(related[:1])
        for parent in originals:
            if parent not in head and parent not in base:
                chosen.append(parent)  # names no revision (SG003): left as written
                continue
            pick = (
                parent if parent in heads else _stand_in(parent, lineage, heads, history, component)
            )
            # Two parents on one line of history now: the merge keeps one of them.
            if pick is not None and pick not in chosen:
                chosen.append(pick)
        parents[revision] = tuple(chosen)
        consumed = [heads.index(parent) for parent in chosen if parent in heads]
        slot = min(consumed) if consumed else len(heads)
        heads = [h for h in heads if h not in chosen]
        heads.insert(min(slot, len(heads)), revision)
    return Rechained(tuple(order), parents)


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
