"""split_invariant.without_repeats: the one exception to "exactly head's operations"."""

from __future__ import annotations

from stager.branches.split_invariant import without_repeats
from stager.migrations.parse import parse_migration
from stager.migrations.revision_files import Operation
from stager.types import RepoPath, Sha

GUARDED = 'op.execute("UPDATE t SET n = o WHERE n IS NULL")'


def upgrade(*lines: str) -> list[Operation]:
    body = "".join(f"    {line}\n" for line in lines)
    source = (
        "from alembic import op\nimport sqlalchemy as sa\n\nrevision = 'a'\n"
        f"down_revision = None\n\n\ndef upgrade():\n{body}\n\ndef downgrade():\n    pass\n"
    )
    parsed = parse_migration(RepoPath("v/a.py"), Sha("0" * 40), source.encode())
    return [op for op in parsed.operations if op.function == "upgrade"]


def names(operations: list[Operation]) -> list[str | None]:
    return [op.sql or op.name for op in operations]


def test_an_idempotent_statement_the_contract_runs_too_is_the_allowed_repeat() -> None:
    expand = upgrade("op.add_column('t', sa.Column('n', sa.Text()))", GUARDED)
    contract = upgrade(GUARDED, "op.drop_column('t', 'o')")
    assert names(without_repeats(expand, contract)) == ["add_column"]


def test_anything_else_in_both_parts_stays_and_fails_the_comparison() -> None:
    unguarded = 'op.execute("UPDATE t SET n = o")'
    add = "op.add_column('t', sa.Column('n', sa.Text()))"
    expand = upgrade(add, unguarded, GUARDED)
    contract = upgrade(add, unguarded, "op.drop_column('t', 'o')")
    # not idempotent, or a schema operation, or not in the contract part: kept, so counted twice
    assert names(without_repeats(expand, contract)) == [
        "add_column",
        "UPDATE t SET n = o",
        "UPDATE t SET n = o WHERE n IS NULL",
    ]
