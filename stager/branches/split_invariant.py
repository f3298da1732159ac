"""The expand/contract invariant ``verify`` checks: R_e and R's contract part hold exactly R.

A mixed migration R split by the plan ships as a new expand revision R_e (a new
path) and R reduced to its contract part (R's path). Read from the last phase,
their upgrade operations, expand first, must be head's upgrade operations of R,
each part in head's order: anything else would run less (or more) than the
feature branch did. Where head wrote a contract operation before an expand one
(``drop_column`` then ``add_column``), the parts interleave into head's order
instead of following each other: the split never puts operations on one object
in both parts, so running the expand part first changes nothing of the result.
Their downgrades run the other way round, R's first and then R_e's, and must
together run exactly head's downgrade operations of R: each part in head's
order (the split moves whole operations, never reorders one part), the two
parts interleaved in head's text as the author wrote them.
Operations are compared by what they do (name, table, columns, literal SQL),
never by line numbers, which the split changes.

One exception, and only one: R_e may repeat a data statement of R's contract
part when the plan needs it early and it is provably idempotent (it changes
nothing the second time: ``UPDATE … WHERE c IS NULL``, ``ON CONFLICT DO
NOTHING``, ``WHERE NOT EXISTS``). Such repeats are left out of R_e's side before
comparing; anything else must still be head's operations exactly once, in order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from stager.migrations.compare import MigrationReport
from stager.migrations.ec_data import not_idempotent
from stager.migrations.parse import parse_migration
from stager.migrations.revision_files import Operation
from stager.plan.phase import DerivedKind, Phase
from stager.types import RepoPath, Sha

Shape = tuple[str, str | None, tuple[str, ...], str | None]
T = TypeVar("T")


def shape(operation: Operation) -> Shape:
    """What an operation does, without where it is written."""
    return (operation.name, operation.table, operation.columns, operation.sql)


def _of(operations: Sequence[Operation], function: str) -> list[Operation]:
    return [op for op in operations if op.function == function]


def _parsed(path: RepoPath, source: bytes) -> tuple[Operation, ...]:
    return parse_migration(path, Sha("0" * 40), source).operations


def without_repeats(expand: Sequence[Operation], contract: Sequence[Operation]) -> list[Operation]:
    """``expand`` less the data statements it repeats from ``contract``, provably idempotent ones.

    What stays must, followed by ``contract``, be head's operations of R.
    """
    again = {shape(op) for op in contract}
    return [op for op in expand if not (shape(op) in again and not not_idempotent(op))]


def describe_shapes(shapes: Sequence[Shape], limit: int | None = None) -> str:
    """``add_column(t.a), drop_table(u)``: operations as verify's messages name them
    (``limit``: the first ones, and how many more)."""
    shown = [
        f"{name}({table or ''}{'.' + ','.join(columns) if columns else ''})"
        for name, table, columns, _ in shapes
    ]
    if limit is not None and len(shown) > limit:
        shown = [*shown[:limit], f"and {len(shown) - limit} more"]
    return ", ".join(shown) or "none"


def interleaves(whole: Sequence[T], first: Sequence[T], second: Sequence[T]) -> bool:
    """Whether ``whole`` is ``first`` and ``second`` merged, each kept in its own order."""
    if len(whole) != len(first) + len(second):
        return False
    # reach[j]: whole[: i + j] can be made of first[:i] and second[:j] (row i of the table)
    reach = [True] * (len(second) + 1)
    for j in range(1, len(second) + 1):
        reach[j] = reach[j - 1] and second[j - 1] == whole[j - 1]
    for i in range(1, len(first) + 1):
        reach[0] = reach[0] and first[i - 1] == whole[i - 1]
        for j in range(1, len(second) + 1):
            reach[j] = (reach[j] and first[i - 1] == whole[i + j - 1]) or (
                reach[j - 1] and second[j - 1] == whole[i + j - 1]
            )
    return reach[-1]


def split_problems(
    phases: Sequence[Phase],
    head: MigrationReport,
    read: Callable[[RepoPath], bytes | None],
) -> list[str]:
    """Why the split revisions of ``phases`` do not hold exactly head's operations ([]: they do).

    ``read``: a path's bytes in the last phase (None: absent).
    """
    expands = {
        item.origin: item.path
        for phase in phases
        for item in phase.derived
        if item.kind is DerivedKind.EXPAND_REVISION
    }
    problems: list[str] = []
    for origin, expand_path in sorted(expands.items()):
        original = head.by_path.get(origin)
        expand_source, contract_source = read(expand_path), read(origin)
        if original is None or expand_source is None or contract_source is None:
            missing = expand_path if expand_source is None else origin
            problems.append(f"{origin}: split, but the last phase has no {missing}")
            continue
        expand_file, contract_file = (
            _parsed(expand_path, expand_source),
            _parsed(origin, contract_source),
        )
        wanted = [shape(op) for op in _of(original.operations, "upgrade")]
        expand, contract = _of(expand_file, "upgrade"), _of(contract_file, "upgrade")
        if [shape(op) for op in (*expand, *contract)] != wanted:
            # R_e may repeat the contract part's idempotent data statements
            expand = without_repeats(expand, contract)
        expand_shapes, contract_shapes = (
            [shape(op) for op in expand],
            [shape(op) for op in contract],
        )
        if not interleaves(wanted, expand_shapes, contract_shapes):
            problems.append(
                f"{origin}: its expand revision ({expand_path}) and contract part run "
                f"{describe_shapes(expand_shapes + contract_shapes)}; head's revision runs "
                f"{describe_shapes(wanted)}"
            )
        # Downgrading past R runs R's downgrade first, then R_e's.
        undo = [shape(op) for op in _of(original.operations, "downgrade")]
        contract_undo = [shape(op) for op in _of(contract_file, "downgrade")]
        expand_undo = [shape(op) for op in _of(expand_file, "downgrade")]
        if not interleaves(undo, contract_undo, expand_undo):
            problems.append(
                f"{origin}: downgraded, its contract part then its expand revision "
                f"({expand_path}) run {describe_shapes(contract_undo + expand_undo)}; "
                f"head's revision runs {describe_shapes(undo)}"
            )
    return problems
