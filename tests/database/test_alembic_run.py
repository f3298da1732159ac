"""How stager's URL reaches the project's Alembic: the ini copy, the command, the environment."""

from __future__ import annotations

import configparser
from pathlib import Path

import pytest

from stager.database.alembic_run import (
    PROJECT_APPLICATION,
    ProjectAlembic,
    routed_environment,
    sqlalchemy_url,
    url_variables,
    with_url,
)
from stager.database.errors import DatabaseError
from stager.database.psql import Connection

CONNECTION = Connection("127.0.0.1", 54321, "stager", "p%ss", "stager_verify_ab12")
INI = """# the project's ini
[alembic]
script_location = %(here)s/migrations
sqlalchemy.url = postgresql://me:secret@prod-db/app

[logger_root]
sqlalchemy.url = left alone
"""


def test_the_ini_copy_names_stagers_database_and_keeps_the_rest() -> None:
    text = with_url(INI, sqlalchemy_url(CONNECTION))
    parser = configparser.ConfigParser(defaults={"here": "/tree"})
    parser.read_string(text)
    assert parser.get("alembic", "sqlalchemy.url") == (
        "postgresql://stager:p%25ss@127.0.0.1:54321/stager_verify_ab12"
        f"?application_name={PROJECT_APPLICATION}"
    )
    assert parser.get("alembic", "script_location") == "/tree/migrations"
    assert parser.get("logger_root", "sqlalchemy.url") == "left alone"
    assert "prod-db" not in text


def test_an_ini_without_the_url_gets_one() -> None:
    text = with_url("[alembic]\nscript_location = migrations\n", "postgresql://s@h:1/d")
    assert text.splitlines()[:2] == ["[alembic]", "sqlalchemy.url = postgresql://s@h:1/d"]


def test_the_command_loses_its_config_which_stager_replaces() -> None:
    parsed = ProjectAlembic.parse("uv run alembic -c backend/alembic.ini")
    assert (parsed.words, parsed.config) == (("uv", "run", "alembic"), "backend/alembic.ini")
    assert ProjectAlembic.parse("alembic --config=x.ini").config == "x.ini"
    assert ProjectAlembic.parse("alembic").config == "alembic.ini"
    with pytest.raises(DatabaseError, match="not a command line"):
        ProjectAlembic.parse("alembic 'unclosed")


def test_every_channel_of_the_environment_leads_to_stagers_database(tmp_path: Path) -> None:
    developer = {
        "PATH": "/usr/bin",
        "DATABASE_URL": "postgresql://me@prod/app",
        "ANALYTICS_DB_URL": "postgresql://me@prod/analytics",
        "ORDERS_DSN": "host=prod",
        "PGHOST": "prod",
        "PGSERVICE": "prod",
        "PYTHONPATH": "/elsewhere",
        "AWS_SECRET_ACCESS_KEY": "not for the project",
    }
    env = routed_environment(CONNECTION, tmp_path / "tree", tmp_path, developer)
    url = sqlalchemy_url(CONNECTION)
    assert env["DATABASE_URL"] == env["ANALYTICS_DB_URL"] == env["ORDERS_DSN"] == url
    assert (env["PGHOST"], env["PGPORT"], env["PGDATABASE"], env["PGUSER"]) == (
        "127.0.0.1",
        "54321",
        "stager_verify_ab12",
        "stager",
    )
    assert env["PGAPPNAME"] == PROJECT_APPLICATION
    assert Path(env["PGPASSFILE"]).read_text() == Path(env["PGSERVICEFILE"]).read_text() == ""
    assert "PGSERVICE" not in env and "AWS_SECRET_ACCESS_KEY" not in env
    assert env["PYTHONPATH"].split(":") == [str(tmp_path / "tree"), "/elsewhere"]
    assert url_variables(developer) == ["ANALYTICS_DB_URL", "DATABASE_URL", "ORDERS_DSN"]


def test_verify_env_templates_are_filled_in_with_stagers_database(tmp_path: Path) -> None:
    templates = (("FUEL_DB", "{url}"), ("FUEL_HOST", "{host}:{port}/{database}"), ("B", "{{x}}"))
    env = routed_environment(CONNECTION, tmp_path, tmp_path, {}, templates)
    assert env["FUEL_DB"] == sqlalchemy_url(CONNECTION)
    assert env["FUEL_HOST"] == "127.0.0.1:54321/stager_verify_ab12"
    assert env["B"] == "{x}"
