from __future__ import annotations

from pathlib import Path

import pytest

from stager.demo import DemoRepository, build_demo_repository


@pytest.fixture
def demo(tmp_path: Path, git_env: dict[str, str]) -> DemoRepository:
    """The demo repository: a realistic branch with every kind of migration."""
    return build_demo_repository(tmp_path / "demo")
