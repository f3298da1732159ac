from __future__ import annotations

import ast
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from stager.migrations.kinds import classify_kind
from stager.migrations.operations import extract_operations, literal_sql
from stager.migrations.revision_files import Operation, OperationDetails, Receiver
from stager.migrations.sql import statement_kinds
from stager.render.formats import operation_to_json
from stager.types import MigrationKind


def ops(upgrade: str, downgrade: str = "pass", prelude: str = "") -> tuple[Operation, ...]:
    source = (
        "from alembic import op\nimport sqlalchemy as sa\nfrom sqlalchemy import text\n"
        + textwrap.dedent(prelude)
        + "\ndef upgrade():\n"
        + textwrap.indent(textwrap.dedent(upgrade), "    ")
        + "\n\ndef downgrade():\n"
        + textwrap.indent(textwrap.dedent(downgrade), "    ")
        + "\n"
    )
    return extract_operations(ast.parse(source))


def test_schema_operations_with_tables_and_columns() -> None:
    found = ops(
        """
        op.create_table(
            "users",
            sa.Column("id", sa.Integer(), primary_key=True),
            sa.Column("email", sa.String(200), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )
        op.add_column("orgs", sa.Column("note", sa.Text(), nullable=True))
        op.alter_column(
            "orgs", "name", nullable=False, type_=sa.String(100), new_column_name="title"
        )
        op.create_index(op.f("ix_users_email"), "users", ["email"], unique=True)
        op.create_foreign_key("fk_u_o", "users", "orgs", ["org_id"], ["id"])
        op.create_unique_constraint("uq", table_name="orgs", columns=["slug"])
        op.drop_constraint("ck_old", "orgs", type_="check")
        op.rename_table("old", "new")
        op.drop_index("ix_old", table_name="orgs")
        """,
        'op.drop_table("users")',
    )
    summary = [(o.name, o.table, o.columns, o.function) for o in found]
    assert summary == [
        ("create_table", "users", ("id", "email"), "upgrade"),
        ("add_column", "orgs", ("note",), "upgrade"),
        ("alter_column", "orgs", ("name",), "upgrade"),
        ("create_index", "users", ("email",), "upgrade"),
        ("create_foreign_key", "users", ("org_id",), "upgrade"),
        ("create_unique_constraint", "orgs", ("slug",), "upgrade"),
        ("drop_constraint", "orgs", (), "upgrade"),
        ("rename_table", "old", (), "upgrade"),
        ("drop_index", "orgs", (), "upgrade"),
        ("drop_table", "users", (), "downgrade"),
    ]
    alter = found[2]
    assert alter.details.nullable is False
    assert alter.details.type_ == "sa.String(100)"
    assert alter.details.new_column_name == "title"
    assert found[3].details == OperationDetails(name="ix_users_email", unique=True)
    assert found[7].details.new_table_name == "new"
    assert found[0].line == 7
    # the renames make it destructive; the drop is in downgrade and does not count
    assert classify_kind(found) is MigrationKind.DESTRUCTIVE
    assert classify_kind([*found[:2], *found[3:7], found[8], found[9]]) is MigrationKind.ADDITIVE


def test_batch_alter_table_block() -> None:
    found = ops(
        """
        with op.batch_alter_table("accounts", schema=None) as batch_op:
            batch_op.add_column(sa.Column("flag", sa.Boolean()))
            batch_op.drop_column("legacy")
            batch_op.create_index("ix_flag", ["flag"])
        op.add_column("other", sa.Column("x", sa.Integer()))
        """
    )
    assert [(o.name, o.table, o.columns, o.details.batch) for o in found] == [
        ("batch_alter_table", "accounts", (), False),
        ("add_column", "accounts", ("flag",), True),
        ("drop_column", "accounts", ("legacy",), True),
        ("create_index", "accounts", ("flag",), True),
        ("add_column", "other", ("x",), False),
    ]
    assert classify_kind(found) is MigrationKind.DESTRUCTIVE


