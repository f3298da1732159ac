"""The table each column of some SQL belongs to: pglast's scopes, and the scan when it fails."""

from __future__ import annotations

import pytest

from stager.plan.sql_uses import column_uses, scanned_aliases, sql_units


def pairs(sql: str) -> set[tuple[str, str]]:
    uses = column_uses(sql)
    assert uses is not None
    return {(use.table, use.column) for use in uses}


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT s.a FROM summary s", {("summary", "a")}),
        (
            "SELECT s.a FROM summary AS s JOIN other o ON o.id = s.id",
            {("summary", "a"), ("other", "id"), ("summary", "id")},
        ),
        # the only table of its FROM
        ("SELECT a FROM summary WHERE id = :id", {("summary", "a"), ("summary", "id")}),
        # two tables: an unqualified column is nobody's
        ("SELECT a FROM summary, other", set()),
        # the inner s is another table: scopes, innermost first
        (
            "SELECT s.a FROM summary s WHERE EXISTS (SELECT s.b FROM other s)",
            {("summary", "a"), ("other", "b")},
        ),
        # a subquery's alias names no table
        ("SELECT s.a FROM (SELECT 1 AS a) s", set()),
        ("UPDATE summary SET a = 1", {("summary", "a")}),
        ("INSERT INTO summary (a) VALUES (%(a)s)", {("summary", "a")}),
        # names compare without case, as stager keys every table and column
        ('SELECT "S"."A" FROM summary "S"', {("summary", "a")}),
    ],
)
def test_columns_resolved_through_aliases(sql: str, expected: set[tuple[str, str]]) -> None:
    assert pairs(sql) == expected


def test_sql_pglast_rejects_gives_none_and_the_scan_binds_aliases() -> None:
    sql = "SELECT x.a FROM summary x WHERE x.id = {{ id }}"
    assert column_uses(sql) is None
    assert scanned_aliases(sql) == {"summary": {"summary"}, "x": {"summary"}}
    # a keyword after the table is no alias
    assert scanned_aliases("SELECT a FROM summary WHERE b") == {"summary": {"summary"}}


def test_sql_too_deep_for_python_is_read_as_unparsed() -> None:
    assert column_uses("SELECT " + "+".join(["a"] * 5000) + " FROM t") is None


def test_units_of_a_sql_file_and_of_python_strings() -> None:
    units = sql_units("SELECT 1;\n\nSELECT s.a\nFROM t s;\n", python=False)
    assert [(u.first, u.last, u.resolved) for u in units] == [
        (1, 1, frozenset()),
        (3, 4, frozenset({("t", "a")})),
    ]
    [unit] = sql_units('Q = """\nSELECT s.a\nFROM t s"""\nNAME = "select"\n', python=True)
    assert (unit.first, unit.last, unit.resolved) == (1, 3, frozenset({("t", "a")}))
