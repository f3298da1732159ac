"""The expand/contract invariant ``verify`` checks: R_e and R's contract part hold exactly R.

A mixed migration R split by the plan ships as a new expand revision R_e (a new
path) and R reduced to its contract part (R's path). Read from the last phase,
their upgrade operations, expand first, must be head's upgrade operations of R
in order: anything else would run less (or more) than the feature branch did.
Operations are compared by what they do (name, table, columns, literal SQL),
never by line numbers, which the split changes.

One exception, and only one: a data statement the plan needs before the
contract runs in R_e too (``ExpandContract.repeated``). It is allowed in R_e
only when the contract part runs the same statement and stager can prove it
idempotent (:func:`~stager.migrations.ec_data.not_idempotent`); every other
operation R_e and R's contract part hold must be head's, exactly once, in
order (:func:`without_repeats`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from stager.migrations.compare import MigrationReport
from stager.migrations.ec_data import not_idempotent
from stager.migrations.parse import parse_migration
from stager.migrations.revision_files import Operation
from stager.plan.phase import DerivedKind, Phase
from stager.types import RepoPath, Sha

_Shape = tuple[str, str | None, tuple[str, ...], str | None]


def _shape(operation: Operation) -> _Shape:
    return (operation.name, operation.table, operation.columns, operation.sql)


def _upgrade(path: RepoPath, source: bytes) -> list[_Shape]:
    parsed = parse_migration(path, Sha("0" * 40), source)
    return [_shape(op) for op in parsed.operations if op.function == "upgrade"]


def without_repeats(expand: Sequence[Operation], contract: Sequence[Operation]) -> list[Operation]:
    """``expand`` less the data statements it repeats from ``contract``, provably idempotent ones.

    What stays must, followed by ``contract``, be head's operations of R.
    """
    again = {_shape(op) for op in contract}
    return [op for op in expand if not (_shape(op) in again and not not_idempotent(op))]


def _split_upgrade(
    expand_path: RepoPath, expand_source: bytes, path: RepoPath, contract_source: bytes
) -> list[_Shape]:
    """The upgrade operations of R_e then R's contract part, R_e's allowed repeats left out."""
    expand, contract = (
        [
            op
            for op in parse_migration(p, Sha("0" * 40), source).operations
            if op.function == "upgrade"
        ]
        for p, source in ((expand_path, expand_source), (path, contract_source))
    )
    return [_shape(op) for op in (*without_repeats(expand, contract), *contract)]


def _describe(shapes: Sequence[_Shape]) -> str:
    shown = [
        f"{name}({table or ''}{'.' + ','.join(columns) if columns else ''})"
        for name, table, columns, _ in shapes
    ]
    return ", ".join(shown) or "none"


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
        wanted = [_shape(op) for op in original.operations if op.function == "upgrade"]
        found = _upgrade(expand_path, expand_source) + _upgrade(origin, contract_source)
        if found != wanted:  # R_e may repeat the contract part's idempotent data statements
            found = _split_upgrade(expand_path, expand_source, origin, contract_source)
        if found != wanted:
            problems.append(
                f"{origin}: its expand revision ({expand_path}) and contract part run "
                f"{_describe(found)}; head's revision runs {_describe(wanted)}"
            )
    return problems
