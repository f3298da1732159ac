"""The coarse kind of a migration (additive, data, destructive …) from its operations."""

from __future__ import annotations

from collections.abc import Iterable

from stager.migrations.actions import Action, Effect, operation_effect, strongest
from stager.migrations.revision_files import Operation
from stager.types import MigrationKind

# A migration is as risky as its riskiest operation; both scales run mildest first.
_KINDS = {
    Effect.NONE: MigrationKind.EMPTY,
    Effect.ADDITIVE: MigrationKind.ADDITIVE,
    Effect.REFERENCE_DATA: MigrationKind.REFERENCE_DATA,
    Effect.DATA: MigrationKind.DATA,
    # A rename breaks the code still running (it reads the old name) as a drop does.
    Effect.RENAME: MigrationKind.DESTRUCTIVE,
    Effect.DROP: MigrationKind.DESTRUCTIVE,
}


def classify_kind(operations: Iterable[Operation]) -> MigrationKind:
    """The coarse kind of a migration, from its ``upgrade()`` operations only."""
    upgrade = (op for op in operations if op.function == "upgrade")
    return _KINDS[strongest(operation_effect(op) for op in upgrade)]


def actions_kind(actions: Iterable[Action]) -> MigrationKind:
    """The kind of a plain SQL migration from its statements' actions (upgrade only)."""
    return _KINDS[strongest(action.effect for action in actions if action.function == "upgrade")]