@pytest.mark.parametrize(
    ("call", "sql"),
    [
        ('op.execute("UPDATE t SET a = 1")', "UPDATE t SET a = 1"),
        ('op.execute(sa.text("DELETE FROM t"))', "DELETE FROM t"),
        ('op.execute(text("INSERT INTO t VALUES (1)"))', "INSERT INTO t VALUES (1)"),
        ('op.execute(sa.text("SELECT 1").bindparams(x=1))', "SELECT 1"),
        ('op.execute("INSERT INTO t " "VALUES (1)")', "INSERT INTO t VALUES (1)"),
        ('op.execute("INSERT INTO t " + "VALUES (2)")', "INSERT INTO t VALUES (2)"),
        ('op.execute(f"DROP TABLE t")', "DROP TABLE t"),
        ('op.execute(sqltext="TRUNCATE t")', "TRUNCATE t"),
        ('op.execute(f"UPDATE {schema}.t SET a = 1")', None),
        ('op.execute("UPDATE %s SET a = 1" % table)', None),
        ('op.execute("UPDATE {} SET a = 1".format(table))', None),
        ("op.execute(SQL)", None),
        ("op.execute(sa.text(SQL))", None),
    ],
)
def test_execute_literal_or_opaque(call: str, sql: str | None) -> None:
    [found] = ops(call)
    assert found.name == "execute"
    assert found.sql == sql
    if sql is None:
        assert found.details.statements is None
        assert classify_kind([found]) is MigrationKind.DATA


def test_execute_with_sqlalchemy_builders() -> None:
    found = ops(
        """
        op.execute(accounts.update().where(accounts.c.id == 1).values(flag=True))
        op.execute(sa.insert(accounts).values(id=1))
        op.execute(sa.delete(accounts))
        """,
        prelude='accounts = sa.table("accounts", sa.column("id"))\n',
    )
    assert [o.details.statements for o in found] == [("UPDATE",), ("INSERT",), ("DELETE",)]
    assert [o.sql for o in found] == [None, None, None]
    assert classify_kind(found[1:2]) is MigrationKind.REFERENCE_DATA
    assert classify_kind(found) is MigrationKind.DATA


def test_sqlalchemy_builders_carry_their_table() -> None:
    found = ops(
        """
        t = sa.table("user", sa.column("x"))
        op.execute(t.update().values(x="owner"))
        bind = op.get_bind()
        bind.execute(t.update().where(t.c.x == "a").values(x="b"))
        op.execute(t.delete().where(t.c.x == "a"))
        op.execute(sa.update(accounts).values(x="c"))
        op.execute(sa.table("inline").delete())
        op.execute(unknown.delete())
        """,
        prelude='accounts = sa.table("accounts", sa.column("id"))\n',
    )
    assert [(o.table, o.details.statements, o.details.where) for o in found] == [
        ("user", ("UPDATE",), False),
        ("user", ("UPDATE",), True),
        ("user", ("DELETE",), True),
        ("accounts", ("UPDATE",), False),
        ("inline", ("DELETE",), False),
        (None, ("DELETE",), False),
    ]


def test_connections_made_from_the_bind_and_bound_builders_are_followed() -> None:
    found = ops(
        """
        conn = op.get_bind().execution_options(isolation_level="AUTOCOMMIT")
        conn.execute(sa.text("ALTER TYPE user_role ADD VALUE 'owner'"))
        with op.get_bind().begin() as tx:
            tx.execute(sa.text("DELETE FROM audit"))
        t = sa.table("member", sa.column("role"))
        stmt = t.update().values(role="owner")
        op.execute(stmt)
        """
    )
    assert [(o.name, o.table, o.details.statements) for o in found] == [
        ("execute", None, ("ALTER TYPE ADD VALUE",)),
        ("execute", "audit", ("DELETE",)),
        ("execute", "member", ("UPDATE",)),
    ]
    assert "owner" in found[2].literals
    assert classify_kind(found) is MigrationKind.DATA


def test_batch_alter_table_keeps_recreate() -> None:
    found = ops(
        """
        with op.batch_alter_table("accounts", recreate="always") as batch_op:
            batch_op.drop_column("legacy")
        """
    )
    assert found[0].name == "batch_alter_table"
    assert found[0].details.recreate == "always"


