"""Snapshots: expected output kept as files in tests/snapshots/, compared byte for byte.

A snapshot never writes itself: a missing or different file fails the test.
``STAGER_UPDATE_SNAPSHOTS=1`` writes what the test produced instead; review
the diff before committing it.
"""

from __future__ import annotations

import os
from pathlib import Path

SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"
UPDATE = "STAGER_UPDATE_SNAPSHOTS"


def check_snapshot(name: str, text: str, folder: Path = SNAPSHOTS) -> None:
    """Assert ``text`` is the snapshot ``name``; with ``STAGER_UPDATE_SNAPSHOTS=1``, write it."""
    path = folder / name
    if os.environ.get(UPDATE) == "1":
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"snapshot {name} is missing; create it with {UPDATE}=1 and review it"
    assert text == path.read_text(encoding="utf-8"), (
        f"{name} changed; rerun with {UPDATE}=1 if intended"
    )
