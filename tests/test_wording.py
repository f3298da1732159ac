"""One way to count things in what people read: ``1 file``, ``2 files``, ``1 Alembic head``."""

from __future__ import annotations

from stager.wording import count


def test_count() -> None:
    assert count(0, "file") == "0 files"
    assert count(1, "commit") == "1 commit"
    assert count(2, "Alembic head") == "2 Alembic heads"
    assert count(3, "changed file") == "3 changed files"
    assert count(1, "hunk") == "1 hunk"
    assert count(2, "body", "bodies") == "2 bodies"
