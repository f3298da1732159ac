"""False alarms found on case sets and real projects' histories, each a regression fixture."""

from __future__ import annotations

from stager.findings import Finding
from stager.migrations.lint.engine import Linted, lint_migrations
from stager.migrations.lint.envpy import EnvSettings
from stager.types import Risk
from tests.migrations.lint.revisions import UNDO, chain, findings, rule_ids

VALIDATED_CHECK = (
    'op.execute("ALTER TABLE orders ADD CONSTRAINT ck_n CHECK (n IS NOT NULL) NOT VALID")'
)


def test_set_not_null_after_a_check_validated_by_an_earlier_migration_is_no_scan() -> None:
    made = chain(
        [
            VALIDATED_CHECK,
            'op.execute("ALTER TABLE orders VALIDATE CONSTRAINT ck_n")',
            'op.alter_column("orders", "n", nullable=False)\n'
            'op.drop_constraint("ck_n", "orders", type_="check")',
        ]
    )
    sources = {migration.path: source for migration, source in made}
    group = Linted(tuple(migration for migration, _ in made), EnvSettings())
    found = lint_migrations([group], sources, 14)
    assert "SM008" not in {f.rule for f in found}
    assert "SM008" in {f.rule for f in lint_migrations([group], sources, 11)}


def test_set_not_null_after_a_check_validated_in_place_is_no_scan() -> None:
    body = (
        'op.execute("ALTER TABLE orders ADD CONSTRAINT ck_n CHECK (n IS NOT NULL)")\n'
        'op.execute("ALTER TABLE orders ALTER COLUMN n SET NOT NULL")'
    )
    assert "SM008" not in rule_ids(body)
    # not validated yet: the scan happens
    assert "SM008" in rule_ids(VALIDATED_CHECK + '\nop.alter_column("orders", "n", nullable=False)')
    # a CHECK on another column proves nothing
    assert "SM008" in rule_ids(
        'op.execute("ALTER TABLE orders ADD CONSTRAINT ck_m CHECK (m IS NOT NULL)")\n'
        'op.alter_column("orders", "n", nullable=False)'
    )


def test_update_of_a_table_created_in_the_same_migration_is_no_data_migration() -> None:
    body = (
        'op.create_table("plan", sa.Column("id", sa.Integer), sa.Column("tier", sa.Text))\n'
        "op.execute(\"UPDATE plan SET tier = 'free' WHERE tier IS NULL\")"
    )
    assert not {"SM020", "SM022"} & rule_ids(body)


def test_bounded_bookkeeping_update_is_medium() -> None:
    for where in ("id = 1", "id BETWEEN 1 AND 1000", "id IN (3, 4)"):
        [update] = [
            f
            for f in findings(f"op.execute(\"UPDATE settings SET v = 'x' WHERE {where}\")")
            if f.rule == "SM020"
        ]
        assert update.risk is Risk.MEDIUM, where
        assert "bounded" in update.message
    [wide] = [
        f
        for f in findings("op.execute(\"UPDATE settings SET v = 'x' WHERE v IS NULL\")")
        if f.rule == "SM020"
    ]
    assert wide.risk is Risk.HIGH


def test_rename_into_a_column_dropped_just_before_is_the_swap_step() -> None:
    body = (
        'op.drop_column("orders", "amount")\n'
        'op.alter_column("orders", "amount_v2", new_column_name="amount")'
    )
    found = rule_ids(body)
    assert "SM004" not in found and "SM002" in found
    other = 'op.drop_column("orders", "total")\n' + body.splitlines()[1]
    assert "SM004" in rule_ids(other)


