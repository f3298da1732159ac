"""env.py settings read with ast: transactions, a global lock_timeout, the version table."""

from __future__ import annotations

import textwrap

import pytest

from stager.migrations.lint.envpy import (
    EnvSettings,
    EnvVersionTable,
    find_env,
    read_env,
    read_version_table,
)
from tests.demo.files import ENV_PY, demo_file


def settings(body: str) -> EnvSettings:
    return read_env(textwrap.dedent(body).encode(), "migrations/env.py")


def test_alembic_defaults() -> None:
    env = read_env(demo_file(ENV_PY).encode(), ENV_PY)
    assert env == EnvSettings(path="backend/migrations/env.py")
    assert not env.transaction_per_migration and env.transactional_ddl and not env.lock_timeout


def test_configure_keywords() -> None:
    env = settings(
        """
        from alembic import context
        def run_migrations_online():
            with connectable.connect() as connection:
                context.configure(
                    connection=connection,
                    target_metadata=target_metadata,
                    transaction_per_migration=True,
                    transactional_ddl=False,
                )
        """
    )
    assert env.transaction_per_migration and not env.transactional_ddl


@pytest.mark.parametrize(
    "code",
    [
        "connection.execute(text(\"SET lock_timeout = '5s'\"))",
        "connection.exec_driver_sql(\"SET lock_timeout TO '3s'\")",
        'engine = create_engine(url, connect_args={"options": "-c lock_timeout=5000"})',
        "engine = create_async_engine(\n"
        '    url, connect_args={"server_settings": {"lock_timeout": "5s"}}\n)',
        "context.configure(connection=connection)\n"
        'connection.execute(text("SET LOCAL lock_timeout = 2000"))',
    ],
)
def test_lock_timeout_set_for_every_migration(code: str) -> None:
    env = settings(code)
    assert env.lock_timeout
    assert env.lock_timeout_line is not None


@pytest.mark.parametrize(
    "code",
    [
        '"""We do not set lock_timeout here."""',
        '"""Ops set lock_timeout = 5s on the role, not here."""',
        'def run():\n    """lock_timeout"""\n    context.run_migrations()',
        "# SET lock_timeout = '5s' (commented out)\nx = 1",
        'connection.execute(text("SET lock_timeout = 0"))',
        "connection.execute(text(\"SET statement_timeout = '5s'\"))",
    ],
)
def test_no_lock_timeout(code: str) -> None:
    assert not settings(code).lock_timeout


def test_unparsable_env_gives_the_defaults() -> None:
    assert read_env(b"def (:\n", "env.py") == EnvSettings(path="env.py")


def test_find_env_walks_up_from_the_revision() -> None:
    files = {"backend/migrations/env.py", "other/env.py"}
    assert (
        find_env("backend/migrations/versions/a.py", files.__contains__)
        == "backend/migrations/env.py"
    )
    assert (
        find_env("backend/migrations/versions/2024/a.py", files.__contains__)
        == "backend/migrations/env.py"
    )
    assert find_env("elsewhere/versions/a.py", files.__contains__) is None
    assert find_env("versions/a.py", {"env.py"}.__contains__) == "env.py"
    assert find_env("a/b/c/d/e/versions/x.py", {"a/env.py"}.__contains__, levels=2) is None


def _version_table(body: str) -> EnvVersionTable:
    return read_version_table(textwrap.dedent(body).encode())


def test_the_version_table_is_read_from_literal_keywords_of_every_configure_call() -> None:
    # the offline and the online run of a usual env.py both name it
    found = _version_table(
        """
        def run_migrations_offline():
            context.configure(url=url, version_table_schema="app_meta")

        def run_migrations_online():
            context.configure(
                connection=connection,
                version_table_schema="app_meta",
                version_table="versions",
            )
        """
    )
    assert found == EnvVersionTable("app_meta", "versions", line=3)
    assert read_version_table(demo_file(ENV_PY).encode()) == EnvVersionTable()


def test_a_version_table_env_py_computes_or_names_twice_is_no_literal() -> None:
    found = _version_table(
        """
        CORE = "dispatch_core"
        context.configure(connection=c, version_table_schema=CORE)
        context.configure(url=url, version_table="a")
        context.configure(url=url, version_table="b")
        """
    )
    assert found.computed == (
        "version_table_schema=CORE (line 3)",
        "version_table='a' and 'b' in different calls",
    )
