"""The Alembic revision graph of one tree, as a networkx DiGraph.

The DiGraph is built on first use (``RevisionGraph.graph``): importing networkx
costs ~110 ms, twice git's own diff of a large branch, and the questions
``analyze`` asks (heads, bases, upgrade order, is there a cycle) are answered
from the same adjacency without it. Algorithms that need more (cycle
components, the planner's closures) use the DiGraph.

Nodes are revision ids; an edge parent → child with ``kind="down_revision"``
for each ``down_revision`` and ``kind="depends_on"`` for each ``depends_on``
(which orders upgrades but never makes or unmakes a head, as in alembic).
The order migrations are given in is alembic's load order
(:func:`stager.migrations.discovery.migration_entries` yields it); heads,
bases and the upgrade order follow alembic's own rules for it.
"""

from __future__ import annotations

import graphlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from stager.migrations.revision_files import MigrationFile
from stager.types import Revision

DOWN_REVISION = "down_revision"
DEPENDS_ON = "depends_on"


@dataclass(frozen=True)
class Dangling:
    """A ``down_revision`` or ``depends_on`` of ``migration`` naming no revision."""

    migration: MigrationFile
    target: Revision
    field: str  # DOWN_REVISION or DEPENDS_ON


@dataclass(frozen=True)
class Duplicate:
    """One revision id defined by several files (the first in load order is in the graph)."""

    revision: Revision
    migrations: tuple[MigrationFile, ...]


def _reachable(
    start: Revision, neighbours: Mapping[Revision, Sequence[Revision]]
) -> frozenset[Revision]:
    """Revisions reachable from ``start`` (excluded) through ``neighbours``."""
    seen: set[Revision] = set()
    todo = list(neighbours.get(start, ()))
    while todo:
        current = todo.pop()
        if current not in seen:
            seen.add(current)
            todo.extend(neighbours.get(current, ()))
    seen.discard(start)
    return frozenset(seen)


def _adjacency(pairs: Iterable[tuple[Revision, Revision]]) -> dict[Revision, list[Revision]]:
    found: dict[Revision, list[Revision]] = {}
    for source, target in pairs:
        found.setdefault(source, []).append(target)
    return found


def _dedupe(items: Iterable[Revision]) -> tuple[Revision, ...]:
    return tuple(dict.fromkeys(items))


