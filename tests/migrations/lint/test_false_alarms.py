"""False alarms found on case sets and real projects' histories, each a regression fixture."""

from __future__ import annotations

from stager.migrations.lint.engine import Linted, lint_migrations
from stager.migrations.lint.envpy import EnvSettings
from stager.types import Risk
from tests.migrations.lint.revisions import chain, findings, rule_ids

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
