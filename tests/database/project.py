"""A small Alembic project in a real git repository: a commit per phase, revisions as text.

Its files live in ``alembic_project/`` (``.py`` stored as ``.py.txt`` so that
no tool takes them for stager's tests); its ``alembic.ini`` names a decoy
server, so a run that ignored stager's URL would fail instead of passing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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


def env_py_with(statements: Sequence[str], keywords: str = "", top: str = "") -> str:
    """The project's env.py, running ``statements`` on its connection before it configures
    Alembic with ``keywords`` more (``', version_table_schema="app_meta"'``); ``top``: lines
    it starts with."""
    env_py = project_files()["migrations/env.py"]
    configure = "    context.configure(connection=connection, target_metadata=None)\n"
    ran = "".join(f"    connection.exec_driver_sql({sql!r})\n" for sql in statements)
    changed = env_py.replace(
        configure,
        f"{ran}    connection.commit()\n"
        f"    context.configure(connection=connection, target_metadata=None{keywords})\n",
    )
    assert changed != env_py
    return top + changed


def base_commit(repo: GitRepo, changes: Mapping[str, str] | None = None) -> str:
    """The base: the project with one table; ``changes``: files it has instead."""
    files = project_files()
    files.update(changes or {})
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


def _main_revision() -> tuple[str, str]:
    """A revision main gains after the feature branch left it: the base moved."""
    source = (
        "from alembic import op\n\n"
        "revision = 'm002'\n"
        "down_revision = 'r001'\n\n\n"
        'def upgrade():\n    op.execute("CREATE TABLE audit (id int)")\n\n\n'
        'def downgrade():\n    op.execute("DROP TABLE audit")\n'
    )
    return "migrations/versions/m002.py", source


def feature_branch(
    repo: GitRepo, *, base_moves: bool = False, base_changes: Mapping[str, str] | None = None
) -> str:
    """``main`` with the base, and branch ``feature`` (checked out) adding a table and its index.

    ``base_moves``: main gains revision ``m002`` afterwards, so that ``split``
    builds onto main's tip (``--onto``), re-chaining the branch's first revision.
    ``base_changes``: files the base has instead of the project's. Returns the feature
    branch's head.
    """
    base_commit(repo, base_changes)
    repo.git("checkout", "-q", "-b", "feature")
    commit_revisions(
        repo,
        "ledger",
        revision(
            2, 'op.execute("CREATE TABLE ledger (id int)")', 'op.execute("DROP TABLE ledger")'
        ),
    )
    head = commit_revisions(
        repo,
        "ledger index",
        revision(
            3,
            'op.execute("CREATE INDEX ledger_id ON ledger (id)")',
            'op.execute("DROP INDEX ledger_id")',
        ),
    )
    if base_moves:
        repo.git("checkout", "-q", "main")
        repo.commit("main gains a revision", dict([_main_revision()]))
        repo.git("checkout", "-q", "feature")
    return head


SUBFOLDER_ALEMBIC = "alembic -c backend/alembic.ini"


def subfolder_base_commit(repo: GitRepo, env_py: str = "") -> str:
    """The base, laid out as full-stack-fastapi-template's backend: Alembic runs in backend/.

    Its ``script_location`` is relative without ``%(here)s`` and there is no
    ``prepend_sys_path``, so Alembic finds the scripts, and env.py its package
    ``app``, only when it runs in backend/ (``cd backend && alembic upgrade
    head``). ``env_py``: lines that env.py starts with.
    """
    files = {f"backend/{path}": text for path, text in project_files().items()}
    ini = files["backend/alembic.ini"]
    files["backend/alembic.ini"] = ini.replace(
        "script_location = %(here)s/migrations\nprepend_sys_path = .\n",
        "script_location = migrations\n",
    )
    assert files["backend/alembic.ini"] != ini
    files["backend/migrations/env.py"] = (
        "import app.settings  # noqa: F401\n" + env_py + files["backend/migrations/env.py"]
    )
    files["backend/app/__init__.py"] = ""
    files["backend/app/settings.py"] = "PROJECT = 'fuel'\n"
    path, source = revision(
        1,
        'op.execute("CREATE TABLE account (id int PRIMARY KEY)")',
        'op.execute("DROP TABLE account")',
    )
    files[f"backend/{path}"] = source
    return repo.commit("base", files)
