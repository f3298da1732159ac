"""The closure on its own: moves, strict edges, cycles, the last phase."""

from __future__ import annotations

from stager.plan.closure import CYCLE, NO_LATER_PHASE, close, usable
from stager.plan.phase import Dependency, DependencyKind
from stager.types import RepoPath


def edge(dependent: str, dependency: str, *, strict: bool = False) -> Dependency:
    return Dependency(
        RepoPath(dependent), RepoPath(dependency), DependencyKind.IMPORT, "needs", strict=strict
    )


def paths(asked: dict[str, int]) -> dict[RepoPath, int]:
    return {RepoPath(path): phase for path, phase in asked.items()}


def test_a_file_moves_to_its_dependency_and_the_edge_says_why() -> None:
    needs = edge("a", "b")
    result = close(paths({"a": 1, "b": 3, "c": 1}), [needs], last=4)
    assert result.final == {"a": 3, "b": 3, "c": 1}
    assert result.forced == {"a": needs}
    assert result.relaxed == ()


def test_moves_are_transitive_and_never_earlier_than_asked() -> None:
    result = close(paths({"a": 1, "b": 2, "c": 3, "d": 4}), [edge("a", "b"), edge("b", "c")], 4)
    assert result.final == {"a": 3, "b": 3, "c": 3, "d": 4}
    assert result.forced[RepoPath("a")].dependency == "b"


def test_strict_edge_means_a_strictly_later_phase() -> None:
    result = close(paths({"drop": 2, "code": 3}), [edge("drop", "code", strict=True)], last=4)
    assert result.final[RepoPath("drop")] == 4


def test_strict_edge_with_no_later_phase_is_relaxed_and_reported() -> None:
    drop = edge("drop", "code", strict=True)
    result = close(paths({"drop": 2, "code": 3}), [drop], last=3)
    assert result.final[RepoPath("drop")] == 3
    assert [(r.dependency, r.why, r.phase) for r in result.relaxed] == [(drop, NO_LATER_PHASE, 3)]


def test_a_cycle_shares_one_phase_and_relaxes_its_strict_edge() -> None:
    drop = edge("drop", "code", strict=True)
    result = close(paths({"drop": 4, "code": 3}), [drop, edge("code", "drop")], last=4)
    assert result.final == {"drop": 4, "code": 4}
    assert [r.why for r in result.relaxed] == [CYCLE]
    assert result.forced[RepoPath("code")].dependency == "drop"


def test_usable_keeps_one_edge_per_pair_preferring_strict_and_known_files() -> None:
    plain = edge("a", "b")
    strict = edge("a", "b", strict=True)
    unknown = edge("a", "zzz")
    assert usable([plain, strict, unknown, edge("a", "a")], paths({"a": 1, "b": 1})) == [strict]
