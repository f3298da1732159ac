"""One fixture per rule: a revision that breaks it and a close one that does not.

Every revision goes through the real pipeline: ``ast`` extraction, pglast for
the SQL, the checks, inline ignores.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from stager.migrations.lint.envpy import EnvSettings
from stager.rules.catalogue import RULES
from stager.types import Risk
from tests.migrations.lint.revisions import (
    UNDO,
    findings,
    line_of,
    revision_source,
    rule_ids,
)

AUTOCOMMIT = "with op.get_context().autocommit_block():\n    "
ENUM_PRELUDE = 'role = postgresql.ENUM("a", "b", name="user_role")\n'


@dataclass(frozen=True)
class Case:
    rule: str
    bad: str
    good: str
    version: int = 14
    env: EnvSettings = field(default_factory=EnvSettings)
    good_version: int | None = None  # the same change, fine on another PostgreSQL
    good_env: EnvSettings | None = None  # the same change, fine with another env.py
    bad_downgrade: str = UNDO
    good_downgrade: str = UNDO
    prelude: str = ""

    def __str__(self) -> str:
        return self.rule


CASES = [
    Case(
        "SM001", 'op.drop_table("orders")', 'op.create_table("orders", sa.Column("id", sa.Integer))'
    ),
    Case(
        "SM001",
        'op.execute("DROP TABLE orders")',
        'op.create_table("tmp", sa.Column("id", sa.Integer))\nop.drop_table("tmp")',
    ),
    Case(
        "SM002",
        'op.drop_column("orders", "note")',
        'op.add_column("orders", sa.Column("note", sa.Text(), nullable=True))',
    ),
    Case(
        "SM002",
        'with op.batch_alter_table("orders") as batch_op:\n    batch_op.drop_column("note")',
        'with op.batch_alter_table("orders") as batch_op:\n'
        '    batch_op.alter_column("note", server_default="x")',
    ),
    Case(
        "SM003",
        'op.add_column("orders", sa.Column("title", sa.Text()))\nop.drop_column("orders", "name")',
        'op.add_column("orders", sa.Column("title", sa.Text()))\nop.drop_column("users", "name")',
    ),
    Case(
        "SM003",
        'op.create_table("customer", sa.Column("id", sa.Integer))\nop.drop_table("client")',
        'op.create_table("customer", sa.Column("id", sa.Integer))',
    ),
    Case(
        "SM004",
        'op.alter_column("orders", "name", new_column_name="title")',
        'op.alter_column("orders", "name", comment="the name")',
    ),
    Case("SM005", 'op.rename_table("orders", "purchases")', 'op.create_table("purchases")'),
    Case(
        "SM006",
        'op.add_column("orders", sa.Column("n", sa.Integer(), nullable=False))',
        'op.add_column("orders", sa.Column("n", sa.Integer(), nullable=False, server_default="0"))',
    ),
    Case(
        "SM006",
        'op.execute("ALTER TABLE orders ADD COLUMN n integer NOT NULL")',
        'op.execute("ALTER TABLE orders ADD COLUMN n integer NOT NULL DEFAULT 0")',
    ),
    Case(
        "SM007",
        'op.add_column("orders", sa.Column("u", sa.Uuid(), '
        'server_default=sa.text("gen_random_uuid()")))',
        'op.add_column("orders", sa.Column("t", sa.DateTime(), server_default=sa.text("now()")))',
    ),
    Case(
        "SM007",
        'op.execute("ALTER TABLE orders ADD COLUMN n bigserial")',
        'op.execute("ALTER TABLE orders ADD COLUMN n bigint DEFAULT 0")',
    ),
    # Before PostgreSQL 11 even a constant default rewrites the table.
    Case(
        "SM007",
        'op.add_column("orders", sa.Column("n", sa.Integer(), server_default="0"))',
        'op.add_column("orders", sa.Column("n", sa.Integer(), nullable=True))',
        version=10,
    ),
    # ... and from PostgreSQL 11 the same constant default is instant
    Case(
        "SM007",
        'op.add_column("orders", sa.Column("n", sa.Integer(), server_default="0"))',
        'op.add_column("orders", sa.Column("n", sa.Integer(), server_default="0"))',
        version=10,
        good_version=11,
    ),
    Case(
        "SM008",
        'op.alter_column("orders", "n", nullable=False)',
        'op.alter_column("orders", "n", nullable=True)',
    ),
    Case(
        "SM008",
        'op.execute("ALTER TABLE orders ALTER COLUMN n SET NOT NULL")',
        'op.execute("ALTER TABLE orders ADD CONSTRAINT n_nn CHECK (n IS NOT NULL) NOT VALID")',
    ),
    Case(
        "SM009",
        'op.alter_column("orders", "n", type_=sa.BigInteger(), existing_type=sa.Integer())',
        'op.alter_column("orders", "n", server_default="0")',
    ),
    Case(
        "SM010",
        'op.create_index("ix_orders_n", "orders", ["n"])',
        AUTOCOMMIT
        + 'op.create_index("ix_orders_n", "orders", ["n"], postgresql_concurrently=True)',
    ),
    Case(
        "SM010",
        'op.execute("CREATE INDEX ix_orders_n ON orders (n)")',
        'op.create_table("orders", sa.Column("n", sa.Integer))\n'
        'op.execute("CREATE INDEX ix_orders_n ON orders (n)")',
    ),
    Case(
        "SM011",
        'op.drop_index("ix_orders_n", table_name="orders")',
        AUTOCOMMIT
        + 'op.drop_index("ix_orders_n", table_name="orders", postgresql_concurrently=True)',
    ),
    Case(
        "SM012",
        'op.create_index("ix_orders_n", "orders", ["n"], postgresql_concurrently=True)',
        AUTOCOMMIT
        + 'op.create_index("ix_orders_n", "orders", ["n"], postgresql_concurrently=True)',
    ),
    Case(
        "SM012",
        'op.execute("DROP INDEX CONCURRENTLY ix_orders_n")',
        AUTOCOMMIT + 'op.execute("DROP INDEX CONCURRENTLY ix_orders_n")',
    ),
    Case(
        "SM013",
        'op.create_foreign_key("fk_o_c", "orders", "customer", ["customer_id"], ["id"])',
        'op.create_foreign_key("fk_o_c", "orders", "customer", ["customer_id"], ["id"], '
        "postgresql_not_valid=True)",
    ),
    Case(
        "SM013",
        'op.add_column("orders", sa.Column("c", sa.Integer(), sa.ForeignKey("customer.id")))',
        'op.add_column("orders", sa.Column("c", sa.Integer()))',
    ),
    Case(
        "SM014",
        'op.create_check_constraint("ck_n", "orders", "n > 0")',
        'op.create_check_constraint("ck_n", "orders", "n > 0", postgresql_not_valid=True)',
    ),
    Case(
        "SM015",
        'op.create_unique_constraint("uq_orders_n", "orders", ["n"])',
        'op.execute("ALTER TABLE orders ADD CONSTRAINT uq_orders_n UNIQUE USING INDEX ix_n")',
    ),
    Case(
        "SM015",
        'op.create_index("ix_orders_n", "orders", ["n"], unique=True)',
        AUTOCOMMIT + 'op.execute("CREATE UNIQUE INDEX CONCURRENTLY ix_orders_n ON orders (n)")',
    ),
    Case(
        "SM016",
        'op.create_primary_key("pk_orders", "orders", ["id"])',
        'op.execute("ALTER TABLE orders ADD CONSTRAINT pk_orders PRIMARY KEY USING INDEX ix_id")',
    ),
    Case(
        "SM018",
        "op.execute(\"ALTER TYPE user_role ADD VALUE 'BETA'\")",
        AUTOCOMMIT + "op.execute(\"ALTER TYPE user_role ADD VALUE 'BETA'\")",
        version=11,
    ),
    Case(
        "SM018",
        "op.execute(\"ALTER TYPE user_role ADD VALUE 'BETA'\")",
        "op.execute(\"ALTER TYPE user_role ADD VALUE 'BETA'\")",  # allowed from 12
        version=11,
        good_version=12,
    ),
    Case(
        "SM019",
        "op.execute(\"ALTER TYPE user_role RENAME VALUE 'OLD' TO 'NEW'\")",
        AUTOCOMMIT + "op.execute(\"ALTER TYPE user_role ADD VALUE 'NEW'\")",
    ),
    Case(
        "SM019",
        "role.drop(op.get_bind())",
        "role.create(op.get_bind())",
        prelude=ENUM_PRELUDE,
    ),
    Case(
        "SM020",
        "op.execute(\"UPDATE orders SET state = 'done' WHERE state IS NULL\")",
        "op.execute(\"INSERT INTO state (name) VALUES ('done')\")",
    ),
    Case(
        "SM020",
        "bind = op.get_bind()\nsession = Session(bind=bind)\nsession.add(State(name='x'))",
        "bind = op.get_bind()\nsession = Session(bind=bind)\nsession.query(State).all()",
    ),
    Case(
        "SM021",
        'states = sa.table("state", sa.column("name"))\nop.bulk_insert(states, [{"name": "a"}])',
        "op.execute(\"UPDATE state SET name = 'a' WHERE id = 1\")",
    ),
    Case(
        "SM022",
        "op.execute(\"UPDATE orders SET state = 'done'\")",
        "op.execute(\"UPDATE orders SET state = 'done' WHERE state IS NULL\")",
    ),
    Case(
        "SM022", 'op.execute("TRUNCATE orders")', 'op.execute("DELETE FROM orders WHERE id < 10")'
    ),
    Case(
        "SM023",
        # a value known only at run time; a module-level constant is resolved instead
        "op.execute(f\"UPDATE {os.environ['SCHEMA']}.orders SET n = 1 WHERE id = 2\")",
        'op.execute(f"UPDATE {SCHEMA}.orders SET n = 1 WHERE id = 2")',
        prelude='import os\nSCHEMA = "public"\n',
    ),
    Case("SM023", 'op.execute("UPDATE orders SET")', 'op.execute("SELECT 1")'),
    Case("SM023", 'op.execute("DO $$ BEGIN NULL; END $$")', 'op.execute("SELECT 1")'),
    Case(
        "SM024",
        'op.add_column("orders", sa.Column("n", sa.Integer()))',
        'op.add_column("orders", sa.Column("n", sa.Integer()))',
        bad_downgrade="pass",
        good_downgrade='op.drop_column("orders", "n")',
    ),
    Case(
        "SM024",
        'op.add_column("orders", sa.Column("n", sa.Integer()))',
        "pass",  # nothing to undo: an empty downgrade is right
        bad_downgrade='raise NotImplementedError("one way")',
        good_downgrade="pass",
    ),
    Case(
        "SM025",
        'op.add_column("orders", sa.Column("n", sa.Integer()))',
        "op.execute(\"SET lock_timeout = '5s'\")\n"
        'op.add_column("orders", sa.Column("n", sa.Integer()))',
    ),
    Case(
        "SM025",
        'op.add_column("orders", sa.Column("n", sa.Integer()))',
        'op.add_column("orders", sa.Column("n", sa.Integer()))',
        good_env=EnvSettings(path="env.py", lock_timeout_line=3),
    ),
    Case(
        "SM012",
        'op.create_index("ix_orders_n", "orders", ["n"], postgresql_concurrently=True)',
        'op.create_index("ix_orders_n", "orders", ["n"], postgresql_concurrently=True)',
        good_env=EnvSettings(path="env.py", transactional_ddl=False),
    ),
    Case(
        "SM026", 'op.execute("DROP VIEW order_totals")', 'op.execute("CREATE VIEW v AS SELECT 1")'
    ),
    Case(
        "SM026",
        'op.execute("DROP FUNCTION IF EXISTS total(integer)")',
        'op.execute("CREATE FUNCTION total() RETURNS int AS $$ SELECT 1 $$ LANGUAGE sql")',
    ),
    Case(
        "SM027",
        'op.add_column("t", sa.Column("c", sa.Integer()))\n'
        + AUTOCOMMIT
        + "op.execute(\"ALTER TYPE user_role ADD VALUE 'BETA'\")",
        # alone in its revision: the form the other hints recommend
        AUTOCOMMIT + "op.execute(\"ALTER TYPE user_role ADD VALUE 'BETA'\")",
    ),
    Case(
        "SM028",
        'add_timestamps("product")',
        'op.add_column("product", sa.Column("created_at", sa.DateTime(), nullable=True))',
        prelude="from migrations.helpers import add_timestamps\n",
    ),
    Case(
        "SM029",
        'with op.batch_alter_table("account", recreate="always") as batch_op:\n'
        '    batch_op.alter_column("email", nullable=True)',
        'with op.batch_alter_table("account", recreate="auto") as batch_op:\n'
        '    batch_op.alter_column("email", nullable=True)',
    ),
    Case(
        "SM030",
        'op.execute("VACUUM FULL orders")',
        'op.execute("VACUUM (ANALYZE) orders")',
    ),
    Case(
        "SM030",
        'op.execute("CLUSTER orders USING ix_orders_created")',
        'op.execute("ANALYZE orders")',
    ),
    Case(
        "SM031",
        'op.execute("REINDEX INDEX ix_orders_created")',
        AUTOCOMMIT + 'op.execute("REINDEX INDEX CONCURRENTLY ix_orders_created")',
    ),
    Case(
        "SM032",
        'op.execute("LOCK TABLE orders IN ACCESS EXCLUSIVE MODE")',
        'op.execute("LOCK TABLE orders IN ACCESS SHARE MODE")',
    ),
    Case(
        "SM033",
        'op.execute("REFRESH MATERIALIZED VIEW order_totals")',
        'op.execute("REFRESH MATERIALIZED VIEW CONCURRENTLY order_totals")',
    ),
    Case(
        "SM034",
        'op.execute("ALTER TABLE orders SET LOGGED")',
        'op.execute("CREATE UNLOGGED TABLE scratch (id int)")\n'
        'op.execute("ALTER TABLE scratch SET LOGGED")',
    ),
    Case(
        "SM034",
        'op.execute("ALTER TABLE orders SET TABLESPACE fast_ssd")',
        'op.execute("ALTER TABLE orders SET (fillfactor = 90)")',
    ),
    Case(
        "SM035",
        'op.execute("ALTER TABLE orders ADD CONSTRAINT fk_user FOREIGN KEY (user_id) '
        'REFERENCES users (id) NOT VALID")\n'
        'op.execute("ALTER TABLE orders VALIDATE CONSTRAINT fk_user")',
        'op.execute("ALTER TABLE orders ADD CONSTRAINT fk_user FOREIGN KEY (user_id) '
        'REFERENCES users (id) NOT VALID")',
    ),
    Case(
        "SM035",
        'op.create_check_constraint("ck_n", "orders", "n > 0", postgresql_not_valid=True)\n'
        'op.execute("ALTER TABLE orders VALIDATE CONSTRAINT ck_n")',
        'op.execute("ALTER TABLE orders VALIDATE CONSTRAINT ck_n")',
    ),
    Case(
        "SM005",
        'op.execute("ALTER TABLE public.orders SET SCHEMA archive")',
        'op.create_table("scratch", sa.Column("id", sa.Integer))\n'
        'op.execute("ALTER TABLE scratch SET SCHEMA archive")',
    ),
    Case(
        "SM014",
        'op.execute("ALTER DOMAIN quantity ADD CONSTRAINT positive CHECK (VALUE > 0)")',
        'op.execute("ALTER DOMAIN quantity ADD CONSTRAINT positive CHECK (VALUE > 0) NOT VALID")',
    ),
    Case(
        "SM036",
        'op.execute("CREATE TRIGGER t_audit AFTER UPDATE ON orders FOR EACH ROW '
        'EXECUTE FUNCTION audit()")',
        'op.create_table("audits", sa.Column("id", sa.Integer))\n'
        'op.execute("CREATE TRIGGER t_audit AFTER UPDATE ON audits FOR EACH ROW '
        'EXECUTE FUNCTION audit()")',
    ),
    Case(
        "SM036",
        'op.execute("ALTER TABLE orders ENABLE ALWAYS TRIGGER t_audit")',
        'op.execute("ALTER TABLE orders SET (fillfactor = 90)")',
    ),
    Case(
        "SM037",
        'op.execute("ALTER TABLE events DETACH PARTITION events_2020")',
        AUTOCOMMIT + 'op.execute("ALTER TABLE events DETACH PARTITION events_2020 CONCURRENTLY")',
    ),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_rule_fires_on_the_bad_revision_only(case: Case) -> None:
    bad = rule_ids(
        case.bad, case.bad_downgrade, version=case.version, env=case.env, prelude=case.prelude
    )
    good = rule_ids(
        case.good,
        case.good_downgrade,
        version=case.good_version or case.version,
        env=case.good_env or case.env,
        prelude=case.prelude,
    )
    assert case.rule in bad, bad
    assert case.rule not in good, good


def test_every_rule_has_a_fixture() -> None:
    from tests.migrations.lint.test_path import PATH_RULES

    covered = {case.rule for case in CASES} | PATH_RULES
    assert covered == {rule for rule in RULES if rule.startswith("SM")}


def test_findings_carry_line_risk_hint_and_names() -> None:
    body = 'op.add_column("t", sa.Column("x", sa.Integer()))\nop.drop_column("t", "y")'
    [drop] = [f for f in findings(body) if f.rule == "SM002"]
    assert drop.path == "versions/a1.py"
    assert drop.line == line_of(revision_source(body), "op.drop_column")
    assert drop.risk is Risk.CRITICAL
    assert "'y'" in drop.message and "'t'" in drop.message
    assert drop.hint == RULES["SM002"].hint


def test_hints_follow_the_target_version() -> None:
    body = 'op.alter_column("orders", "n", nullable=False)'
    [new] = [f for f in findings(body, version=14) if f.rule == "SM008"]
    [old] = [f for f in findings(body, version=11) if f.rule == "SM008"]
    assert "PostgreSQL 12+" in new.hint
    assert "before PostgreSQL 12" in old.hint
    assert new.hint != old.hint
    not_null = 'op.add_column("orders", sa.Column("n", sa.Integer(), nullable=False))'
    assert "cheap from PostgreSQL 11" in next(
        f.hint for f in findings(not_null, version=11) if f.rule == "SM006"
    )
    assert "before PostgreSQL 11" in next(
        f.hint for f in findings(not_null, version=10) if f.rule == "SM006"
    )


def test_tables_created_in_the_same_migration_are_not_existing_tables() -> None:
    body = """
    op.create_table("penalty", sa.Column("id", sa.Integer), sa.Column("org", sa.Integer))
    op.create_index("ix_penalty_org", "penalty", ["org"])
    op.create_foreign_key("fk", "penalty", "organization", ["org"], ["id"])
    op.add_column("penalty", sa.Column("n", sa.Integer(), nullable=False))
    op.alter_column("penalty", "org", nullable=False)
    op.create_unique_constraint("uq", "penalty", ["org"])
    """
    assert rule_ids(body) == set()


def test_data_migration_in_downgrade_is_not_an_upgrade_risk() -> None:
    assert rule_ids(
        'op.add_column("t", sa.Column("x", sa.Integer()))', 'op.execute("DELETE FROM t")'
    ) == {"SM025"}


def test_a_merge_revision_needs_no_downgrade() -> None:
    assert rule_ids("pass", "pass") == set()


def test_inline_ignore_on_the_line() -> None:
    body = 'op.drop_column("t", "c")  # stager: ignore[SM002]'
    assert "SM002" not in rule_ids(body)
    assert "SM025" in rule_ids(body)  # only the listed rule is silenced
    assert rule_ids('op.drop_column("t", "c")  # stager: ignore[SM002, SM025]') == set()
    assert rule_ids('op.drop_column("t", "c")  # Stager: ignore[sm002,sm025]') == set()
    assert rule_ids('op.drop_column("t", "c")  # stager: ignore') == set()
    assert "SM002" in rule_ids('op.drop_column("t", "c")  # stager: ignore[SM001]')
    # a helper's operation is reported, and silenced, at its own line
    helper = 'def _contract():\n    op.drop_column("t", "c")  # stager: ignore[SM002]\n'
    assert rule_ids("_contract()", prelude=helper) == {"SM025"}


def test_inline_ignore_on_the_def_upgrade_line() -> None:
    from stager.migrations.lint.engine import file_findings
    from stager.migrations.lint.envpy import EnvSettings
    from tests.migrations.lint.revisions import revision

    source = revision_source('op.drop_column("t", "c")\nop.execute("UPDATE t SET a = 1")')
    source = source.replace(b"def upgrade():", b"def upgrade():  # stager: ignore[SM002,SM022]")
    found = {f.rule for f in file_findings(revision(source), source, EnvSettings(), 14)}
    assert found == {"SM025"}
    # …helpers called by upgrade() included
    source = revision_source(
        "_contract()", prelude='def _contract():\n    op.drop_column("t", "c")\n'
    ).replace(b"def upgrade():", b"def upgrade():  # stager: ignore[SM002]")
    found = {f.rule for f in file_findings(revision(source), source, EnvSettings(), 14)}
    assert found == {"SM025"}
    # an ignore on def downgrade does not cover upgrade()
    source = revision_source('op.drop_column("t", "c")', "pass").replace(
        b"def downgrade():", b"def downgrade():  # stager: ignore[SM002, SM024]"
    )
    found = {f.rule for f in file_findings(revision(source), source, EnvSettings(), 14)}
    assert found == {"SM002", "SM025"}


def test_lock_timeout_set_after_the_lock_or_to_zero_does_not_count() -> None:
    drop = 'op.drop_column("t", "c")'
    assert "SM025" not in rule_ids("op.execute(\"SET lock_timeout TO '5s'\")\n" + drop)
    assert "SM025" in rule_ids(drop + "\nop.execute(\"SET lock_timeout TO '5s'\")")
    for zero in ("0", "'0'", "'0s'", "DEFAULT"):
        assert "SM025" in rule_ids(f'op.execute("SET lock_timeout = {zero}")\n' + drop), zero
    assert "SM025" in rule_ids('op.execute("RESET lock_timeout")\n' + drop)


def test_lock_message_names_the_object_when_there_is_no_table() -> None:
    found = findings('op.execute("DROP INDEX ix_old")')
    message = next(f.message for f in found if f.rule == "SM025")
    assert message.startswith("locks the table of index 'ix_old' with no lock_timeout")
    found = findings('op.drop_column("events", "c")')
    message = next(f.message for f in found if f.rule == "SM025")
    assert message.startswith("locks existing table 'events' with no lock_timeout")


def test_inline_ignore_after_the_closing_parenthesis_of_a_multi_line_call() -> None:
    call = 'op.alter_column(\n    "t",\n    "c",\n    nullable=False,\n)'
    assert "SM008" in rule_ids(call)
    assert "SM008" not in rule_ids(call + "  # stager: ignore[SM008]")
    # the comment of the next statement does not reach back
    assert "SM008" in rule_ids(call + '\nop.drop_column("t", "d")  # stager: ignore[SM008]')


def test_inline_ignore_is_a_comment_anywhere_in_it_never_a_string() -> None:
    drop = 'op.drop_column("t", "c")'
    in_string = drop + '; x = "# stager: ignore[SM002]"'
    assert "SM002" in rule_ids(in_string)
    assert "SM002" not in rule_ids(drop + "  # noqa stager: ignore[SM002]")
    assert "SM002" not in rule_ids(drop + "  # noqa: E501  stager: ignore[SM002]")


def test_insert_on_conflict_undone_by_downgrade_is_the_safe_form() -> None:
    insert = (
        "op.execute(\"INSERT INTO fuel_type (name) VALUES ('x') ON CONFLICT (name) DO NOTHING\")"
    )
    undo = "op.execute(\"DELETE FROM fuel_type WHERE name = 'x'\")"
    assert "SM021" not in rule_ids(insert, undo)
    assert "SM021" in rule_ids(insert)  # downgrade leaves the rows behind
    assert "SM021" in rule_ids(insert.replace(" ON CONFLICT (name) DO NOTHING", ""), undo)


@pytest.mark.parametrize(
    ("type_", "existing", "fires"),
    [
        ("sa.String(500)", "sa.String(255)", False),
        ("sa.String(length=500)", "sa.VARCHAR(length=255)", False),
        ("sa.Text()", "sa.String(255)", False),
        ("sa.String()", "sa.String(255)", False),
        ("sa.String(100)", "sa.String(255)", True),  # shorter: every row is checked
        ("sa.String(255)", "sa.Text()", True),
        ("sa.BigInteger()", "sa.Integer()", True),
        ("sa.Text()", None, True),  # old type unknown
    ],
)
def test_type_change_that_only_widens_a_varchar_is_no_rewrite(
    type_: str, existing: str | None, fires: bool
) -> None:
    old = f", existing_type={existing}" if existing else ""
    found = rule_ids(f'op.alter_column("t", "c", type_={type_}{old})')
    assert ("SM009" in found) is fires
    assert "SM025" in found  # the ALTER still takes its lock


def test_downgrade_that_raises_after_logging_is_irreversible() -> None:
    add = 'op.add_column("orders", sa.Column("n", sa.Integer()))'
    logged = 'log.warning("cannot undo")\nraise NotImplementedError'
    assert "SM024" in rule_ids(add, logged, prelude="import logging\nlog = logging.getLogger()\n")
    guarded = 'if False:\n    raise NotImplementedError\nop.drop_column("orders", "n")'
    assert "SM024" not in rule_ids(add, guarded)


def test_missing_downgrade_is_silenced_on_def_upgrade() -> None:
    from stager.migrations.lint.engine import file_findings
    from stager.migrations.lint.envpy import EnvSettings
    from tests.migrations.lint.revisions import revision

    source = revision_source('op.add_column("orders", sa.Column("n", sa.Integer()))')
    head, _, _ = source.partition(b"\n\ndef downgrade():")
    missing = head + b"\n"
    assert "SM024" in {f.rule for f in file_findings(revision(missing), missing, EnvSettings(), 14)}
    marked = missing.replace(b"def upgrade():", b"def upgrade():  # stager: ignore[SM024]")
    assert "SM024" not in {
        f.rule for f in file_findings(revision(marked), marked, EnvSettings(), 14)
    }


def test_new_table_with_a_foreign_key_locks_the_table_it_references() -> None:
    table = (
        'op.create_table("orders", sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id")))'
    )
    found = findings(table)
    assert [(f.rule, f.message.split(" with")[0]) for f in found] == [
        ("SM025", "locks existing table 'users'")
    ]
    constraint = (
        'op.create_table("orders", sa.Column("user_id", sa.Integer()), '
        'sa.ForeignKeyConstraint(["user_id"], ["public.users.id"]))'
    )
    assert rule_ids(constraint) == {"SM025"}
    # both tables new: nothing to wait for
    users = 'op.create_table("users", sa.Column("id", sa.Integer(), primary_key=True))\n'
    assert rule_ids(users + table) == set()
    assert rule_ids('op.create_table("orders", sa.Column("n", sa.Integer()))') == set()


def test_the_good_example_of_sm020_in_the_docs_is_silenced() -> None:
    from pathlib import Path

    docs = (Path(__file__).resolve().parents[3] / "docs" / "rules.md").read_text()
    section = docs.split("## SM020", 1)[1].split("\n## ", 1)[0]
    good = section.split("**Good:**", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    body = good.split("def upgrade():\n", 1)[1]
    assert "SM020" in rule_ids(body.replace("stager: ignore[SM020]", "note"))
    assert "SM020" not in rule_ids(body)


def test_a_view_dropped_and_created_again_is_a_redefinition() -> None:
    # the usual way to change a view's columns (CREATE OR REPLACE cannot drop one)
    redefine = (
        'op.execute("DROP VIEW order_totals")\n'
        'op.execute("CREATE VIEW order_totals AS SELECT id FROM orders")'
    )
    assert "SM026" not in rule_ids(redefine)
    trigger = (
        'op.execute("DROP TRIGGER trg_updated ON product")\n'
        'op.execute("CREATE TRIGGER trg_updated BEFORE UPDATE ON product '
        'FOR EACH ROW EXECUTE FUNCTION set_updated_at()")'
    )
    assert "SM026" not in rule_ids(trigger)
    # another object, or another kind of object with that name: still a drop
    other = 'op.execute("DROP VIEW order_totals")\nop.execute("CREATE VIEW totals AS SELECT 1")'
    assert "SM026" in rule_ids(other)
    matview = (
        'op.execute("DROP VIEW order_totals")\n'
        'op.execute("CREATE MATERIALIZED VIEW order_totals AS SELECT 1")'
    )
    assert "SM026" in rule_ids(matview)
    # created first, dropped after: gone at the end of the migration
    gone = 'op.execute("CREATE VIEW v AS SELECT 1")\nop.execute("DROP VIEW v")'
    assert "SM026" in rule_ids(gone)


def test_create_trigger_locks_its_existing_table() -> None:
    trigger = (
        'op.execute("CREATE TRIGGER trg_updated BEFORE UPDATE ON product '
        'FOR EACH ROW EXECUTE FUNCTION set_updated_at()")'
    )
    [lock] = [f for f in findings(trigger) if f.rule == "SM025"]
    assert "'product'" in lock.message
    # on a table the same migration creates: empty, nothing waits
    new_table = 'op.create_table("product", sa.Column("id", sa.Integer()))\n' + trigger
    assert "SM025" not in rule_ids(new_table)


def test_lock_table_finding_lands_on_the_lock_line() -> None:
    body = (
        'op.execute("LOCK TABLE orders IN ACCESS EXCLUSIVE MODE")\n'
        'op.add_column("orders", sa.Column("n", sa.Integer()))'
    )
    source = revision_source(body)
    lock_line = line_of(source, "LOCK TABLE")
    by_rule = {f.rule: f.line for f in findings(body)}
    assert by_rule["SM032"] == lock_line
    assert by_rule["SM025"] == lock_line  # the LOCK takes the lock, not the ALTER after it


def test_statements_of_a_multi_line_execute_keep_their_own_lines() -> None:
    body = 'op.execute("""\nSET lock_timeout = \'5s\';\nVACUUM FULL orders;\n""")'
    source = revision_source(body)
    [vacuum] = [f for f in findings(body) if f.rule == "SM030"]
    assert vacuum.line == line_of(source, "VACUUM FULL")


