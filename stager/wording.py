"""How stager counts things in what people read: ``1 file``, ``2 files``, never ``1 commits``."""

from __future__ import annotations


def count(number: int, noun: str, plural: str | None = None) -> str:
    """``1 file``, ``3 files``; ``plural`` for a noun that does not take an ``s``."""
    if number == 1:
        return f"{number} {noun}"
    return f"{number} {plural if plural is not None else noun + 's'}"