def test_enum_columns_record_their_type_even_when_it_exists_already() -> None:
    found = ops(
        """
        op.create_table(
            "member",
            sa.Column("id", sa.Integer()),
            sa.Column("role", role),
            sa.Column("kind", kind),
            sa.Column("status", postgresql.ENUM("p", name="status", create_type=False)),
            sa.Column("plain", plain),
        )
        op.add_column("other", sa.Column("role", role))
        local = postgresql.ENUM("x", name="local_type", create_type=False)
        op.add_column("other", sa.Column("local", local))
        """,
        prelude=(
            "from sqlalchemy.dialects import postgresql\n"
            'role = postgresql.ENUM("a", "b", name="user_role", create_type=False)\n'
            'kind = sa.Enum("x", name="kind")\n'
            "plain = sa.Integer()\n"
        ),
    )
    assert [(o.name, o.details.enums) for o in found] == [
        ("create_table", ("user_role", "kind", "status")),
        ("add_column", ("user_role",)),
        ("add_column", ("local_type",)),
    ]


def test_bulk_insert_table_names() -> None:
    found = ops(
        """
        roles = sa.table("roles", sa.column("name"))
        op.bulk_insert(roles, [{"name": "admin"}])
        op.bulk_insert(sa.table("kinds", sa.column("k")), [])
        op.bulk_insert(MODULE_LEVEL, [])
        """,
        prelude='MODULE_LEVEL = sa.Table("levels", sa.MetaData())\n',
    )
    assert [(o.name, o.table) for o in found] == [
        ("bulk_insert", "roles"),
        ("bulk_insert", "kinds"),
        ("bulk_insert", "levels"),
    ]
    assert classify_kind(found) is MigrationKind.REFERENCE_DATA


def test_helpers_one_level_deep() -> None:
    found = ops(
        "_drop_legacy()\n_drop_legacy()\nop.add_column('t', sa.Column('c', sa.Integer()))",
        prelude=textwrap.dedent(
            """
            def _drop_legacy():
                op.drop_column("t", "legacy")
                _deeper()

            def _deeper():
                op.drop_table("never_seen")
            """
        ),
    )
    assert [(o.name, o.function, o.line) for o in found] == [
        ("drop_column", "upgrade", 6),
        ("add_column", "upgrade", 15),
    ]


def test_connection_and_session_data_changes() -> None:
    found = ops(
        """
        bind = op.get_bind()
        if bind.dialect.name == "postgresql":
            bind.execute(sa.text("UPDATE t SET a = 2"))
        op.get_bind().execute(sa.text(f"DELETE FROM {name}"))
        session = Session(bind=bind)
        session.add(Thing())
        session.query(Thing).filter_by(x=1).update({"x": 2})
        session.commit()
        """
    )
    assert [(o.name, o.sql, o.details.receiver or o.details.method) for o in found] == [
        ("execute", "UPDATE t SET a = 2", Receiver.CONNECTION),
        ("execute", None, Receiver.CONNECTION),
        ("orm", None, "add"),
        ("orm", None, "update"),
    ]
    assert classify_kind(found) is MigrationKind.DATA


def test_autocommit_block_and_aliased_op() -> None:
    source = textwrap.dedent(
        """
        from alembic import op as alembic_op

        def upgrade():
            with alembic_op.get_context().autocommit_block():
                alembic_op.execute("ALTER TYPE role ADD VALUE 'BETA'")
        """
    )
    found = extract_operations(ast.parse(source))
    assert [(o.name, o.details.statements) for o in found] == [
        ("autocommit_block", None),
        ("execute", ("ALTER TYPE ADD VALUE",)),
    ]
    assert classify_kind(found) is MigrationKind.ADDITIVE


def test_no_upgrade_function_and_pass() -> None:
    assert extract_operations(ast.parse("x = 1\n")) == ()
    assert ops("pass") == ()
    assert classify_kind(()) is MigrationKind.EMPTY


