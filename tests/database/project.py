"""A small Alembic project in a real git repository: a commit per phase, revisions as text.

Its files live in ``alembic_project/`` (``.py`` stored as ``.py.txt`` so that
no tool takes them for stager's tests); its ``alembic.ini`` names a decoy
server, so a run that ignored stager's URL would fail instead of passing.
"""

from __future__ import annotations

from pathlib import Path

from tests.gitrepo import GitRepo

FILES = Path(__file__).parent / "alembic_project"
ALEMBIC = "alembic -c alembic.ini"


def project_files() -> dict[str, str]:
    """The project's files by path in the repository (``.py.txt`` → ``.py``)."""
    return {
        str(path.relative_to(FILES)).removesuffix(".txt"): path.read_text()
        for path in sorted(FILES.rglob("*"))
        if path.is_file()
    }


def revision(number: int, upgrade: str, downgrade: str) -> tuple[str, str]:
    """Revision ``rNNN`` after ``r(NNN-1)`` (the first has none): its path and its source."""
    parent = repr(f"r{number - 1:03d}") if number > 1 else "None"
    source = (
        "from alembic import op\n\n"
        f"revision = 'r{number:03d}'\n"
        f"down_revision = {parent}\n\n\n"
        f"def upgrade():\n    {upgrade}\n\n\n"
        f"def downgrade():\n    {downgrade}\n"
    )
    return f"migrations/versions/r{number:03d}.py", source


def commit_revisions(repo: GitRepo, message: str, *revisions: tuple[str, str]) -> str:
    """One commit that adds ``revisions``; its sha."""
    return repo.commit(message, dict(revisions))


def base_commit(repo: GitRepo) -> str:
    """The base: the project with one table."""
    files = project_files()
    files.update(
        dict(
            [
                revision(
                    1,
                    'op.execute("CREATE TABLE account (id int PRIMARY KEY)")',
                    'op.execute("DROP TABLE account")',
                )
            ]
        )
    )
    return repo.commit("base", files)
