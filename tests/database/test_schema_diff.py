"""The difference between two snapshots, taken of a real database before and after DDL."""

from __future__ import annotations

from stager.database.psql import Psql
from stager.database.schema_diff import Action, Change, diff_snapshots
from stager.database.snapshot import take_snapshot
from stager.types import VersionTable

BASE = """
CREATE TYPE status AS ENUM ('new', 'paid');
CREATE TABLE invoice (id serial PRIMARY KEY, amount numeric NOT NULL, note text);
CREATE INDEX invoice_amount ON invoice (amount);
"""


def _changes(database: Psql, ddl: str) -> tuple[Change, ...]:
    database.run(BASE)
    before = take_snapshot(database, VersionTable())
    database.run(ddl)
    return diff_snapshots(before, take_snapshot(database, VersionTable())).changes


def test_the_same_schema_has_no_difference(database: Psql) -> None:
    database.run(BASE)
    diff = diff_snapshots(
        take_snapshot(database, VersionTable()), take_snapshot(database, VersionTable())
    )
    assert diff.empty
    assert diff.summary() == "none"


def test_tables_columns_and_indexes_added_dropped_and_changed(database: Psql) -> None:
    changes = _changes(
        database,
        """
        CREATE TABLE customer (id int PRIMARY KEY);
        ALTER TABLE invoice ADD COLUMN customer_id int REFERENCES customer (id);
        ALTER TABLE invoice DROP COLUMN note;
        ALTER TABLE invoice ALTER COLUMN amount DROP NOT NULL;
        DROP INDEX invoice_amount;
        """,
    )
    assert [change.line() for change in changes] == [
        "+ table customer",
        "- column invoice.note",
        "+ column invoice.customer_id: integer",
        "~ column invoice.amount: nullable False → True",
        "- index invoice_amount",
        "+ index customer_pkey: "
        "CREATE UNIQUE INDEX customer_pkey ON public.customer USING btree (id)",
        "+ constraint customer_pkey on customer: PRIMARY KEY (id)",
        "+ constraint invoice_customer_id_fkey on invoice: "
        "FOREIGN KEY (customer_id) REFERENCES customer(id)",
    ]


def test_views_functions_triggers_and_enum_values(database: Psql) -> None:
    changes = _changes(
        database,
        """
        CREATE VIEW big AS SELECT id FROM invoice WHERE amount > 100;
        CREATE FUNCTION keep() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
        CREATE TRIGGER invoice_keep BEFORE INSERT ON invoice FOR EACH ROW EXECUTE FUNCTION keep();
        ALTER TYPE status ADD VALUE 'void';
        """,
    )
    assert [(c.kind, c.name, c.action) for c in changes] == [
        ("view", "big", Action.ADDED),
        ("function", "keep()", Action.ADDED),
        ("trigger", "invoice_keep on invoice", Action.ADDED),
        ("enum value", "status.void", Action.ADDED),
    ]


def test_enum_label_order_is_a_change(database: Psql) -> None:
    database.run("CREATE TYPE status AS ENUM ('new', 'paid');")
    before = take_snapshot(database, VersionTable())
    database.run("DROP TYPE status; CREATE TYPE status AS ENUM ('paid', 'new');")
    diff = diff_snapshots(before, take_snapshot(database, VersionTable()))
    assert [change.line() for change in diff.changes] == [
        "~ enum status: label order ('new', 'paid') → ('paid', 'new')"
    ]


def test_column_order_alone_is_only_a_warning(database: Psql) -> None:
    database.run("CREATE TABLE t (a int, b int);")
    before = take_snapshot(database, VersionTable())
    database.run("DROP TABLE t; CREATE TABLE t (b int, a int);")
    diff = diff_snapshots(before, take_snapshot(database, VersionTable()))
    assert diff.empty
    assert diff.column_order == ("t",)


def test_the_summary_counts_by_kind(database: Psql) -> None:
    database.run(BASE)
    before = take_snapshot(database, VersionTable())
    database.run(
        "ALTER TABLE invoice ADD COLUMN a int, ADD COLUMN b int; DROP INDEX invoice_amount;"
    )
    diff = diff_snapshots(before, take_snapshot(database, VersionTable()))
    assert diff.summary() == "+2 columns, -1 index"
