"""An Alembic merge revision of several heads, as ``alembic merge`` writes one, with an id
derived from the heads: the same heads give the same file, on any machine, every run."""

from __future__ import annotations

import hashlib
from collections.abc import Collection

from stager.types import Revision


def merge_revision_id(heads: Collection[Revision]) -> Revision:
    """First 12 hex of sha1 of the sorted heads (``"merge:a,b"``)."""
    seed = "merge:" + ",".join(sorted(heads))
    return Revision(hashlib.sha1(seed.encode()).hexdigest()[:12])


def merge_revision_source(heads: Collection[Revision]) -> tuple[Revision, bytes]:
    """The merge revision's id and file: it only joins ``heads``, upgrade and downgrade empty."""
    revision = merge_revision_id(heads)
    ordered = sorted(heads)
    parents = ", ".join(f'"{head}"' for head in ordered)
    text = f'''"""merge heads {", ".join(ordered)}

Revision ID: {revision}
Revises: {", ".join(ordered)}
Create Date: written by stager sync (a merge revision has no date of its own)

"""

# revision identifiers, used by Alembic.
revision = "{revision}"
down_revision = ({parents})
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
'''
    return revision, text.encode()


def merge_command(heads: Collection[Revision]) -> str:
    """The ``alembic merge`` that writes the same revision."""
    ordered = sorted(heads)
    return (
        f"alembic merge --rev-id {merge_revision_id(ordered)} -m 'merge heads' {' '.join(ordered)}"
    )
