"""The history invariant on hand-made histories: which revisions re-chaining makes exceptions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from stager.branches.history_invariant import Divergence, Step, divergences
from stager.branches.split_invariant import Shape, interleaves
from stager.types import Revision

BASE = {Revision("h")}


def op(name: str, column: str) -> Shape:
    return (name, "t", (column,), None)


def step(*parents: str, ops: tuple[Shape, ...] = ()) -> Step:
    return Step(tuple(Revision(p) for p in parents), ops)


ADD_A, DROP_B, ADD_C = op("add_column", "a"), op("drop_column", "b"), op("add_column", "c")


def ids(found: Sequence[Divergence]) -> list[str]:
    return [d.revision for d in found]


def rev(steps: Mapping[str, Step]) -> dict[Revision, Step]:
    return {Revision(name): value for name, value in steps.items()}


def test_the_same_chain_has_no_exception() -> None:
    history = {"a": step("h", ops=(ADD_A,)), "b": step("a", ops=(DROP_B,))}
    assert divergences(rev(history), rev(history), BASE) == ()


def test_a_phase_that_puts_a_child_before_its_parent_makes_both_exceptions() -> None:
    """Branch h <- a <- b; the phases run b first (h <- b <- a)."""
    feature = {"a": step("h", ops=(DROP_B,)), "b": step("a", ops=(ADD_A,))}
    phased = {"b": step("h", ops=(ADD_A,)), "a": step("b", ops=(DROP_B,))}
    found = divergences(rev(feature), rev(phased), BASE)
    by_id = {str(d.revision): d for d in found}
    assert ids(found) == ["a", "b"]
    # At a, the phases take b's add as run: a database at a never ran it.
    assert (by_id["a"].skipped, by_id["a"].repeated) == ((ADD_A,), ())
    # At b, the phases have not run a's drop: they would run it again.
    assert (by_id["b"].skipped, by_id["b"].repeated) == ((), (DROP_B,))
    assert by_id["b"].describe() == (
        "b: up to it, the phases have not applied drop_column(t.b), which the feature branch has"
    )


def test_two_revisions_off_the_merge_base_re_chained_linearly() -> None:
    """h <- a, h <- b, merged by m; the phases chain h <- a <- b <- m: only b moves."""
    feature = {
        "a": step("h", ops=(ADD_A,)),
        "b": step("h", ops=(ADD_C,)),
        "m": step("a", "b"),
    }
    phased = {"a": step("h", ops=(ADD_A,)), "b": step("a", ops=(ADD_C,)), "m": step("b")}
    found = divergences(rev(feature), rev(phased), BASE)
    assert ids(found) == ["b"]
    assert found[0].skipped == (ADD_A,)


def test_an_expand_revision_counts_as_part_of_its_original() -> None:
    feature = {"r": step("h", ops=(ADD_A, DROP_B))}
    phased = {"r_e": step("h", ops=(ADD_A,)), "r": step("r_e", ops=(DROP_B,))}
    assert divergences(rev(feature), rev(phased), BASE) == ()


def test_a_revision_placed_between_the_expand_and_the_contract_is_an_exception() -> None:
    """Branch h <- r <- x; the phases: h <- r_e <- x <- r."""
    feature = {"r": step("h", ops=(ADD_A, DROP_B)), "x": step("r", ops=(ADD_C,))}
    phased = {
        "r_e": step("h", ops=(ADD_A,)),
        "x": step("r_e", ops=(ADD_C,)),
        "r": step("x", ops=(DROP_B,)),
    }
    found = divergences(rev(feature), rev(phased), BASE)
    assert ids(found) == ["r", "x"]
    assert found[0].skipped == (ADD_C,)
    assert found[1].repeated == (DROP_B,)


def test_a_revision_the_branch_never_had_counts_as_not_run() -> None:
    """--onto REF: the branch's first revision now stacks on REF's own revision t."""
    feature = {"a": step("h", ops=(ADD_A,))}
    phased = {"a": step("t", ops=(ADD_A,))}
    (found,) = divergences(rev(feature), rev(phased), BASE)
    assert found.skipped == (("revision t", None, (), None),)


def test_a_revision_no_phase_adds_is_an_exception() -> None:
    feature = {"a": step("h", ops=(ADD_A,))}
    (found,) = divergences(rev(feature), rev({}), BASE)
    assert found.missing
    assert found.describe() == "a: no phase adds it"


def test_a_cycle_ends_the_walk() -> None:
    history = {"a": step("b", ops=(ADD_A,)), "b": step("a", ops=(ADD_A,))}
    assert divergences(rev(history), rev(history), BASE) == ()
    found = divergences(rev(history), rev({"a": step("h", ops=(ADD_A,))}), BASE)
    assert ids(found) == ["a", "b"]
    assert found[0].repeated == (ADD_A,) and found[1].missing


def test_an_operation_written_twice_counts_twice() -> None:
    feature = {"a": step("h", ops=(ADD_A,)), "b": step("a", ops=(ADD_A,))}
    phased = {"a": step("h", ops=(ADD_A,)), "b": step("a", ops=())}
    (found,) = divergences(rev(feature), rev(phased), BASE)
    assert (found.revision, found.repeated) == ("b", (ADD_A,))


def test_interleaves_keeps_each_part_in_its_order() -> None:
    x, y, z = ADD_A, DROP_B, ADD_C
    assert interleaves([x, y, z], [x, z], [y])
    assert interleaves([x, y, z], [x, y, z], [])
    assert not interleaves([x, y, z], [z, x], [y])
    assert not interleaves([x, y], [x], [z])
    assert not interleaves([x, y], [x, y], [y])


def test_a_long_list_of_operations_is_cut_short() -> None:
    many = tuple(op("add_column", f"c{n}") for n in range(8))
    feature = {"a": step("h", ops=many)}
    (found,) = divergences(rev(feature), rev({"a": step("h")}), BASE)
    assert found.describe().endswith("add_column(t.c4), and 3 more, which the feature branch has")
