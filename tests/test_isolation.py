"""The autouse sealing: no test can reach the user's home, git config, tokens or cache."""

from __future__ import annotations

import os
import pwd
import subprocess
import tempfile
from pathlib import Path

import pytest

from stager.error_handler import crash_log_path
from stager.migrations import parse_cache
from stager.plan import facts_store
from tests.gitrepo import sealed_env

REAL_HOME = Path(pwd.getpwuid(os.getuid()).pw_dir)


@pytest.fixture(scope="module")
def module_home() -> str:
    """What a fixture wider than one test sees."""
    return os.environ["HOME"]


def assert_sealed() -> Path:
    home = Path(os.environ["HOME"])
    assert home != REAL_HOME and not REAL_HOME.is_relative_to(home)
    assert os.environ["GIT_CONFIG_NOSYSTEM"] == "1"
    assert os.environ["GIT_CONFIG_GLOBAL"] == str(home / ".gitconfig")
    assert os.environ["XDG_CONFIG_HOME"] == str(home / ".config")
    assert os.environ["XDG_CACHE_HOME"] == str(home / ".cache")
    assert not [key for key in os.environ if key.startswith(("GH_", "GITHUB_"))]
    return home


def test_a_test_that_asks_for_nothing_is_sealed(tmp_path: Path) -> None:
    home = assert_sealed()
    listed = subprocess.run(
        ["git", "config", "--list", "--show-origin"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert listed.stdout == ""  # no system, global or XDG config: nothing at all
    for cache in (
        parse_cache.cache_file("/some/repo/.git"),
        facts_store.cache_file("/some/repo/.git"),
    ):
        assert cache is not None and cache.is_relative_to(home)
    assert crash_log_path().is_relative_to(home)


def test_module_fixtures_are_sealed_too(module_home: str) -> None:
    assert Path(module_home) != REAL_HOME
    assert module_home != os.environ["HOME"], "each test has a home of its own"


def test_git_env_is_the_process_environment(git_env: dict[str, str]) -> None:
    changing = {"PYTEST_CURRENT_TEST"}
    assert {k: v for k, v in git_env.items() if k not in changing} == {
        k: v for k, v in os.environ.items() if k not in changing
    }
    assert git_env["GIT_AUTHOR_DATE"] == git_env["GIT_COMMITTER_DATE"]


def test_sealed_env_drops_what_the_machine_sets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in ("GIT_DIR", "GIT_INDEX_FILE", "GH_TOKEN", "GITHUB_TOKEN", "STAGER_NO_CACHE"):
        monkeypatch.setenv(key, "leak")
    monkeypatch.setenv("STAGER_UPDATE_SNAPSHOTS", "1")
    env = sealed_env(tmp_path)
    assert not {"GIT_DIR", "GIT_INDEX_FILE", "GH_TOKEN", "GITHUB_TOKEN", "STAGER_NO_CACHE"} & set(
        env
    )
    assert env["STAGER_UPDATE_SNAPSHOTS"] == "1"
    assert env["HOME"] == str(tmp_path)


def test_temporary_files_go_to_the_sessions_folder() -> None:
    folder = Path(tempfile.gettempdir())
    assert os.environ["TMPDIR"] == str(folder)
    # pytest's folder of the session, or of this xdist worker within it
    assert folder.name.startswith("tmp") and folder.parent.name.startswith(("pytest-", "popen-gw"))