def test_a_lock_that_blocks_only_writes_is_medium() -> None:
    [lock] = [
        f for f in findings('op.execute("LOCK TABLE orders IN SHARE MODE")') if f.rule == "SM032"
    ]
    assert lock.risk is Risk.MEDIUM


def test_reindex_hint_follows_the_target_version() -> None:
    body = 'op.execute("REINDEX TABLE orders")'
    [new] = [f for f in findings(body, version=14) if f.rule == "SM031"]
    [old] = [f for f in findings(body, version=11) if f.rule == "SM031"]
    assert "REINDEX" in new.hint and "CONCURRENTLY" in new.hint
    assert "before PostgreSQL 12" in old.hint


def test_detach_partition_hint_follows_the_target_version() -> None:
    body = 'op.execute("ALTER TABLE events DETACH PARTITION events_2020")'
    [new] = [f for f in findings(body, version=14) if f.rule == "SM037"]
    [old] = [f for f in findings(body, version=13) if f.rule == "SM037"]
    assert "DETACH PARTITION events_2020 CONCURRENTLY" in new.hint.replace("part", "events_2020")
    assert "autocommit_block" in new.hint
    assert "only from PostgreSQL 14" in old.hint and "lock_timeout" in old.hint


def test_disabling_a_trigger_says_writes_skip_it() -> None:
    found = findings('op.execute("ALTER TABLE orders DISABLE TRIGGER ALL")')
    [trigger] = [f for f in found if f.rule == "SM036"]
    assert trigger.risk is Risk.MEDIUM
    assert "disables every trigger on 'orders'" in trigger.message
    assert "writes from then on skip it" in trigger.message


