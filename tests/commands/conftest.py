from __future__ import annotations

from pathlib import Path

import pytest

from stager.demo import DemoRepository
from tests.demo_copies import copy_demo


@pytest.fixture
def demo(tmp_path: Path, git_env: dict[str, str], demo_template: DemoRepository) -> DemoRepository:
    """The demo repository: a realistic branch with every kind of migration (a fresh copy)."""
    return copy_demo(demo_template, tmp_path / "demo")
