from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.gitrepo import GitRepo, sealed_env


@pytest.fixture
def git_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """Seal this test from the machine's git config (and apply it to stager too)."""
    home = tmp_path / "home"
    home.mkdir()
    env = sealed_env(home)
    for key in list(__import__("os").environ):
        if key.startswith("GIT_"):
            monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    yield env


@pytest.fixture
def repo(tmp_path: Path, git_env: dict[str, str]) -> GitRepo:
    """An empty repository on branch ``main``."""
    return GitRepo.init(tmp_path / "repo", git_env)


@pytest.fixture(autouse=True)
def _reset_stager_logging() -> Iterator[None]:
    """`stager -v` attaches a handler to the stager logger; never let it leak between tests."""
    yield
    import logging

    logger = logging.getLogger("stager")
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    logger.setLevel(logging.NOTSET)
    logger.propagate = True
