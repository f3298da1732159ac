"""Real git repositories in temporary folders, sealed from the machine's config."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

FIXED_DATE = "2024-01-01T12:00:00+00:00"


# Inherited variables that would let the machine's setup reach a test: git's own,
# GitHub's tokens and hosts, and stager's switches (only the snapshot update passes).
_DROPPED_PREFIXES = ("GIT_", "GH_", "GITHUB_", "STAGER_")
_KEPT = frozenset({"STAGER_UPDATE_SNAPSHOTS"})


def sealed_env(home: Path) -> dict[str, str]:
    """An environment in which no user or system config, token or cache can leak in.

    ``home`` holds HOME, the XDG config and cache folders (git's and gh's config,
    stager's parse cache and crash log) and the global git config.
    """
    env = {
        key: value
        for key, value in os.environ.items()
        if key in _KEPT or not key.startswith(_DROPPED_PREFIXES)
    }
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_CACHE_HOME=str(home / ".cache"),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=str(home / ".gitconfig"),
        GIT_AUTHOR_NAME="Ada Author",
        GIT_AUTHOR_EMAIL="ada@example.com",
        GIT_COMMITTER_NAME="Cy Committer",
        GIT_COMMITTER_EMAIL="cy@example.com",
        GIT_AUTHOR_DATE=FIXED_DATE,
        GIT_COMMITTER_DATE=FIXED_DATE,
        LC_ALL="C",
    )
    return env


class GitRepo:
    """A throwaway repository driven by the git CLI, for tests."""

    def __init__(self, path: Path, env: Mapping[str, str]) -> None:
        self.path = path
        self.env = dict(env)
        self._tick = 0

    @classmethod
    def init(cls, path: Path, env: Mapping[str, str], branch: str = "main") -> GitRepo:
        path.mkdir(parents=True, exist_ok=True)
        repo = cls(path, env)
        repo.git("init", "-q", "-b", branch)
        return repo

    def git(self, *args: str, check: bool = True) -> str:
        result = subprocess.run(
            ["git", *args],
            cwd=self.path,
            env=self.env,
            capture_output=True,
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"git {' '.join(args)} failed ({result.returncode}):\n"
                + result.stderr.decode(errors="replace")
            )
        return result.stdout.decode(errors="surrogateescape").strip()

    def write(self, relpath: str, content: str | bytes) -> Path:
        target = self.path / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")
        return target

    def remove(self, relpath: str) -> None:
        self.git("rm", "-q", "-r", "--", relpath)

    def commit(self, message: str, files: Mapping[str, str | bytes] | None = None) -> str:
        """Write ``files``, stage everything and commit with a deterministic date."""
        for relpath, content in (files or {}).items():
            self.write(relpath, content)
        self.git("add", "-A")
        self._tick += 1
        date = f"2024-01-01T12:{self._tick // 60:02d}:{self._tick % 60:02d}+00:00"
        self.env["GIT_AUTHOR_DATE"] = date
        self.env["GIT_COMMITTER_DATE"] = date
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.head()

    def head(self) -> str:
        return self.git("rev-parse", "HEAD")

    def checkout(self, *args: str) -> None:
        self.git("checkout", "-q", *args)
