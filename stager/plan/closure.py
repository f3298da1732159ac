"""Dependency closure: every file in the same phase as what it needs, or a later one.

A file the rules put too early moves to the earliest phase its dependencies
allow (never earlier than asked), and the edge that forced the move is kept
to explain it. Files that need each other (a cycle) share a phase. A strict
edge (a drop after the code that stops using what it drops) that cannot be
strict — inside a cycle, or with no later phase left — is relaxed to "same
phase" and reported: that migration needs an expand/contract split.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from stager.plan.phase import Dependency
from stager.types import RepoPath

CYCLE = "cycle"
NO_LATER_PHASE = "no-later-phase"


@dataclass(frozen=True)
class Relaxed:
    """A strict edge the plan could only honour as "same phase"."""

    dependency: Dependency
    why: str  # CYCLE or NO_LATER_PHASE
    phase: int


@dataclass(frozen=True)
class Closure:
    final: Mapping[RepoPath, int]
    forced: Mapping[RepoPath, Dependency]  # moved files: the edge that moved them
    relaxed: tuple[Relaxed, ...]


def usable(edges: Sequence[Dependency], nodes: Mapping[RepoPath, int]) -> list[Dependency]:
    """Edges between two distinct planned files, deduplicated, in a stable order.

    Of several edges between the same two files the first kind (see
    DependencyKind) explains the pair; a strict one wins over a plain one.
    """
    chosen: dict[tuple[RepoPath, RepoPath], Dependency] = {}
    for edge in sorted(edges, key=Dependency.sort_key):
        if edge.dependent == edge.dependency:
            continue
        if edge.dependent not in nodes or edge.dependency not in nodes:
            continue
        key = (edge.dependent, edge.dependency)
        kept = chosen.get(key)
        if kept is None or (edge.strict and not kept.strict):
            chosen[key] = edge
    return sorted(chosen.values(), key=Dependency.sort_key)


def _components(nodes: Sequence[RepoPath], edges: Sequence[Dependency]) -> list[list[RepoPath]]:
    """Strongly connected components, dependencies before dependents, deterministic.

    Plain Python (Tarjan, then Kahn with a heap on each component's first path)
    rather than networkx: importing networkx costs ~100 ms, more than the whole
    closure, on the path `analyze --format json` takes.
    """
    needs: dict[RepoPath, list[RepoPath]] = {node: [] for node in nodes}
    for edge in edges:
        needs[edge.dependent].append(edge.dependency)
    component_of, members = _strongly_connected(nodes, needs)
    # Condensation: an edge from a dependent's component to its dependency's.
    indegree = [0] * len(members)
    successors: list[set[int]] = [set() for _ in members]
    for node, targets in needs.items():
        for target in targets:
            source, sink = component_of[node], component_of[target]
            if source != sink and sink not in successors[source]:
                successors[source].add(sink)
                indegree[sink] += 1
    ready = [(members[index][0], index) for index, count in enumerate(indegree) if count == 0]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        _, index = heapq.heappop(ready)
        order.append(index)
        for sink in successors[index]:
            indegree[sink] -= 1
            if indegree[sink] == 0:
                heapq.heappush(ready, (members[sink][0], sink))
    # Edges point from a dependent to what it needs: settle what is needed first.
    return [members[index] for index in reversed(order)]


def _strongly_connected(
    nodes: Sequence[RepoPath], needs: Mapping[RepoPath, list[RepoPath]]
) -> tuple[dict[RepoPath, int], list[list[RepoPath]]]:
    """Tarjan's algorithm, iterative (no recursion limit on long chains)."""
    index_of: dict[RepoPath, int] = {}
    low: dict[RepoPath, int] = {}
    stack: list[RepoPath] = []
    on_stack: set[RepoPath] = set()
    component_of: dict[RepoPath, int] = {}
    members: list[list[RepoPath]] = []
    for root in nodes:
        if root in index_of:
            continue
        work = [(root, iter(needs[root]))]
        index_of[root] = low[root] = len(index_of)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, targets = work[-1]
            advanced = False
            for target in targets:
                if target not in index_of:
                    index_of[target] = low[target] = len(index_of)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(needs[target])))
                    advanced = True
                    break
                if target in on_stack:
                    low[node] = min(low[node], index_of[target])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index_of[node]:
                component: list[RepoPath] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component_of[member] = len(members)
                    component.append(member)
                    if member == node:
                        break
                members.append(sorted(component))
    return component_of, members


def close(asked: Mapping[RepoPath, int], edges: Sequence[Dependency], last: int) -> Closure:
    """Final phase of every file in ``asked`` (phases 1..``last``)."""
    kept = usable(edges, asked)
    outgoing: dict[RepoPath, list[Dependency]] = defaultdict(list)
    for edge in kept:
        outgoing[edge.dependent].append(edge)
    # Files without any edge stay where they were asked: only the others need the graph.
    final: dict[RepoPath, int] = dict(asked)
    relaxed: list[Relaxed] = []
    loose: set[Dependency] = set()  # strict edges honoured as "same phase"
    linked = sorted({path for edge in kept for path in (edge.dependent, edge.dependency)})
    for component in _components(linked, kept):
        inside = set(component)
        phase = max(asked[node] for node in component)
        for node in component:
            for edge in outgoing[node]:
                if edge.dependency in inside:
                    if edge.strict:
                        loose.add(edge)
                    continue
                need = final[edge.dependency] + (1 if edge.strict else 0)
                if need > last:
                    loose.add(edge)
                    need = final[edge.dependency]
                phase = max(phase, need)
        for node in component:
            final[node] = phase
            for edge in outgoing[node]:
                if edge in loose:
                    why = CYCLE if edge.dependency in inside else NO_LATER_PHASE
                    relaxed.append(Relaxed(edge, why, phase))
    forced: dict[RepoPath, Dependency] = {}
    for node in linked:
        if final[node] == asked[node]:
            continue
        forced[node] = next(
            (
                edge
                for edge in outgoing[node]
                if final[edge.dependency] + (1 if edge.strict and edge not in loose else 0)
                == final[node]
            ),
            outgoing[node][0],
        )
    return Closure(final, forced, tuple(relaxed))
