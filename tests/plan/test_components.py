"""The closure's component order equals networkx's condensation order (which it replaces)."""

from __future__ import annotations

import networkx as nx
from hypothesis import given, settings
from hypothesis import strategies as st

from stager.plan.closure import _components
from stager.plan.phase import Dependency, DependencyKind
from stager.types import RepoPath
from tests.examples import examples

NAMES = [RepoPath(f"f{n:02d}.py") for n in range(12)]


def networkx_components(
    nodes: list[RepoPath], pairs: list[tuple[RepoPath, RepoPath]]
) -> list[list[RepoPath]]:
    graph = nx.DiGraph()
    graph.add_nodes_from(nodes)
    graph.add_edges_from(pairs)
    condensed = nx.condensation(graph)
    members = {index: sorted(condensed.nodes[index]["members"]) for index in condensed.nodes}
    order = list(nx.lexicographical_topological_sort(condensed, key=lambda i: members[i][0]))
    return [members[index] for index in reversed(order)]


@settings(max_examples=examples(300), deadline=None)
@given(
    st.lists(st.sampled_from(NAMES), min_size=1, max_size=12, unique=True),
    st.lists(st.tuples(st.integers(0, 11), st.integers(0, 11)), max_size=30),
)
def test_same_order_as_networkx(nodes: list[RepoPath], raw: list[tuple[int, int]]) -> None:
    pairs = [(nodes[a % len(nodes)], nodes[b % len(nodes)]) for a, b in raw]
    edges = [
        Dependency(dependent, dependency, DependencyKind.IMPORT, "imports it")
        for dependent, dependency in pairs
    ]
    assert _components(nodes, edges) == networkx_components(nodes, pairs)