@dataclass(frozen=True, eq=False)
class RevisionGraph:
    """Revisions of one tree; build it with :meth:`RevisionGraph.build`."""

    files: dict[Revision, MigrationFile]  # in load order
    edges: tuple[tuple[Revision, Revision, str], ...]  # (parent, child, DOWN_REVISION|DEPENDS_ON)
    unidentified: tuple[MigrationFile, ...]  # files without a readable revision id
    _dangling: tuple[Dangling, ...]
    _duplicates: tuple[Duplicate, ...]
    _dependencies: dict[Revision, tuple[Revision, ...]]  # depends_on, labels resolved

    @classmethod
    def build(cls, migrations: Iterable[MigrationFile]) -> RevisionGraph:
        """The graph of ``migrations``, given in alembic's load order."""
        edges: dict[tuple[Revision, Revision], str] = {}
        files: dict[Revision, MigrationFile] = {}
        repeats: dict[Revision, list[MigrationFile]] = {}
        unidentified: list[MigrationFile] = []
        for migration in migrations:
            revision = migration.revision
            if revision is None:
                unidentified.append(migration)
            elif revision in files:
                repeats.setdefault(revision, [files[revision]]).append(migration)
            else:
                files[revision] = migration

        labels: dict[str, Revision] = {}
        for revision, migration in files.items():
            for label in migration.branch_labels:
                labels.setdefault(label, revision)

        dangling: list[Dangling] = []
        dependencies: dict[Revision, tuple[Revision, ...]] = {}
        for revision, migration in files.items():
            for parent in migration.down_revisions:
                if parent in files:
                    edges[parent, revision] = DOWN_REVISION
                else:
                    dangling.append(Dangling(migration, parent, DOWN_REVISION))
            resolved: list[Revision] = []
            for dependency in migration.depends_on:
                # alembic resolves depends_on through branch labels too.
                target = dependency if dependency in files else labels.get(dependency)
                if target is None:
                    dangling.append(Dangling(migration, dependency, DEPENDS_ON))
                    continue
                resolved.append(target)
                edges.setdefault((target, revision), DEPENDS_ON)
            if resolved:
                dependencies[revision] = _dedupe(resolved)

        duplicates = tuple(Duplicate(revision, tuple(found)) for revision, found in repeats.items())
        edge_list = tuple((parent, child, kind) for (parent, child), kind in edges.items())
        return cls(files, edge_list, tuple(unidentified), tuple(dangling), duplicates, dependencies)

    @cached_property
    def graph(self) -> Any:  # networkx.DiGraph; networkx ships no type hints
        """The networkx DiGraph: nodes are revisions (with ``path``), edges parent → child."""
        import networkx as nx

        graph = nx.DiGraph()
        for revision, migration in self.files.items():
            graph.add_node(revision, path=migration.path)
        for parent, child, kind in self.edges:
            graph.add_edge(parent, child, kind=kind)
        return graph

    @cached_property
    def _acyclic(self) -> bool:
        """True when every revision can be ordered (graphlib: no networkx import)."""
        try:
            graphlib.TopologicalSorter(self._parents_of).prepare()
        except graphlib.CycleError:
            return False
        return True

    def __len__(self) -> int:
        return len(self.files)

    def __contains__(self, revision: object) -> bool:
        return revision in self.files

    def __iter__(self) -> Iterator[MigrationFile]:
        return iter(self.files.values())

    def revision(self, revision: Revision) -> MigrationFile:
        """The file defining ``revision``; KeyError when there is none."""
        return self.files[revision]

    def _parents(self, revision: Revision) -> tuple[Revision, ...]:
        return tuple(p for p in self.files[revision].down_revisions if p in self.files)

    @cached_property
    def _versioned_children(self) -> frozenset[Revision]:
        return frozenset(parent for revision in self.files for parent in self._parents(revision))

    def heads(self) -> tuple[Revision, ...]:
        """Revisions no ``down_revision`` points to, in load order (alembic's ``get_heads``)."""
        children = self._versioned_children
        return tuple(revision for revision in self.files if revision not in children)

    def bases(self) -> tuple[Revision, ...]:
        """Revisions with no ``down_revision``, in load order (alembic's ``get_bases``)."""
        return tuple(
            revision for revision, migration in self.files.items() if not migration.down_revisions
        )

    def ancestors(self, revision: Revision) -> frozenset[Revision]:
        """Every revision that must run before ``revision`` (down_revision and depends_on)."""
        return _reachable(revision, self._parents_of)

    def descendants(self, revision: Revision) -> frozenset[Revision]:
        """Every revision that runs after ``revision`` and needs it."""
        return _reachable(revision, self._children_of)

    @cached_property
    def _parents_of(self) -> dict[Revision, list[Revision]]:
        return _adjacency((child, parent) for parent, child, _kind in self.edges)

    @cached_property
    def _children_of(self) -> dict[Revision, list[Revision]]:
        return _adjacency((parent, child) for parent, child, _kind in self.edges)

    def cycles(self) -> list[tuple[Revision, ...]]:
        """Groups of revisions that (transitively) require each other, each in load order."""
        if self._acyclic:
            return []
        import networkx as nx

        position = {revision: index for index, revision in enumerate(self.files)}
        self_loops = set(nx.nodes_with_selfloops(self.graph))
        found = [
            tuple(sorted(component, key=position.__getitem__))
            for component in nx.strongly_connected_components(self.graph)
            if len(component) > 1 or component & self_loops
        ]
        return sorted(found, key=lambda cycle: position[cycle[0]])

    def dangling(self) -> tuple[Dangling, ...]:
        return self._dangling

    def duplicates(self) -> tuple[Duplicate, ...]:
        return self._duplicates

    def upgrade_order(self) -> tuple[Revision, ...]:
        """Every revision, in the order ``alembic upgrade heads`` runs them.

        This is alembic's ``walk_revisions()`` reversed, computed with its own
        algorithm so ties between branches fall the same way. A graph alembic
        refuses (cycles) gets a plain deterministic order instead.
        """
        return self._upgrade_order

    def in_upgrade_order(self, migrations: Iterable[MigrationFile]) -> tuple[MigrationFile, ...]:
        """``migrations`` in upgrade order; those not in the graph last, by path."""
        position = {revision: index for index, revision in enumerate(self.upgrade_order())}
        end = len(position)
        return tuple(
            sorted(
                migrations,
                key=lambda m: (position.get(m.revision, end) if m.revision else end, m.path),
            )
        )

    @cached_property
    def _upgrade_order(self) -> tuple[Revision, ...]:
        if self.cycles():
            return tuple(self.files)
        walked = _AlembicWalk(self).run()
        if walked is None:
            import networkx as nx

            position = {revision: index for index, revision in enumerate(self.files)}
            return tuple(nx.lexicographical_topological_sort(self.graph, key=position.__getitem__))
        return tuple(reversed(walked))


