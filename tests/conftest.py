"""Every test runs sealed: its own HOME, no user or system git config, no inherited GIT_*.

The sealing is autouse, so a test cannot forget it: ``_sealed_session`` covers
session- and module-scoped fixtures, ``git_env`` gives each test a HOME of its
own (its global git config, XDG config and cache folders: stager's parse cache
and crash log never reach the user's home) and fixed author and committer
names and dates. Request ``git_env`` for the environment as a dict.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from stager.demo import DemoRepository, build_demo_repository
from tests.examples import PROFILE, examples
from tests.gitrepo import GitRepo, sealed_env

# Property tests without a count of their own: hypothesis's 100 when thorough
# (tests/examples.py says how the profiles differ).
settings.register_profile("default", max_examples=examples(100))
settings.register_profile("thorough", max_examples=100)
settings.load_profile(PROFILE)


def _seal(patch: pytest.MonkeyPatch, home: Path) -> dict[str, str]:
    """Make ``os.environ`` exactly ``sealed_env(home)``; return that environment."""
    env = sealed_env(home)
    for key in [key for key in os.environ if key not in env]:
        patch.delenv(key)
    for key, value in env.items():
        patch.setenv(key, value)
    return env


@pytest.fixture(scope="session", autouse=True)
def _sealed_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Seal the session, so that fixtures wider than a test run sealed too.

    Temporary files go to a folder of the session (TMPDIR, for stager, git and
    subprocesses too), which must be empty at the end: a test or a property
    example that leaves a temporary folder behind fails the run.
    """
    temporary = tmp_path_factory.mktemp("tmp")
    with pytest.MonkeyPatch.context() as patch:
        _seal(patch, tmp_path_factory.mktemp("session-home"))
        patch.setenv("TMPDIR", str(temporary))
        patch.setattr(tempfile, "tempdir", str(temporary))
        yield
    left = sorted(path.name for path in temporary.iterdir())
    assert not left, f"tests left temporary files behind in {temporary}: {left}"


@pytest.fixture(autouse=True)
def git_env(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """Seal this test in a HOME of its own (applied to stager too); the environment."""
    return _seal(monkeypatch, tmp_path_factory.mktemp("home"))


@pytest.fixture
def repo(tmp_path: Path, git_env: dict[str, str]) -> GitRepo:
    """An empty repository on branch ``main``."""
    return GitRepo.init(tmp_path / "repo", git_env)


@pytest.fixture(autouse=True)
def _reset_stager_logging() -> Iterator[None]:
    """`stager -v` attaches a handler to the stager logger; never let it leak between tests."""
    yield
    logger = logging.getLogger("stager")
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    logger.setLevel(logging.NOTSET)
    logger.propagate = True


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> DemoRepository:
    """The demo repository, built once per session: copy it (``copy_demo``), never change it."""
    return build_demo_repository(tmp_path_factory.mktemp("demo-template") / "demo")
