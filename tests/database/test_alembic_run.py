"""How stager's URL reaches the project's Alembic: the ini copy, the command, the environment."""

from __future__ import annotations

import configparser
import json
import stat
import sys
from pathlib import Path

import pytest

from stager.database.alembic_run import (
    PROJECT_APPLICATION,
    ProjectAlembic,
    package_folder,
    routed_environment,
    sqlalchemy_url,
    url_variables,
    with_url,
    working_folder,
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
    assert Path(env["PGSERVICEFILE"]).read_text() == ""
    assert Path(env["PGPASSFILE"]).read_text() == "*:54321:stager_verify_ab12:stager:p%ss\n"
    assert "PGSERVICE" not in env and "AWS_SECRET_ACCESS_KEY" not in env
    assert env["PYTHONPATH"].split(":") == [str(tmp_path / "tree"), "/elsewhere"]
    assert url_variables(developer) == ["ANALYTICS_DB_URL", "DATABASE_URL", "ORDERS_DSN"]


def test_verify_env_templates_are_filled_in_with_stagers_database(tmp_path: Path) -> None:
    templates = (("FUEL_DB", "{url}"), ("FUEL_HOST", "{host}:{port}/{database}"), ("B", "{{x}}"))
    env = routed_environment(CONNECTION, tmp_path, tmp_path, {}, templates)
    assert env["FUEL_DB"] == sqlalchemy_url(CONNECTION)
    assert env["FUEL_HOST"] == "127.0.0.1:54321/stager_verify_ab12"
    assert env["B"] == "{x}"


RECORDER = """import json, os, sys
config = sys.argv[sys.argv.index("-c") + 1]
with open(os.environ["RECORD"], "w") as record:
    json.dump({"argv": sys.argv, "ini": open(config).read()}, record)
"""


def test_the_password_is_in_no_command_line_and_no_file_but_the_runs_own_passfile(
    tmp_path: Path,
) -> None:
    # a command line is visible to every user of the machine (ps); the ini copy lies in the tree
    tree, scratch = tmp_path / "tree", tmp_path / "scratch"
    tree.mkdir()
    scratch.mkdir()
    (tree / "alembic.ini").write_text(INI)
    (tree / "recorder.py").write_text(RECORDER)
    record = tmp_path / "record.json"
    secret = Connection("127.0.0.1", 54321, "stager", "s3cret-pw:x", "stager_verify_ab12")
    alembic = ProjectAlembic(
        (sys.executable, "recorder.py"), "alembic.ini", (("RECORD", str(record)),)
    )
    outcome = alembic.run(tree, scratch, secret, ["upgrade", "head"])

    assert outcome.ok, outcome.output
    seen = json.loads(record.read_text())
    assert not any("s3cret" in word for word in seen["argv"]), seen["argv"]
    assert f"db_url={sqlalchemy_url(secret, password=False)}" in seen["argv"]
    assert "s3cret" not in seen["ini"] and "stager_verify_ab12" in seen["ini"]
    passfile = scratch / "pgpass"
    assert stat.S_IMODE(passfile.stat().st_mode) == 0o600
    assert passfile.read_text() == "*:54321:stager_verify_ab12:stager:s3cret-pw\\:x\n"


def test_alembic_runs_in_the_folder_of_its_ini_only_when_its_scripts_are_found_from_there(
    tmp_path: Path,
) -> None:
    ini = tmp_path / "backend" / "alembic.ini"
    (tmp_path / "backend" / "app" / "alembic").mkdir(parents=True)
    ini.write_text("[alembic]\nscript_location = app/alembic\n")
    assert working_folder(tmp_path, ini) == tmp_path / "backend"
    (tmp_path / "app" / "alembic").mkdir(parents=True)  # found from the root too: the root
    assert working_folder(tmp_path, ini) == tmp_path
    for location in ("%(here)s/app/alembic", "myapp:migrations", ""):
        ini.write_text(f"[alembic]\nscript_location = {location}\n")
        assert working_folder(tmp_path, ini) == tmp_path, location


def test_the_folder_of_a_package_that_script_location_names_is_found_in_the_tree(
    tmp_path: Path,
) -> None:
    # Netflix/dispatch: src/dispatch/alembic.ini, script_location = dispatch:database/revisions
    (tmp_path / "src" / "dispatch").mkdir(parents=True)
    (tmp_path / "src" / "dispatch" / "__init__.py").write_text("")
    ini = tmp_path / "src" / "dispatch" / "alembic.ini"
    ini.write_text("[alembic]\n[core]\nscript_location = dispatch:database/revisions/core\n")
    assert package_folder(tmp_path, ini, "core") == tmp_path / "src"
    assert package_folder(tmp_path, ini) is None  # [alembic] names none
    root_ini = tmp_path / "alembic.ini"  # at the root of a src/ layout
    root_ini.write_text("[alembic]\nscript_location = dispatch:migrations\n")
    assert package_folder(tmp_path, root_ini) == tmp_path / "src"
    root_ini.write_text("[alembic]\nscript_location = elsewhere:migrations\n")
    assert package_folder(tmp_path, root_ini) is None