def test_drop_after_the_data_was_copied_by_update_from_is_no_lost_rename() -> None:
    body = (
        'op.add_column("orders", sa.Column("amount_cents", sa.BigInteger()))\n'
        'op.execute("UPDATE orders SET amount_cents = o.amount * 100 FROM orders o '
        'WHERE o.id = orders.id")\n'
        'op.drop_column("orders", "amount")'
    )
    assert "SM003" not in rule_ids(body)
    uncopied = (
        'op.add_column("orders", sa.Column("amount_cents", sa.BigInteger()))\n'
        'op.drop_column("orders", "amount")'
    )
    assert "SM003" in rule_ids(uncopied)


def by_rule(upgrade: str, rule: str, downgrade: str = UNDO, prelude: str = "") -> list[Finding]:
    return [f for f in findings(upgrade, downgrade, prelude=prelude) if f.rule == rule]


def test_widening_to_text_without_existing_type_is_low_and_says_why() -> None:
    [hit] = by_rule('op.alter_column("users", "bio", type_=sa.Text())', "SM009")
    assert hit.risk is Risk.LOW and "shorter varchar" in hit.message
    written = 'op.alter_column("users", "bio", type_=sa.Text(), existing_type=sa.String(20))'
    assert not by_rule(written, "SM009")
    [narrow] = by_rule('op.alter_column("users", "n", type_=sa.BigInteger())', "SM009")
    assert narrow.risk is Risk.HIGH


def test_empty_downgrade_after_maintenance_or_an_enum_value_is_legitimate() -> None:
    for upgrade in (
        'with op.get_context().autocommit_block():\n    op.execute("VACUUM orders")',
        "op.execute(\"ALTER TYPE status ADD VALUE 'archived'\")",
        'op.execute("REFRESH MATERIALIZED VIEW CONCURRENTLY totals")',
    ):
        assert not by_rule(upgrade, "SM024", downgrade="pass"), upgrade
    assert by_rule('op.add_column("orders", sa.Column("n", sa.Integer))', "SM024", "pass")


def test_update_without_where_is_not_told_about_truncate() -> None:
    [update] = by_rule('op.execute("UPDATE orders SET n = 0")', "SM022")
    assert "TRUNCATE" not in update.hint
    [truncate] = by_rule('op.execute("TRUNCATE orders")', "SM022")
    assert "TRUNCATE" in truncate.hint


def test_exclusion_constraint_hint_never_says_using_index() -> None:
    sql = "ALTER TABLE booking ADD CONSTRAINT no_overlap EXCLUDE USING gist (room WITH =)"
    [hit] = by_rule(f'op.execute("{sql}")', "SM015")
    assert "conflict" in hit.message and "duplicates" not in hit.message
    assert "cannot be built CONCURRENTLY" in hit.hint
    [unique] = by_rule('op.create_unique_constraint("uq_email", "users", ["email"])', "SM015")
    assert "USING INDEX" in unique.hint  # the plain unique constraint keeps its recipe


def test_unique_expression_index_hint_keeps_the_index() -> None:
    sql = "CREATE UNIQUE INDEX ix_email ON users (lower(email))"
    [hit] = by_rule(f'op.execute("{sql}")', "SM015")
    assert "keep it as a unique index" in hit.hint and "ADD CONSTRAINT" not in hit.hint


def test_identity_and_generated_columns_are_no_volatile_default() -> None:
    for column in (
        'sa.Column("seq", sa.BigInteger, sa.Identity())',
        'sa.Column("total", sa.Integer, sa.Computed("a + b"))',
    ):
        [hit] = by_rule(f'op.add_column("orders", {column})', "SM007")
        assert "identity or stored generated" in hit.message and "volatile" not in hit.message
        assert "DEFAULT cannot read another column" in hit.hint


def test_drop_cascade_is_rated_as_the_drops_it_causes() -> None:
    [column] = by_rule('op.execute("DROP TYPE status CASCADE")', "SM002")
    assert column.risk is Risk.CRITICAL and "every column of that type" in column.message
    [table] = by_rule('op.execute("DROP SCHEMA billing CASCADE")', "SM001")
    assert table.risk is Risk.CRITICAL and "every table in it" in table.message
    [view] = by_rule('op.execute("DROP VIEW totals CASCADE")', "SM026")
    assert view.risk is Risk.CRITICAL
    assert not by_rule('op.execute("DROP TYPE status")', "SM002")


