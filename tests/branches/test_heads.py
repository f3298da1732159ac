"""The Alembic checks of a split, on in-memory revision graphs."""

from __future__ import annotations

import pytest

from stager.branches.heads import check_graph, onto_parents
from stager.errors import StagerError
from stager.migrations.graph import RevisionGraph
from stager.migrations.parse import parse_migration
from stager.types import RepoPath, Sha


def graph(*edges: tuple[str, tuple[str, ...]]) -> RevisionGraph:
    files = []
    for revision, parents in edges:
        down = repr(parents[0]) if len(parents) == 1 else repr(parents) if parents else "None"
        source = f"revision = {revision!r}\ndown_revision = {down}\n".encode()
        files.append(parse_migration(RepoPath(f"v/{revision}.py"), Sha("0" * 40), source))
    return RevisionGraph.build(files)


BASE = graph(("a", ()), ("b", ("a",)))


def test_a_linear_phase_passes() -> None:
    phase = graph(("a", ()), ("b", ("a",)), ("c", ("b",)))
    assert check_graph(phase, BASE, BASE).ok


def test_two_heads_dangling_cycle_and_changed_parent() -> None:
    two_heads = check_graph(graph(("a", ()), ("b", ("a",)), ("c", ("a",))), BASE, BASE)
    assert two_heads.problems == ("2 Alembic heads (b, c) where the base has 1 (b)",)
    dangling = check_graph(graph(("a", ()), ("b", ("a",)), ("c", ("x",))), BASE, BASE)
    assert any("down_revision x is not in this phase" in p for p in dangling.problems)
    cycle = check_graph(graph(("a", ()), ("b", ("a", "d")), ("d", ("b",))), BASE, BASE)
    assert any("cycle" in p for p in cycle.problems)
    previous = graph(("a", ()), ("b", ("a",)), ("c", ("b",)))
    restored = check_graph(
        graph(("a", ()), ("b", ("a",)), ("c", ("a",)), ("d", ("c",))), BASE, previous
    )
    assert any(
        "c (v/c.py): down_revision b in the previous phase, a here" in p for p in restored.problems
    )


def test_onto_parents_maps_the_old_head_to_the_refs_head() -> None:
    ref = graph(("a", ()), ("b", ("a",)), ("m", ("b",)))
    assert onto_parents(BASE, ref, "main") == {"b": "m"}
    assert onto_parents(BASE, BASE, "main") == {}
    forked = graph(("a", ()), ("b", ("a",)), ("m", ("b",)), ("n", ("b",)))
    with pytest.raises(StagerError, match="main has 2 Alembic heads after b"):
        onto_parents(BASE, forked, "main")


def test_onto_parents_leaves_the_branchs_own_revisions_on_ref_alone() -> None:
    branch = graph(("a", ()), ("b", ("a",)), ("c", ("b",)), ("d", ("c",)))
    merged = graph(("a", ()), ("b", ("a",)), ("c", ("b",)))  # phase 1 (c) merged
    assert onto_parents(BASE, merged, "main", branch) == {}
    # REF built on the merged revision: the branch's d follows REF's head
    built_on = graph(("a", ()), ("b", ("a",)), ("c", ("b",)), ("x", ("c",)))
    assert onto_parents(BASE, built_on, "main", branch) == {"b": "x", "c": "x"}
