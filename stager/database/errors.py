"""The errors of a database stager starts or uses: each says what to do."""

from __future__ import annotations

from stager.errors import StagerError


class DatabaseError(StagerError):
    """PostgreSQL is missing, will not start, or refuses what stager asks of it."""
