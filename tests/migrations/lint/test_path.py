"""SM017: a new enum value used before the transaction that adds it commits."""

from __future__ import annotations

from stager.migrations.lint.envpy import EnvSettings
from tests.migrations.lint.revisions import line_of, path_rule_ids, revision_source, rule_ids

PATH_RULES = {"SM017"}
"""Rules only the upgrade path can judge (test_checks checks every rule has a fixture)."""

ADD = "op.execute(\"ALTER TYPE user_role ADD VALUE 'BETA_TESTER'\")"
ADD_IN_BLOCK = "with op.get_context().autocommit_block():\n    " + ADD
USE_SQL = "op.execute(\"UPDATE user_profile SET role = 'BETA_TESTER' WHERE id = 1\")"
USE_BULK = (
    'profiles = sa.table("user_profile", sa.column("role"))\n'
    'op.bulk_insert(profiles, [{"role": "BETA_TESTER"}])'
)
USE_DEFAULT = 'op.add_column("invite", sa.Column("role", sa.Text(), server_default="BETA_TESTER"))'
USE_BUILDER = (
    'profiles = sa.table("user_profile", sa.column("role"))\n'
    'op.execute(profiles.update().where(profiles.c.id == 1).values(role="BETA_TESTER"))'
)


def test_used_in_the_same_migration() -> None:
    line = line_of(revision_source(ADD + "\n" + USE_SQL), "UPDATE user_profile")
    assert path_rule_ids([ADD + "\n" + USE_SQL]) == [("SM017", "versions/r0.py", line)]


def test_used_by_a_later_migration_of_the_same_upgrade() -> None:
    found = path_rule_ids([ADD, "pass", USE_SQL])
    line = line_of(revision_source(USE_SQL), "UPDATE user_profile")
    assert found == [("SM017", "versions/r2.py", line)]


def test_every_way_of_using_the_value() -> None:
    for use in (USE_BULK, USE_DEFAULT, USE_BUILDER):
        assert [rule for rule, _, _ in path_rule_ids([ADD, use])] == ["SM017"], use


def test_transaction_per_migration_commits_between_migrations() -> None:
    per_migration = EnvSettings(path="env.py", transaction_per_migration=True)
    assert path_rule_ids([ADD, USE_SQL], env=per_migration) == []
    # …but not inside one migration
    assert len(path_rule_ids([ADD + "\n" + USE_SQL], env=per_migration)) == 1


def test_autocommit_block_or_commit_makes_the_value_usable() -> None:
    assert path_rule_ids([ADD_IN_BLOCK, USE_SQL]) == []
    assert path_rule_ids([ADD_IN_BLOCK + "\n" + USE_SQL]) == []
    # a later autocommit_block commits what came before it
    later_block = "with op.get_context().autocommit_block():\n    op.execute('SELECT 1')"
    assert path_rule_ids([ADD, later_block, USE_SQL]) == []
    assert path_rule_ids([ADD + "\nop.execute('COMMIT')\n" + USE_SQL]) == []


def test_no_transactions_at_all() -> None:
    assert path_rule_ids([ADD, USE_SQL], env=EnvSettings(transactional_ddl=False)) == []


def test_a_type_created_in_the_same_transaction_takes_new_values_only_before_12() -> None:
    create = "op.execute(\"CREATE TYPE user_role AS ENUM ('ADMIN')\")"
    body = create + "\n" + ADD + "\n" + USE_SQL
    assert path_rule_ids([body], version=11) == []
    # PostgreSQL 12+ refuses it too: "unsafe use of new value" (issue 16, run on PostgreSQL 15)
    assert [rule for rule, _, _ in path_rule_ids([body], version=14)] == ["SM017"]


def test_a_type_created_by_an_earlier_file_may_already_be_applied() -> None:
    # The database may stand at r0: r1 and r2 then run in one transaction.
    create = (
        'op.create_table("user_profile", sa.Column("role", sa.Enum("ADMIN", name="user_role")))'
    )
    found = path_rule_ids([create, ADD, USE_SQL])
    assert [(rule, path) for rule, path, _ in found] == [("SM017", "versions/r2.py")]


def test_bind_parameter_values_are_uses() -> None:
    sql = 'sa.text("UPDATE user_profile SET role = :r WHERE id = 1")'
    for use in (
        f'op.execute({sql}.bindparams(r="BETA_TESTER"))',
        f'op.execute({sql}, {{"r": "BETA_TESTER"}})',
        f'op.get_bind().execute({sql}, {{"r": "BETA_TESTER"}})',
    ):
        assert [rule for rule, _, _ in path_rule_ids([ADD, use])] == ["SM017"], use


def test_unrelated_strings_and_other_values_are_no_use() -> None:
    other = "op.execute(\"UPDATE user_profile SET role = 'ADMIN' WHERE id = 1\")"
    assert path_rule_ids([ADD, other]) == []


def test_inline_ignore_on_the_use() -> None:
    assert path_rule_ids([ADD, USE_SQL + "  # stager: ignore[SM017]"]) == []


def test_sm017_is_not_a_per_file_rule() -> None:
    # check_migration alone cannot see transactions across files
    assert "SM017" not in rule_ids(ADD + "\n" + USE_SQL)


def sm017_risks(bodies: list[str]) -> list[str]:
    from stager.migrations.lint.engine import path_findings
    from tests.migrations.lint.revisions import chain

    made = chain(bodies)
    sources = {migration.path: source for migration, source in made}
    found = path_findings([m for m, _ in made], EnvSettings(), 14, sources)
    return [f.risk.label for f in found if f.rule == "SM017"]


def test_a_value_written_to_a_table_of_another_type_is_not_critical() -> None:
    members = 'op.create_table("members", sa.Column("role", sa.Enum("admin", name="member_role")))'
    add = "op.execute(\"ALTER TYPE member_role ADD VALUE 'owner'\")"
    unrelated = "op.execute(\"UPDATE projects SET label = 'owner' WHERE label IS NULL\")"
    related = "op.execute(\"UPDATE members SET role = 'owner' WHERE id = 1\")"
    assert sm017_risks([members, add, unrelated]) == ["medium"]
    assert sm017_risks([members, add, related]) == ["critical"]
    # no table of the type known (created before the branch): high, still fails CI
    assert sm017_risks([add, related]) == ["high"]
    # a column switched to the type by SQL counts as holding it
    switch = (
        'op.execute("ALTER TABLE projects ALTER COLUMN label TYPE member_role '
        'USING label::member_role")'
    )
    assert sm017_risks([switch, add, unrelated]) == ["critical"]
