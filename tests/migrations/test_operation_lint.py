"""What operations record, seen through the lint rules that read it.

The extraction tests in test_operations.py pin the details; these check that
the details are the ones the rules look for (SM017's enum tables, SM020/SM022's
table), so a rule cannot silently stop matching the data.
"""

from __future__ import annotations

import pytest

from stager.findings import Finding
from stager.migrations.lint.engine import file_findings, path_findings
from stager.migrations.lint.envpy import EnvSettings
from stager.types import Risk
from tests.migrations.lint.revisions import findings, revision, revision_source

_ADD_VALUE = "op.execute(\"ALTER TYPE user_role ADD VALUE 'owner'\")"
_USE = "op.execute(\"UPDATE member SET role = 'owner' WHERE id = 1\")"


def _sm017(first: str, second: str, prelude: str = "") -> list[Finding]:
    """SM017 over r0 → r1 (one transaction), both sharing ``prelude``."""
    made = []
    for index, body in enumerate((first, second)):
        source = revision_source(
            body,
            revision=f"r{index}",
            down=f"r{index - 1}" if index else None,
            prelude=prelude,
        )
        made.append((revision(source, f"versions/r{index}.py"), source))
    sources = {migration.path: source for migration, source in made}
    found = path_findings([m for m, _ in made], EnvSettings(), 14, sources)
    return [finding for finding in found if finding.rule == "SM017"]


@pytest.mark.parametrize(
    ("prelude", "column_type"),
    [
        ("", 'postgresql.ENUM("a", "b", name="user_role", create_type=False)'),
        ('role = postgresql.ENUM("a", "b", name="user_role", create_type=False)\n', "role"),
        ('role = sa.Enum("a", "b", name="user_role")\n', "role"),
    ],
    ids=["inline-create-type-false", "module-enum-create-type-false", "module-sa-enum"],
)
def test_sm017_is_critical_when_create_table_declares_the_enum_column(
    prelude: str, column_type: str
) -> None:
    table = (
        'op.create_table("member", sa.Column("id", sa.Integer()), '
        f'sa.Column("role", {column_type}))'
    )
    found = _sm017(table, f"{_ADD_VALUE}\n{_USE}", prelude)
    assert [finding.risk for finding in found] == [Risk.CRITICAL]


def test_sm017_is_critical_when_add_column_uses_a_module_level_enum() -> None:
    prelude = 'role = postgresql.ENUM("a", "b", name="user_role", create_type=False)\n'
    column = 'op.add_column("member", sa.Column("role", role))'
    found = _sm017(column, f"{_ADD_VALUE}\n{_USE}", prelude)
    assert [finding.risk for finding in found] == [Risk.CRITICAL]


@pytest.mark.parametrize(
    ("statement", "rule"),
    [
        ('op.execute(t.update().values(x="owner"))', "SM022"),  # no WHERE: every row
        ('op.get_bind().execute(t.update().where(t.c.x == "a").values(x="b"))', "SM020"),
        ('bind = op.get_bind()\nbind.execute(sa.update(t).values(x="b"))', "SM022"),
        ('op.execute(t.delete().where(t.c.x == "a"))', "SM020"),
    ],
)
def test_sqlalchemy_core_data_migrations_name_their_table(statement: str, rule: str) -> None:
    body = f't = sa.table("user", sa.column("x"))\n{statement}'
    hits = [finding for finding in findings(body) if finding.rule in {"SM020", "SM022"}]
    assert [finding.rule for finding in hits] == [rule]
    assert "user" in hits[0].message


def test_module_level_core_table_is_named_too() -> None:
    source = revision_source(
        "op.execute(t.delete())", prelude='t = sa.table("audit", sa.column("x"))\n'
    )
    found = file_findings(revision(source), source, EnvSettings(), 14)
    assert [f.message.count("audit") for f in found if f.rule == "SM022"] == [1]


def test_sm017_follows_a_connection_and_a_bound_builder_statement() -> None:
    body = (
        "conn = op.get_bind().execution_options(isolation_level='AUTOCOMMIT')\n"
        f"conn.execute(sa.text({_ADD_VALUE[11:-1]}))\n"
        't = sa.table("member", sa.column("role"))\n'
        'stmt = t.update().where(t.c.id == 1).values(role="owner")\n'
        "op.execute(stmt)"
    )
    prelude = 'role = postgresql.ENUM("a", "b", name="user_role", create_type=False)\n'
    table = 'op.create_table("member", sa.Column("id", sa.Integer()), sa.Column("role", role))'
    found = _sm017(table, body, prelude)
    assert [finding.risk for finding in found] == [Risk.CRITICAL]
