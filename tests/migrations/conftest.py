from __future__ import annotations

import pytest

from tests.migrations.builders import MemoryBlobs


@pytest.fixture
def blobs() -> MemoryBlobs:
    """An empty in-memory blob store; ``blobs.tree({...})`` makes a tree listing."""
    return MemoryBlobs()
