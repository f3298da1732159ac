"""Every lint case's SQL form run on a real PostgreSQL: the message says what happens.

A case of ``tests/migrations/lint/cases/cases.toml`` with a ``postgres`` key
runs in a schema of its own, on the tables of ``cases/postgres.sql``, inside
one transaction as Alembic runs a revision (outside any, as
``autocommit_block`` would, when it holds CONCURRENTLY or VACUUM). Where the
rule's message says "rewrites", a table's relfilenode must change; where it
says the migration fails, PostgreSQL must refuse it; a safe case written as
a hint says must run, and "in place" rewrites no table.
"""

from __future__ import annotations

import json

from stager.database.errors import DatabaseError
from stager.database.psql import Psql
from tests.migrations.lint.test_cases import CASES, SET, sql_findings

SETUP = (CASES / "postgres.sql").read_text(encoding="utf-8")
RUN = [case for case in SET if "postgres" in case]

# What one case needs beyond the shared tables (each case has a schema of its own).
PREPARE = {
    "set_logged": "ALTER TABLE orders SET UNLOGGED;",
    "drop_index": "CREATE INDEX ix_n ON orders (n);",
    "reindex_concurrently": "CREATE INDEX ix_n ON orders (n);",
    "validate_alone": "ALTER TABLE orders ADD CONSTRAINT ck_n CHECK (n > 0) NOT VALID;",
    "unique_constraint": "ALTER TABLE orders ADD COLUMN code text;",
    "disable_trigger": (
        "CREATE TRIGGER t_audit AFTER UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION audit();"
    ),
    "drop_view": "CREATE VIEW order_totals AS SELECT user_id FROM orders;",
    "drop_schema_cascade": "CREATE SCHEMA billing; CREATE TABLE billing.invoices (id int);",
    "set_schema": "CREATE SCHEMA archive;",
    **dict.fromkeys(
        ("refresh_view", "refresh_view_concurrently"),
        "CREATE MATERIALIZED VIEW order_totals AS SELECT user_id, count(*) AS total "
        "FROM orders GROUP BY user_id; CREATE UNIQUE INDEX ix_totals ON order_totals (user_id);",
    ),
}


def _files(schema: str) -> str:
    """A query of each table's relfilenode, which changes when PostgreSQL rewrites the table."""
    return (
        "SELECT coalesce(json_object_agg(c.relname, c.relfilenode), '{}') FROM pg_class c "
        f"JOIN pg_namespace s ON s.oid = c.relnamespace WHERE s.nspname = '{schema}' "
        "AND c.relkind = 'r';"
    )


def _outcome(psql: Psql, name: str, sql: str) -> str:
    """What PostgreSQL did with ``sql``: "fails", "rewrite" or "in place".

    Two psql calls per case (setup, then the case), each ending with the
    snapshot of relfilenodes, keep the whole set to a few seconds.
    """
    schema = f"c_{name}"
    before = json.loads(
        psql.run(
            f"CREATE SCHEMA {schema}; SET search_path = {schema}, public;\n"
            f"{SETUP}\n{PREPARE.get(name, '')}\n{_files(schema)}"
        ).splitlines()[-1]
    )
    outside = "CONCURRENTLY" in sql.upper() or sql.lstrip().upper().startswith("VACUUM")
    body = sql if outside else f"BEGIN;\n{sql}\nCOMMIT;"
    try:
        output = psql.run(f"SET search_path = {schema}, public;\n{body}\n{_files(schema)}")
    except DatabaseError:
        return "fails"
    after = json.loads(output.splitlines()[-1])
    changed = any(after.get(table) not in (None, node) for table, node in before.items())
    return "rewrite" if changed else "in place"


def test_every_case_does_on_postgres_what_its_message_says(database: Psql) -> None:
    wrong: dict[str, tuple[str, str]] = {}
    for case in RUN:
        name, want = case["name"], case["postgres"]
        sql = (CASES / "sql" / f"{name}.sql").read_text(encoding="utf-8")
        outcome = _outcome(database, name, sql)
        # "runs" asks only that it ran; the others, exactly what happened
        if outcome != want and not (want == "runs" and outcome != "fails"):
            wrong[name] = (want, outcome)
        said = " ".join(f.message for f in sql_findings(name) or [] if f.rule == case["expect"])
        if want == "rewrite":
            assert "rewrit" in said, (name, said)
        elif want == "fails":
            assert "fail" in said or "refuse" in said, (name, said)
    assert not wrong, wrong
