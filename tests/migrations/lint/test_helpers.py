"""SM028: a migration step hidden in a function imported from another module."""

from __future__ import annotations

from stager.migrations.lint.source_rules import helper_hits
from stager.rules.catalogue import RULES
from tests.migrations.lint.revisions import findings, line_of, revision_source, rule_ids

IMPORTED = "from migrations.helpers import add_timestamps\n"


def test_an_imported_helper_called_by_upgrade_is_reported() -> None:
    # Before SM028 this revision produced no finding at all: it looked empty.
    found = findings('add_timestamps("product")', prelude=IMPORTED)
    assert [(f.rule, f.risk) for f in found] == [("SM028", RULES["SM028"].risk)]
    source = revision_source('add_timestamps("product")', prelude=IMPORTED)
    assert found[0].line == line_of(source, 'add_timestamps("product")')
    assert "add_timestamps(), imported from migrations.helpers" in found[0].message


def test_module_imports_relative_imports_and_local_helpers_are_followed() -> None:
    source = revision_source(
        """
        helpers.create_trigger("orders")
        for table in ("a", "b"):
            _stamp(table)
        """,
        prelude="""
        import migrations.helpers as helpers
        from .shared import stamp


        def _stamp(table):
            stamp(table)
        """,
    )
    hits = helper_hits(source)
    assert [hit.message.split(",")[0] for hit in hits] == [
        "calls stamp()",
        "calls helpers.create_trigger()",
    ]
    assert "imported from migrations.helpers" in hits[1].message
    assert "imported from .shared" in hits[0].message
    assert {hit.function for hit in hits} == {"upgrade"}


def test_library_calls_and_column_types_are_not_steps() -> None:
    upgrade = """
    uid = uuid.uuid4()
    logging.getLogger(__name__).info("go")
    sa.table("t", sa.column("c"))
    op.add_column("t", sa.Column("c", UUIDType(), nullable=True))
    """
    prelude = "import logging\nimport uuid\nfrom sqlalchemy_utils import UUIDType\n"
    assert "SM028" not in rule_ids(upgrade, prelude=prelude)
    # a helper called only by downgrade() is not a step of the upgrade
    assert "SM028" not in rule_ids('op.drop_table("t")', "add_timestamps('t')", prelude=IMPORTED)


def test_silenced_by_an_inline_ignore() -> None:
    upgrade = 'add_timestamps("product")  # stager: ignore[SM028]'
    assert "SM028" not in rule_ids(upgrade, prelude=IMPORTED)


def test_batch_recreate_always_is_reported_on_its_line() -> None:
    body = (
        'with op.batch_alter_table("user", schema=None, recreate="always") as batch_op:\n'
        '    batch_op.add_column(sa.Column("c", sa.Integer(), nullable=True))'
    )
    found = [f for f in findings(body) if f.rule == "SM029"]
    assert len(found) == 1
    assert found[0].line == line_of(revision_source(body), "batch_alter_table")
    assert "batch_alter_table('user', recreate='always')" in found[0].message
    # in downgrade() only, or with the default: nothing
    assert "SM029" not in rule_ids('op.drop_table("t")', body)
    assert "SM029" not in rule_ids(body.replace(', recreate="always"', ""))