@pytest.mark.parametrize(
    ("upgrade", "kind"),
    [
        ("op.create_table('t', sa.Column('id', sa.Integer()))", MigrationKind.ADDITIVE),
        ("op.add_column('t', sa.Column('c', sa.Integer()))", MigrationKind.ADDITIVE),
        ("op.execute('CREATE INDEX i ON t (c)')", MigrationKind.ADDITIVE),
        ("op.execute(\"INSERT INTO roles VALUES ('a')\")", MigrationKind.REFERENCE_DATA),
        ("op.create_table('t')\nop.bulk_insert(t, [])", MigrationKind.REFERENCE_DATA),
        ("op.execute('UPDATE t SET a = 1')", MigrationKind.DATA),
        ("op.execute('DELETE FROM t WHERE a = 1')", MigrationKind.DATA),
        ("op.execute('this is not sql')", MigrationKind.DATA),
        ("op.execute(f'UPDATE {t} SET a = 1')", MigrationKind.DATA),
        ("op.drop_table('t')", MigrationKind.DESTRUCTIVE),
        ("op.drop_column('t', 'c')", MigrationKind.DESTRUCTIVE),
        ("op.execute('DROP TABLE t')", MigrationKind.DESTRUCTIVE),
        ("op.execute('ALTER TABLE t DROP COLUMN c')", MigrationKind.DESTRUCTIVE),
        # a rename breaks the code still running, as a drop does
        ("op.rename_table('t', 'u')", MigrationKind.DESTRUCTIVE),
        ("op.alter_column('t', 'c', new_column_name='d')", MigrationKind.DESTRUCTIVE),
        ("op.alter_column('t', 'c', new_column_name=None)", MigrationKind.ADDITIVE),
        (
            "with op.batch_alter_table('t') as b:\n    b.alter_column('c', new_column_name='d')",
            MigrationKind.DESTRUCTIVE,
        ),
        ("op.execute('ALTER TABLE t RENAME TO u')", MigrationKind.DESTRUCTIVE),
        ("op.execute('ALTER TABLE t RENAME COLUMN c TO d')", MigrationKind.DESTRUCTIVE),
        ("op.execute('ALTER INDEX i RENAME TO j')", MigrationKind.ADDITIVE),
        ("op.execute('UPDATE t SET a = 1')\nop.drop_column('t', 'c')", MigrationKind.DESTRUCTIVE),
        ("op.execute('')", MigrationKind.EMPTY),
        ("pass", MigrationKind.EMPTY),
    ],
)
def test_classify_kind(upgrade: str, kind: MigrationKind) -> None:
    assert classify_kind(ops(upgrade, downgrade="op.drop_table('t')")) is kind


def test_upgrade_calling_an_imported_helper_is_an_opaque_data_change() -> None:
    source = textwrap.dedent(
        """
        from alembic import op
        import logging
        import sqlalchemy as sa
        from app.migrations import helpers
        from .util import add_timestamps as stamps

        log = logging.getLogger(__name__)

        def local():
            stamps("product")

        def upgrade():
            log.info("start")
            sa.Column("x", helpers.UUIDType())
            helpers.backfill(op.get_bind(), "product")
            local()

        def downgrade():
            pass
        """
    )
    found = extract_operations(ast.parse(source))
    assert [(o.name, o.details) for o in found] == [
        ("call", OperationDetails(function="helpers.backfill", module="app.migrations")),
        ("call", OperationDetails(function="stamps", module=".util")),
    ]
    assert classify_kind(found) is MigrationKind.DATA
    assert classify_kind(ops("logging.info('x')\nprint('y')", prelude="import logging\n")) is (
        MigrationKind.EMPTY
    )


def test_classify_kind_without_precomputed_statements() -> None:
    operation = Operation("execute", "upgrade", 1, sql="DELETE FROM t")
    assert classify_kind([operation]) is MigrationKind.DATA


