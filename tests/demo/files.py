"""The demo's files without git: its data replayed in memory, and what the tests expect of it."""

from __future__ import annotations

from collections.abc import Sequence

from stager.demo.history import DemoCommit, read_history

VERSIONS = "backend/migrations/versions"
ENV_PY = "backend/migrations/env.py"
ALEMBIC_INI = "backend/alembic.ini"

# Upgrade order, written out so that a change to the data shows here.
BASE_REVISIONS = (
    "3f2a1b9c0d1e",
    "8c41d2e7a9b0",
    "b7e9f0a1c2d3",
    "0d5e6f7a8b9c",
    "4a6b8c0d2e4f",
    "9e1f3a5b7c9d",
    "c2d4e6f8a0b1",
    "5b7d9f1a3c5e",
    "e8f0a2c4e6a8",
    "2c4e6a8c0e2a",
    "7a9c1e3a5c7e",
    "d1f3b5d7f9b1",
)
"""The twelve revisions of ``main`` at the branch point."""

BRANCH_REVISIONS = (
    "a3c5e7f9b1d3",
    "f4e6a8c0b2d4",
    "6b8d0f2a4c6e",
    "1b3d5f7a9c1e",
    "9a1c3e5a7c9e",
    "8e2f4a6c8e0a",
    "c7a9e1b3d5f7",
    "4f6a8c0e2a4c",
)
"""The eight revisions the feature branch adds."""


def demo_trees() -> tuple[dict[str, bytes], dict[str, bytes]]:
    """Every file of the merge base and of the feature branch's head, by path."""
    history = read_history()
    commits = history.commits
    fork = next(at for at, commit in enumerate(commits) if commit.branch == history.head_branch)
    head = [commit for commit in commits[fork:] if commit.branch == history.head_branch]
    return _replay(commits[:fork]), _replay([*commits[:fork], *head])


def _replay(commits: Sequence[DemoCommit]) -> dict[str, bytes]:
    tree: dict[str, bytes] = {}
    for commit in commits:
        for path, content in commit.files.items():
            if content is None:
                del tree[path]
            else:
                tree[path] = content
    return tree


def demo_file(path: str) -> str:
    """``path`` as the feature branch's head has it."""
    return demo_trees()[1][path].decode()


def demo_alembic_files() -> dict[str, bytes]:
    """The head's ``alembic.ini``, ``env.py`` and revisions, the base's revisions unedited.

    The base's revisions as the merge base has them: the branch's edit of an
    old one (an index added to ``create_transfer``) is left out.
    """
    merge_base, head = demo_trees()
    versions = {
        path: content
        for path, content in {**head, **merge_base}.items()
        if path.startswith(f"{VERSIONS}/")
    }
    return {ALEMBIC_INI: head[ALEMBIC_INI], ENV_PY: head[ENV_PY], **versions}
