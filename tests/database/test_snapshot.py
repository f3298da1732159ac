"""The catalog snapshot: every kind of object the issue names, read as data; Alembic's table not."""

from __future__ import annotations

import secrets

from stager.database.psql import Psql
from stager.database.snapshot import Column, take_snapshot
from stager.database.table_data import table_rows
from stager.types import VersionTable

SCHEMA = """
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE SCHEMA app;
CREATE TABLE app.account (
    id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text COLLATE "C" NOT NULL DEFAULT 'anon',
    feeling mood,
    double_id integer GENERATED ALWAYS AS (id * 2) STORED,
    CONSTRAINT name_not_blank CHECK (name <> '')
);
CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY);
CREATE INDEX account_lower_name ON app.account (lower(name));
CREATE VIEW happy_accounts AS SELECT id, name FROM app.account WHERE feeling = 'happy';
CREATE SEQUENCE invoice_number START 100 INCREMENT 10;
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
CREATE TRIGGER account_touch BEFORE UPDATE ON app.account
    FOR EACH ROW EXECUTE FUNCTION touch();
"""


def test_a_snapshot_holds_every_kind_of_object(database: Psql) -> None:
    reader = f"reader_{secrets.token_hex(4)}"
    database.run(SCHEMA + f"CREATE ROLE {reader}; GRANT SELECT ON app.account TO {reader};")
    try:
        snapshot = take_snapshot(database, VersionTable())
    finally:
        database.run(f"DROP OWNED BY {reader}; DROP ROLE {reader};")

    assert snapshot.tables == {
        "app.account": (
            Column("id", "integer", False, None, "always", None, None),
            Column("name", "text", False, "'anon'::text", "", None, "C"),
            Column("feeling", "mood", True, None, "", None, None),
            Column("double_id", "integer", True, None, "", "(id * 2)", None),
        )
    }
    assert snapshot.indexes == {
        "app.account_lower_name": (
            "CREATE INDEX account_lower_name ON app.account USING btree (lower(name))"
        ),
        "app.account_pkey": "CREATE UNIQUE INDEX account_pkey ON app.account USING btree (id)",
    }
    assert snapshot.constraints == {
        "account_pkey on app.account": "PRIMARY KEY (id)",
        "name_not_blank on app.account": "CHECK (name <> ''::text)",
    }
    assert list(snapshot.views) == ["happy_accounts"]
    assert "WHERE account.feeling = 'happy'::mood" in snapshot.views["happy_accounts"]
    assert list(snapshot.functions) == ["touch()"]
    assert "RETURN NEW" in snapshot.functions["touch()"]
    assert snapshot.triggers == {
        "account_touch on app.account": (
            "CREATE TRIGGER account_touch BEFORE UPDATE ON app.account "
            "FOR EACH ROW EXECUTE FUNCTION touch()"
        )
    }
    assert snapshot.sequences["invoice_number"] == (
        "bigint start 100 increment 10 min 1 max 9223372036854775807"
    )
    assert "app.account_id_seq" in snapshot.sequences  # the identity's
    assert snapshot.extensions == {"plpgsql": "1.0"}
    assert f"SELECT on app.account to {reader}" in snapshot.grants
    assert snapshot.enums == {"mood": ("sad", "ok", "happy")}


def test_alembic_version_is_left_out(database: Psql) -> None:
    database.run("CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY);")
    database.run("INSERT INTO alembic_version VALUES ('abc123');")
    snapshot = take_snapshot(database, VersionTable())
    assert snapshot.tables == {}
    assert snapshot.indexes == {}
    assert snapshot.constraints == {}


def test_exactly_the_projects_version_table_is_left_out_wherever_it_is(database: Psql) -> None:
    # a project that keeps it in a schema of its own; public's alembic_version is then a table
    # of the project's like any other
    database.run(
        "CREATE SCHEMA app_meta;"
        "CREATE TABLE app_meta.alembic_version (version_num varchar(32) PRIMARY KEY);"
        "CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY);"
        "GRANT SELECT ON app_meta.alembic_version TO PUBLIC;"
    )
    snapshot = take_snapshot(database, VersionTable("app_meta", "alembic_version"))
    assert list(snapshot.tables) == ["alembic_version"]
    assert list(snapshot.indexes) == ["alembic_version_pkey"]
    assert snapshot.grants == frozenset()
    assert list(table_rows(database, VersionTable("app_meta", "alembic_version"))) == [
        "alembic_version"
    ]


def test_an_empty_database_has_an_empty_snapshot(database: Psql) -> None:
    snapshot = take_snapshot(database, VersionTable())
    assert (snapshot.tables, snapshot.views, snapshot.functions, snapshot.enums) == ({}, {}, {}, {})


def test_objects_of_an_extension_are_left_out(database: Psql) -> None:
    available = database.json("SELECT 1 AS x FROM pg_available_extensions WHERE name = 'citext'")
    if not available:  # contrib is part of Debian's postgresql; elsewhere it may be absent
        return
    database.run("CREATE EXTENSION citext;")
    snapshot = take_snapshot(database, VersionTable())
    assert "citext" in snapshot.extensions
    assert not any(name.startswith("citext") for name in snapshot.functions)