def test_downgrade_is_checked_at_a_lower_risk_and_says_so() -> None:
    found = findings(
        'op.alter_column("orders", "id", type_=sa.BigInteger(), existing_type=sa.Integer())',
        'op.alter_column("orders", "id", type_=sa.Integer(), existing_type=sa.BigInteger())',
    )
    [down] = [f for f in found if f.rule == "SM009" and "in downgrade()" in f.message]
    assert down.risk is Risk.MEDIUM
    assert [f for f in found if f.rule == "SM009" and "in downgrade()" not in f.message]


def test_downgrade_that_undoes_the_upgrade_is_no_drop_risk() -> None:
    found = findings(
        'op.add_column("orders", sa.Column("n", sa.Integer()))', 'op.drop_column("orders", "n")'
    )
    assert {f.rule for f in found} == {"SM025"}


def test_downgrade_concurrently_in_a_transaction_keeps_its_risk() -> None:
    found = findings(
        AUTOCOMMIT + 'op.create_index("ix", "t", ["a"], postgresql_concurrently=True)',
        'op.drop_index("ix", table_name="t", postgresql_concurrently=True)',
    )
    [down] = [f for f in found if f.rule == "SM012"]
    assert down.risk is Risk.HIGH and "in downgrade()" in down.message


def test_limit_batches_count_as_batched_only_when_each_commits() -> None:
    batch = 'op.execute("UPDATE orders SET n = 0 WHERE id IN (SELECT id FROM orders LIMIT 500)")'
    [together] = [f for f in findings(f"for _ in range(9):\n    {batch}") if f.rule == "SM020"]
    assert together.risk is Risk.HIGH
    assert "no batch commits before the whole upgrade does" in together.message
    assert "autocommit_block" in together.hint
    loop = f"{AUTOCOMMIT}for _ in range(9):\n        {batch}"
    [committed] = [f for f in findings(loop) if f.rule == "SM020"]
    assert committed.risk is Risk.MEDIUM
    assert "one LIMIT batch of rows of 'orders', committed on its own" in committed.message