def test_sql_built_over_module_constants_is_read() -> None:
    prelude = 'TABLE = "orders"\nINDEX = "ix_" + TABLE\n'
    for call in (
        'op.execute(f"CREATE INDEX {INDEX} ON {TABLE} (n)")',
        'op.execute("CREATE INDEX %s ON %s (n)" % (INDEX, TABLE))',
        'op.execute("CREATE INDEX {} ON {t} (n)".format(INDEX, t=TABLE))',
        'op.execute(sa.text(f"CREATE INDEX ix ON {TABLE} (n)"))',
    ):
        found = {f.rule for f in findings(call, prelude=prelude)}
        assert "SM010" in found and "SM023" not in found, call
    # a name the function binds is not the module's constant any more
    rebound = 'TABLE = pick()\nop.execute(f"CREATE INDEX ix ON {TABLE} (n)")'
    assert "SM023" in {f.rule for f in findings(rebound, prelude=prelude)}


def test_orm_backfill_is_a_data_migration() -> None:
    body = (
        "session = sa.orm.Session(bind=op.get_bind())\n"
        "for user in session.query(User).all():\n"
        "    user.display = user.name.title()\n"
        "session.commit()"
    )
    [hit] = by_rule(body, "SM020")
    assert hit.risk is Risk.HIGH
    read_only = (
        "session = sa.orm.Session(bind=op.get_bind())\n"
        "names = [user.name for user in session.query(User)]\n"
        "session.commit()"
    )
    assert not by_rule(read_only, "SM020")


def test_dropping_an_enum_type_orphaned_by_an_earlier_migration() -> None:
    create = (
        'op.create_table("ticket", sa.Column("id", sa.Integer), '
        'sa.Column("state", sa.Enum("open", "closed", name="ticket_state")))'
    )
    drop_type = 'op.execute("DROP TYPE ticket_state")'

    def sm019(bodies: list[str]) -> list[Finding]:
        made = chain(bodies)
        sources = {migration.path: source for migration, source in made}
        group = Linted(tuple(migration for migration, _ in made), EnvSettings())
        return [f for f in lint_migrations([group], sources, 14) if f.rule == "SM019"]

    assert not sm019([create, 'op.drop_table("ticket")', drop_type])
    assert not sm019([create, 'op.drop_table("ticket")\n' + drop_type])
    assert sm019([create, drop_type])  # the table still holds the type
    add = 'op.add_column("t", sa.Column("s", sa.Enum("a", name="t_state")))'
    assert not sm019([add, 'op.drop_column("t", "s")', 'op.execute("DROP TYPE t_state")'])
    assert sm019([add, 'op.drop_column("t", "other")', 'op.execute("DROP TYPE t_state")'])


def test_sql_bound_to_a_name_in_the_function_is_read() -> None:
    body = (
        'query = sa.text("UPDATE dashboards SET tags = :tags WHERE id = :id")\n'
        "conn = op.get_bind()\n"
        "for row in rows:\n"
        "    conn.execute(query, tags=row[1], id=row[0])"
    )
    found = {f.rule for f in findings(body)}
    assert "SM020" in found and "SM023" not in found


def test_a_named_foreign_key_is_called_by_its_name() -> None:
    for body in (
        'op.create_foreign_key(constraint_name="fk_user", source_table="orders", '
        'referent_table="users", local_cols=["user_id"], remote_cols=["id"])',
        'op.execute("ALTER TABLE orders ADD COLUMN user_id int '
        'CONSTRAINT fk_user REFERENCES users (id)")',
    ):
        [hit] = by_rule(body, "SM013")
        assert "'fk_user'" in hit.message, body