@pytest.mark.parametrize(
    ("sql", "kinds"),
    [
        ("INSERT INTO a VALUES (1); UPDATE t SET x = 1", ["INSERT", "UPDATE"]),
        (
            "ALTER TABLE t DROP COLUMN x, ADD COLUMN y int",
            ["ALTER TABLE DROP COLUMN", "ALTER TABLE ADD COLUMN"],
        ),
        ("ALTER TABLE ONLY t ALTER COLUMN x SET NOT NULL", ["ALTER TABLE SET NOT NULL"]),
        (
            "DROP TABLE t; DROP VIEW v; DROP MATERIALIZED VIEW m",
            ["DROP TABLE", "DROP VIEW", "DROP MATERIALIZED VIEW"],
        ),
        (
            "ALTER TYPE e ADD VALUE 'x'; ALTER TYPE e RENAME VALUE 'a' TO 'b'",
            ["ALTER TYPE ADD VALUE", "ALTER TYPE RENAME VALUE"],
        ),
        (
            "CREATE UNIQUE INDEX CONCURRENTLY i ON t (x); CREATE INDEX j ON t (y)",
            ["CREATE UNIQUE INDEX", "CREATE INDEX"],
        ),
        ("CREATE OR REPLACE VIEW v AS SELECT 1", ["CREATE VIEW"]),
        ("ALTER TABLE t RENAME COLUMN a TO b", ["RENAME COLUMN"]),
        (
            "WITH gone AS (DELETE FROM t RETURNING *) INSERT INTO u SELECT * FROM gone",
            ["DELETE", "INSERT"],
        ),
        ("TRUNCATE t", ["TRUNCATE"]),
        ("  ", []),
        ("UPDATE t SET", ["UNPARSABLE"]),
        ("{{ jinja }}", ["UNPARSABLE"]),
    ],
)
def test_statement_kinds(sql: str, kinds: list[str]) -> None:
    assert statement_kinds(sql) == kinds


def test_literal_sql_helper() -> None:
    assert literal_sql(ast.parse("'a' 'b'", mode="eval").body) == "ab"
    assert literal_sql(ast.parse("1", mode="eval").body) is None


