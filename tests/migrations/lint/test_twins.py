"""The same change written with ``op.*`` or as raw SQL meets the same rules."""

from __future__ import annotations

import pytest

from tests.migrations.lint.revisions import rule_ids

TWINS = [
    ("SM001", 'op.drop_table("orders")', "DROP TABLE orders"),
    ("SM002", 'op.drop_column("orders", "note")', "ALTER TABLE orders DROP COLUMN note"),
    (
        "SM003",
        'op.add_column("orders", sa.Column("title", sa.Text()))\nop.drop_column("orders", "name")',
        "ALTER TABLE orders ADD COLUMN title text; ALTER TABLE orders DROP COLUMN name",
    ),
    (
        "SM004",
        'op.alter_column("orders", "name", new_column_name="title")',
        "ALTER TABLE orders RENAME COLUMN name TO title",
    ),
    ("SM005", 'op.rename_table("orders", "purchases")', "ALTER TABLE orders RENAME TO purchases"),
    (
        "SM006",
        'op.add_column("orders", sa.Column("n", sa.Integer(), nullable=False))',
        "ALTER TABLE orders ADD COLUMN n integer NOT NULL",
    ),
    (
        "SM007",
        'op.add_column("orders", sa.Column("u", sa.Uuid(), '
        'server_default=sa.text("gen_random_uuid()")))',
        "ALTER TABLE orders ADD COLUMN u uuid DEFAULT gen_random_uuid()",
    ),
    (
        "SM008",
        'op.alter_column("orders", "n", nullable=False)',
        "ALTER TABLE orders ALTER COLUMN n SET NOT NULL",
    ),
    (
        "SM009",
        'op.alter_column("orders", "n", type_=sa.BigInteger())',
        "ALTER TABLE orders ALTER COLUMN n TYPE bigint",
    ),
    (
        "SM010",
        'op.create_index("ix_orders_n", "orders", ["n"])',
        "CREATE INDEX ix_orders_n ON orders (n)",
    ),
    (
        "SM011",
        'op.drop_index("ix_orders_n", table_name="orders")',
        "DROP INDEX ix_orders_n",
    ),
    (
        "SM012",
        'op.create_index("ix_orders_n", "orders", ["n"], postgresql_concurrently=True)',
        "CREATE INDEX CONCURRENTLY ix_orders_n ON orders (n)",
    ),
    (
        "SM013",
        'op.create_foreign_key("fk_o_c", "orders", "customer", ["customer_id"], ["id"])',
        "ALTER TABLE orders ADD CONSTRAINT fk_o_c FOREIGN KEY (customer_id) "
        "REFERENCES customer (id)",
    ),
    (
        "SM014",
        'op.create_check_constraint("ck_n", "orders", "n > 0")',
        "ALTER TABLE orders ADD CONSTRAINT ck_n CHECK (n > 0)",
    ),
    (
        "SM015",
        'op.create_unique_constraint("uq_n", "orders", ["n"])',
        "ALTER TABLE orders ADD CONSTRAINT uq_n UNIQUE (n)",
    ),
    (
        "SM015",
        'op.create_index("uq_n", "orders", ["n"], unique=True)',
        "CREATE UNIQUE INDEX uq_n ON orders (n)",
    ),
    (
        "SM016",
        'op.create_primary_key("pk_orders", "orders", ["id"])',
        "ALTER TABLE orders ADD CONSTRAINT pk_orders PRIMARY KEY (id)",
    ),
    (
        "SM019",
        'sa.Enum("a", name="user_role").drop(op.get_bind())',
        "DROP TYPE user_role",
    ),
    (
        "SM020",
        'orders = sa.table("orders", sa.column("id"))\n'
        "op.execute(orders.delete().where(orders.c.id < 10))",
        "DELETE FROM orders WHERE id < 10",
    ),
    (
        "SM021",
        'orders = sa.table("orders", sa.column("id"))\nop.bulk_insert(orders, [{"id": 1}])',
        "INSERT INTO orders (id) VALUES (1)",
    ),
    (
        "SM022",
        'orders = sa.table("orders", sa.column("n"))\nop.execute(orders.update().values(n=0))',
        "UPDATE orders SET n = 0",
    ),
]


@pytest.mark.parametrize(("rule", "op_form", "sql"), TWINS, ids=[t[0] for t in TWINS])
def test_op_and_sql_meet_the_same_rules(rule: str, op_form: str, sql: str) -> None:
    with_op = rule_ids(op_form)
    with_sql = rule_ids(f"op.execute({sql!r})")
    assert rule in with_op
    assert with_op == with_sql


def test_sa_text_and_connection_execute_are_sql_too() -> None:
    expected = rule_ids('op.drop_column("orders", "note")')
    for form in (
        'op.execute(sa.text("ALTER TABLE orders DROP COLUMN note"))',
        'op.get_bind().execute(sa.text("ALTER TABLE orders DROP COLUMN note"))',
        'conn = op.get_bind()\nconn.exec_driver_sql("ALTER TABLE orders DROP COLUMN note")',
        'with op.batch_alter_table("orders") as batch_op:\n    batch_op.drop_column("note")',
    ):
        assert rule_ids(form) == expected, form


def test_concurrently_in_an_autocommit_block_either_way() -> None:
    block = "with op.get_context().autocommit_block():\n    "
    with_op = rule_ids(
        block + 'op.create_index("ix_n", "orders", ["n"], postgresql_concurrently=True)'
    )
    with_sql = rule_ids(block + 'op.execute("CREATE INDEX CONCURRENTLY ix_n ON orders (n)")')
    assert with_op == with_sql == set()  # SM027: the block is alone in its revision
