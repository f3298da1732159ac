"""A rename breaks running code but loses no data; a drop, by op or by SQL, loses data."""

from __future__ import annotations

import pytest

from stager.github.assessment import migration_view
from stager.migrations.parse import parse_migration
from stager.types import MigrationKind, RepoPath, Sha

TEMPLATE = '''"""step"""
from alembic import op
import sqlalchemy as sa

revision = "r2"
down_revision = "r1"


def upgrade():
    {body}


def downgrade():
    pass
'''


@pytest.mark.parametrize(
    ("body", "loses_data"),
    [
        ('op.alter_column("user", "name", new_column_name="full_name")', False),
        ('op.rename_table("user", "account")', False),
        ('op.execute("ALTER TABLE account RENAME COLUMN a TO b")', False),
        ('op.drop_column("user", "name")', True),
        ('op.execute("ALTER TABLE account DROP COLUMN legacy")', True),
        ('op.execute("DROP TABLE old_things")', True),
    ],
)
def test_data_loss_means_a_drop_not_any_destructive_step(body: str, loses_data: bool) -> None:
    source = TEMPLATE.format(body=body).encode()
    migration = parse_migration(RepoPath("versions/r2.py"), Sha("0" * 40), source)
    assert migration.kind is MigrationKind.DESTRUCTIVE
    view = migration_view(migration, "added", ["r1"], ["r1"])
    assert view.data_loss is loses_data
