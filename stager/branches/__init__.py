"""Phase branches: trees, commits, strategies, backups (``stager split``).

``split_branch`` builds them; ``undo_last_split`` puts back what the last run
changed. See docs/split.md.
"""

from stager.branches.record import SplitRecord, built_record, read_record
from stager.branches.refs import UndoResult, undo_last_split
from stager.branches.split import independent_problem, split_branch
from stager.branches.split_types import (
    BuildStatus,
    BuiltCommit,
    BuiltPhase,
    Layout,
    Rewrite,
    SplitOptions,
    SplitResult,
    Strategy,
)

__all__ = [
    "BuildStatus",
    "BuiltCommit",
    "BuiltPhase",
    "Layout",
    "Rewrite",
    "SplitOptions",
    "SplitRecord",
    "SplitResult",
    "Strategy",
    "UndoResult",
    "built_record",
    "independent_problem",
    "read_record",
    "split_branch",
    "undo_last_split",
]
