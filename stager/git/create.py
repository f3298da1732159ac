"""Creating a repository: the one git call made before there is a repository to run it in."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from stager.git.process import GitProcess, check_version_once, failure, version_probe
from stager.git.repository import Repository


def init_repository(path: Path, *, branch: str, env: Mapping[str, str] | None = None) -> Repository:
    """``git init`` the folder ``path`` with HEAD on ``branch`` and open it.

    git's version is checked first, so an old git writes nothing. ``env`` adds
    variables to the call, as for :meth:`Repository.run`.
    """
    check_version_once(version_probe())
    args = ["init", "--quiet", f"--initial-branch={branch}", str(path)]
    outcome = GitProcess(args, path, None, env=env).wait()
    if outcome.returncode != 0:
        raise failure(args, outcome, path)
    return Repository(path)