class _AlembicWalk:
    """alembic.script.revision.RevisionMap._topological_sort for ``walk_revisions()``.

    Kept in alembic's structure on purpose: the point is to visit branches in
    exactly the order alembic does.
    """

    def __init__(self, graph: RevisionGraph) -> None:
        self.graph = graph
        self.parents = {revision: graph._parents(revision) for revision in graph.files}
        self.normalized_dependencies = {
            revision: self._normalized_dependencies(revision) for revision in graph._dependencies
        }
        self.normalized_down = {
            revision: _dedupe(
                (*self.parents[revision], *self.normalized_dependencies.get(revision, ()))
            )
            for revision in graph.files
        }

    def _normalized_dependencies(self, revision: Revision) -> tuple[Revision, ...]:
        """depends_on minus what an ancestor already depends on (alembic: _normalize_depends_on)."""
        resolved = self.graph._dependencies.get(revision, ())
        if not resolved:
            return ()
        inherited: set[Revision] = set()
        for ancestor in _reachable(revision, self.parents):
            inherited.update(self.graph._dependencies.get(ancestor, ()))
        # alembic keeps these in a set (its order varies between runs); stager
        # keeps the order they are written in, to be deterministic.
        return tuple(dependency for dependency in resolved if dependency not in inherited)

    def ancestors(self, revision: Revision) -> set[Revision]:
        return {revision, *_reachable(revision, self.normalized_down)}

    def run(self) -> list[Revision] | None:
        """Revisions heads first (``walk_revisions`` order); None if the walk does not finish."""
        todo = set(self.graph.files)
        # walk_revisions() starts from alembic's "real" heads: revisions that
        # nothing needs, through down_revision or depends_on.
        needed = {parent for parents in self.normalized_down.values() for parent in parents}
        needed.update(d for deps in self.graph._dependencies.values() for d in deps)
        current_heads = [revision for revision in self.graph.files if revision not in needed]
        ancestors_by_index = [self.ancestors(head) for head in current_heads]
        output: list[Revision] = []
        candidate_index = 0
        budget = 4 * (len(todo) + 1) ** 2
        while current_heads:
            budget -= 1
            if budget < 0:
                return None
            candidate = current_heads[candidate_index]
            for check_index, ancestors in enumerate(ancestors_by_index):
                if check_index != candidate_index and candidate in ancestors:
                    # another head needs this revision: walk that head first
                    candidate_index = check_index
                    break
            else:
                if candidate in todo:
                    output.append(candidate)
                    todo.remove(candidate)
                heads_to_add = [
                    revision
                    for revision in self.normalized_down[candidate]
                    if revision in todo and revision not in current_heads
                ]
                if not heads_to_add:
                    del current_heads[candidate_index]
                    del ancestors_by_index[candidate_index]
                    candidate_index = max(candidate_index - 1, 0)
                elif (
                    not self.normalized_dependencies.get(candidate)
                    and len(self.parents[candidate]) == 1
                ):
                    current_heads[candidate_index] = heads_to_add[0]
                    ancestors_by_index[candidate_index].discard(candidate)
                else:
                    current_heads[candidate_index] = heads_to_add[0]
                    current_heads.extend(heads_to_add[1:])
                    ancestors_by_index[candidate_index] = self.ancestors(heads_to_add[0])
                    ancestors_by_index.extend(self.ancestors(head) for head in heads_to_add[1:])
        return output if not todo else None
