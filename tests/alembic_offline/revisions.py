"""Alembic revision files built from a list of schema operations, with their own downgrade.

Each operation is written as autogenerate writes it: the upgrade in order, the
downgrade undoing it in reverse, so stager can split the author's downgrade.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

EXPAND = frozenset({"add_column", "create_table", "create_index"})
CONTRACT = frozenset({"drop_column", "drop_table", "drop_index"})


@dataclass(frozen=True)
class SchemaOp:
    """One operation on ``table``; ``name`` is the column, or the index, or unused for tables."""

    kind: str
    table: str
    name: str = ""
    column: str = ""  # an index's column

    @property
    def expands(self) -> bool:
        return self.kind in EXPAND

    def upgrade(self) -> str:
        return _code(self.kind, self)

    def downgrade(self) -> str:
        return _code(_INVERSE[self.kind], self)


def _code(kind: str, op: SchemaOp) -> str:
    """The ``op.*`` call doing ``kind`` to ``op``'s object."""
    if kind == "add_column":
        return f"op.add_column('{op.table}', sa.Column('{op.name}', sa.Integer(), nullable=True))"
    if kind == "drop_column":
        return f"op.drop_column('{op.table}', '{op.name}')"
    if kind == "create_table":
        return (
            f"op.create_table('{op.table}', sa.Column('id', sa.Integer(), primary_key=True), "
            f"sa.Column('{op.name or 'label'}', sa.Text(), nullable=True))"
        )
    if kind == "drop_table":
        return f"op.drop_table('{op.table}')"
    if kind == "create_index":
        return f"op.create_index('{op.name}', '{op.table}', ['{op.column}'])"
    assert kind == "drop_index", kind
    return f"op.drop_index('{op.name}', table_name='{op.table}')"


_INVERSE = {
    "add_column": "drop_column",
    "drop_column": "add_column",
    "create_table": "drop_table",
    "drop_table": "create_table",
    "create_index": "drop_index",
    "drop_index": "create_index",
}


def revision_file(
    revision: str, parent: str | None, ops: Sequence[SchemaOp], title: str = "change"
) -> str:
    """A revision file as ``alembic revision`` writes it, running ``ops``."""
    up = "".join(f"    {op.upgrade()}\n" for op in ops) or "    pass\n"
    down = "".join(f"    {op.downgrade()}\n" for op in reversed(ops)) or "    pass\n"
    return f'''"""{title}

Revision ID: {revision}
Revises: {parent or ""}
Create Date: 2024-03-05 10:11:12.123456

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision: str = '{revision}'
down_revision: Union[str, None] = {repr(parent) if parent else None}
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
{up}

def downgrade() -> None:
{down}'''


def model_file(table: str, columns: Sequence[str]) -> str:
    """A SQLAlchemy model of ``table`` mapping ``columns``, one line each, in that order."""
    name = "".join(part.title() for part in table.split("_"))
    mapped = "".join(f"    {column} = Column(Integer)\n" for column in columns)
    return (
        f'"""The {table} table."""\n\nfrom sqlalchemy import Column, Integer\n\n'
        f"from app.models.base import Base\n\n\nclass {name}(Base):\n"
        f'    __tablename__ = "{table}"\n\n    id = Column(Integer, primary_key=True)\n{mapped}'
    )