def test_pglast_is_imported_only_when_there_is_sql() -> None:
    code = textwrap.dedent(
        """
        import sys
        from stager.migrations.compare import analyze_migrations
        from stager.migrations.parse import parse_migration
        assert "pglast" not in sys.modules and "networkx" not in sys.modules
        src = b"from alembic import op\\nrevision = 'a'\\n"
        src += b"def upgrade():\\n    op.add_column('t', c)\\n"
        parse_migration("v/a.py", "0" * 40, src)
        assert "pglast" not in sys.modules
        parse_migration("v/b.py", "1" * 40, src + b"    op.execute('UPDATE t SET a = 1')\\n")
        assert "pglast" in sys.modules
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --- what the migration rules need (issue 4) ---------------------------------------


def test_autocommit_block_marks_its_operations() -> None:
    found = ops(
        """
        op.execute("SELECT 1")
        with op.get_context().autocommit_block():
            op.create_index("ix", "t", ["c"], postgresql_concurrently=True)
            op.get_bind().execute(sa.text("ALTER TYPE e ADD VALUE 'x'"))
        op.drop_index("ix_old", table_name="t")
        """
    )
    assert [(o.name, o.details.autocommit) for o in found] == [
        ("execute", False),
        ("autocommit_block", False),
        ("create_index", True),
        ("execute", True),
        ("drop_index", False),
    ]


def test_added_column_details() -> None:
    [plain, strict, keyed, generated] = ops(
        """
        op.add_column("t", sa.Column("a", sa.Text()))
        op.add_column("t", sa.Column("b", sa.Integer(), nullable=False, server_default="0"))
        op.add_column(
            "t", sa.Column("c", sa.Integer(), sa.ForeignKey("u.id"), unique=True, primary_key=True)
        )
        op.add_column("t", sa.Column("d", sa.Integer(), sa.Identity()))
        """
    )
    assert plain.details == OperationDetails(type_="sa.Text()")
    assert strict.details == OperationDetails(
        type_="sa.Integer()", nullable=False, server_default="0"
    )
    assert keyed.details.foreign_key
    assert keyed.details.unique is keyed.details.primary_key is True
    assert generated.details.identity == "sa.Identity()"


def test_enum_types_created_and_dropped() -> None:
    found = ops(
        """
        role.create(op.get_bind(), checkfirst=True)
        sa.Enum("x", "y", name="kind").drop(op.get_bind())
        local = postgresql.ENUM("p", name="level")
        local.create(op.get_bind())
        postgresql.ENUM(name="old", create_type=False).drop(op.get_bind())
        op.create_table("t", sa.Column("r", sa.Enum("a", name="state")), sa.Column("i", sa.Integer))
        """,
        prelude='role = postgresql.ENUM("a", "b", name="user_role")\n',
    )
    assert [(o.name, o.details.name, o.details.values) for o in found] == [
        ("create_enum", "user_role", ("a", "b")),
        ("drop_enum", "kind", ("x", "y")),
        ("create_enum", "level", ("p",)),
        ("create_table", None, ()),
    ]
    assert found[-1].details.enums == ("state",)
    assert classify_kind(found) is MigrationKind.ADDITIVE


def test_literals_of_rows_and_builders() -> None:
    found = ops(
        """
        roles = op.create_table("roles", sa.Column("name", sa.Text()))
        op.bulk_insert(roles, [{"name": "ADMIN"}, {"name": "BETA"}])
        op.execute(accounts.update().where(accounts.c.id == 1).values(role="BETA"))
        op.execute(accounts.delete())
        op.execute(sa.text("UPDATE a SET r = :r").bindparams(r="GAMMA"))
        op.execute("UPDATE a SET r = 'DELTA'")
        """,
        prelude='accounts = sa.table("accounts", sa.column("role"))\n',
    )
    bulk, update, delete, bound, literal = found[1:]
    assert bulk.table == "roles"  # bound by `roles = op.create_table("roles", ...)`
    assert bulk.literals == {"ADMIN", "BETA", "name"}
    assert "BETA" in update.literals and update.details.where is True
    assert delete.details.where is False
    assert "GAMMA" in bound.literals
    assert literal.literals == frozenset()  # literal SQL is read by pglast instead


def test_execute_carries_the_table_and_columns_of_its_sql() -> None:
    found = ops(
        'op.execute("ALTER TABLE users DROP COLUMN legacy")\n'
        'op.get_bind().execute(text("UPDATE users SET a = 1, b = 2 WHERE id = 3"))\n'
        'op.execute("UPDATE a SET x = 1 WHERE id = 1; UPDATE b SET y = 2 WHERE id = 2")\n'
        "op.execute(sql)"
    )
    assert [(op.table, op.columns) for op in found] == [
        ("users", ("legacy",)),
        ("users", ()),
        (None, ()),  # two tables: none is the operation's
        (None, ()),  # opaque
    ]


def test_a_call_remembers_its_last_line() -> None:
    found = ops('op.alter_column(\n    "t",\n    "c",\n    nullable=False,\n)')
    assert found[0].end_line == found[0].line + 4


# --- details as the JSON shows them (docs/json-output.md) -----------------------------


def json_details(upgrade: str) -> list[dict[str, str]]:
    return [operation_to_json(o)["details"] for o in ops(upgrade)]


def test_details_in_json_are_the_strings_documented() -> None:
    assert json_details(
        """
        op.alter_column("t", "c", server_default=None, nullable=False, new_column_name=None)
        op.alter_column("t", "c", type_=None, nullable=flag, existing_nullable=True)
        op.create_index("ix", "t", ["c"], unique=True, postgresql_concurrently=False)
        op.create_table("t", sa.Column("r", sa.Enum("a", name="e"), sa.ForeignKey("u.id")))
        op.execute(sa.table("t").delete())
        op.execute("")
        with op.batch_alter_table("t") as batch_op:
            batch_op.add_column(sa.Column("a", sa.Integer(), sa.ForeignKey("u.id")))
        """
    ) == [
        {"server_default": "None", "nullable": "False"},
        {"existing_nullable": "True"},
        {"name": "ix", "unique": "True", "postgresql_concurrently": "False"},
        {"enums": "e", "references": "u"},
        {"statements": "DELETE", "where": "false"},
        {"statements": ""},
        {},
        {"batch": "true", "type_": "sa.Integer()", "foreign_key": "True"},
    ]


def test_every_detail_is_documented() -> None:
    docs = (Path(__file__).parents[2] / "docs" / "json-output.md").read_text(encoding="utf-8")
    table = docs[docs.index("| detail | on | meaning |") : docs.index("## `alembic`")]
    documented = set(re.findall(r"`(\w+)`", table.split("\n", 2)[2]))
    shown = set(OperationDetails._fields) - {"drops_default"}
    assert shown <= documented
