"""stager.migrations.rechain_file: only the down_revision value and the Revises: line change."""

from __future__ import annotations

import difflib
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stager.migrations.parse import parse_migration
from stager.migrations.rechain_file import RelinkError, relink
from stager.migrations.revision_files import PARSE_LIMIT
from stager.types import RepoPath, Revision, Sha
from tests.examples import examples

TEMPLATE = '''"""add the penalty log

Revision ID: b2
Revises: a1
Create Date: 2024-04-09 14:15:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision: str = "b2"
down_revision: Union[str, None] = "a1"  # the previous revision
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table("penalty_log", sa.Column("id", sa.Integer(), primary_key=True))


def downgrade() -> None:
    op.drop_table("penalty_log")
'''


def revisions(*names: str) -> tuple[Revision, ...]:
    return tuple(Revision(name) for name in names)


def changed_lines(before: bytes, after: bytes) -> list[str]:
    diff = difflib.unified_diff(
        before.decode().splitlines(), after.decode().splitlines(), lineterm="", n=0
    )
    return [line for line in diff if line[:1] in "+-" and line[:3] not in ("+++", "---")]


def test_rewrites_the_value_and_the_revises_line_only() -> None:
    source = TEMPLATE.encode()
    result = relink(source, revisions("c3"))
    assert changed_lines(source, result.source) == [
        "-Revises: a1",
        "+Revises: c3",
        '-down_revision: Union[str, None] = "a1"  # the previous revision',
        '+down_revision: Union[str, None] = "c3"  # the previous revision',
    ]
    assert result.old_parents == ("a1",)
    assert result.revises_line == 4
    assert result.down_revision_line == 14
    parsed = parse_migration(RepoPath("v.py"), Sha("0" * 40), result.source)
    assert parsed.down_revisions == ("c3",)
    assert parsed.revises == ("c3",)


def test_keeps_single_quotes() -> None:
    source = b"revision = 'b'\ndown_revision = 'a'\n"
    assert relink(source, revisions("c")).source == b"revision = 'b'\ndown_revision = 'c'\n"


@pytest.mark.parametrize(
    ("value", "parents", "expected"),
    [
        ("None", ("a",), "'a'"),
        ("'a'", (), "None"),
        ("'a'", ("x", "y"), "('x', 'y')"),
        ('("a", "b")', ("c",), '("c",)'),
        ('("a", "b")', ("c", "d"), '("c", "d")'),
        ('["a", "b"]', ("c", "d"), '["c", "d"]'),
    ],
)
def test_value_forms(value: str, parents: tuple[str, ...], expected: str) -> None:
    source = f"revision = 'z'\ndown_revision = {value}\n".encode()
    result = relink(source, revisions(*parents))
    assert result.source == f"revision = 'z'\ndown_revision = {expected}\n".encode()


@pytest.mark.parametrize(
    "line",
    [
        "down_revision: str | None = 'a'",
        "down_revision: Union[str, Sequence[str], None] = 'a'",
        "down_revision = (\n    'a'\n)",
    ],
)
def test_annotated_and_multiline_assignments(line: str) -> None:
    source = f"revision = 'z'\n{line}\nx = 1\n".encode()
    result = relink(source, revisions("b"))
    text = result.source.decode()
    assert "'b'" in text and "'a'" not in text
    assert text.endswith("\nx = 1\n")
    assert parse_migration(RepoPath("v.py"), Sha("0" * 40), result.source).down_revisions == ("b",)


def test_tuple_unpacking_and_the_last_assignment_wins() -> None:
    source = b"revision, down_revision = 'z', 'a'\ndown_revision = 'b'  # wins\n"
    result = relink(source, revisions("c"))
    assert result.source == b"revision, down_revision = 'z', 'a'\ndown_revision = 'c'  # wins\n"
    unpacked = relink(b"revision, down_revision = 'z', 'a'\n", revisions("c"))
    assert unpacked.source == b"revision, down_revision = 'z', 'c'\n"


def test_crlf_line_endings_and_the_encoding_survive() -> None:
    source = TEMPLATE.replace("\n", "\r\n").encode()
    result = relink(source, revisions("c3"))
    assert result.source == source.replace(b'"a1"', b'"c3"').replace(b"Revises: a1", b"Revises: c3")
    latin = (
        "# -*- coding: latin-1 -*-\n'''Caf\xe9\n\nRevises: a\n'''\n"
        "revision = 'b'\ndown_revision = 'a'\n"
    )
    encoded = latin.encode("latin-1")
    rewritten = relink(encoded, revisions("q")).source
    assert rewritten == encoded.replace(b"Revises: a", b"Revises: q").replace(b"= 'a'", b"= 'q'")
    bom = b"\xef\xbb\xbfrevision = 'b'\ndown_revision = 'a'\n"
    assert relink(bom, revisions("q")).source == bom.replace(b"'a'", b"'q'")


def test_unicode_before_the_value_on_the_same_line() -> None:
    source = "revision = 'b'; é = 1; down_revision = 'a'\n".encode()
    assert (
        relink(source, revisions("c")).source
        == "revision = 'b'; é = 1; down_revision = 'c'\n".encode()
    )


def test_revises_line_is_emptied_for_a_root_and_absent_docstring_is_fine() -> None:
    result = relink(TEMPLATE.encode(), ())
    assert b"\nRevises: \n" in result.source
    assert b"down_revision: Union[str, None] = None  # the previous revision" in result.source
    plain = relink(b"revision = 'b'\ndown_revision = 'a'\n", revisions("c"))
    assert plain.revises_line is None


def test_only_the_module_docstring_revises_line_changes() -> None:
    source = (
        b'"""t\n\nRevises: a\n"""\nrevision = "b"\ndown_revision = "a"\n'
        b'NOTE = """\nRevises: a\n"""\n'
    )
    result = relink(source, revisions("c")).source
    assert result.count(b"Revises: a") == 1 and result.count(b"Revises: c") == 1
    assert result.index(b"Revises: c") < result.index(b"Revises: a")


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (b"revision = 'b'\ndown_revision = (\n", "cannot parse"),
        (b"revision = 'b'\n", "no module-level"),
        (b"revision = 'b'\ndown_revision = PARENT\n", "not a literal"),
        (b"revision = 'b'\ndown_revision = 3\n", "is a int"),
        (b"def f():\n    down_revision = 'a'\n", "no module-level"),
    ],
)
def test_errors(source: bytes, message: str) -> None:
    with pytest.raises(RelinkError, match=message):
        relink(source, revisions("c"))


def test_a_file_too_deep_for_the_parser_is_refused_not_a_crash() -> None:
    source = TEMPLATE.replace(
        "    op.drop_table", "    x = " + "-" * 100_000 + "1\n    op.drop_table"
    )
    with pytest.raises(RelinkError, match="too deeply nested for Python's parser"):
        relink(source.encode(), revisions("c3"))


# Generated data past the parse limit: only the part above ``def upgrade`` is parsed.
ROWS = "".join(f'    op.execute("INSERT INTO t VALUES ({i})")\n' for i in range(PARSE_LIMIT // 35))
LARGE = TEMPLATE.replace("def downgrade()", "def seed():\n" + ROWS + "\n\ndef downgrade()")


def test_a_file_over_the_parse_limit_is_rewritten_the_same_two_lines() -> None:
    source = LARGE.encode()
    assert len(source) > PARSE_LIMIT
    result = relink(source, revisions("c3"))
    assert changed_lines(source, result.source) == changed_lines(
        TEMPLATE.encode(), relink(TEMPLATE.encode(), revisions("c3")).source
    )
    assert (result.old_parents, result.revises_line, result.down_revision_line) == (
        ("a1",),
        4,
        14,
    )
    assert result.source.endswith(
        ROWS.encode() + b"\n\ndef downgrade() -> None:\n" + (b'    op.drop_table("penalty_log")\n')
    )


def test_a_large_file_that_assigns_down_revision_below_its_first_def_is_refused() -> None:
    source = LARGE + "\ndown_revision = 'a0'\n"
    with pytest.raises(RelinkError, match=r"assigns down_revision again at line \d+"):
        relink(source.encode(), revisions("c3"))


_IDS = st.text(alphabet=string.ascii_lowercase + string.digits + "_", min_size=1, max_size=12)


@settings(max_examples=examples(60), deadline=None)
@given(
    quote=st.sampled_from(["'", '"']),
    old=st.lists(_IDS, max_size=3, unique=True),
    new=st.lists(_IDS, max_size=3, unique=True),
    annotated=st.booleans(),
    revises=st.booleans(),
    newline=st.sampled_from(["\n", "\r\n"]),
)
def test_any_parents_round_trip_and_nothing_else_changes(
    quote: str,
    old: list[str],
    new: list[str],
    annotated: bool,
    revises: bool,
    newline: str,
) -> None:
    def literal(items: list[str]) -> str:
        if not items:
            return "None"
        if len(items) == 1:
            return f"{quote}{items[0]}{quote}"
        return "(" + ", ".join(f"{quote}{item}{quote}" for item in items) + ")"

    head = (
        f'"""t{newline}{newline}Revises: {", ".join(old)}{newline}"""{newline}' if revises else ""
    )
    target = "down_revision: Union[str, None]" if annotated else "down_revision"
    lines = [f"revision = {quote}zz{quote}", f"{target} = {literal(old)}  # keep", "x = 1"]
    source = (head + newline.join(lines) + newline).encode()
    result = relink(source, revisions(*new))
    parsed = parse_migration(RepoPath("v.py"), Sha("0" * 40), result.source)
    assert parsed.down_revisions == tuple(new)
    if revises:
        assert parsed.revises == tuple(new)
    before = source.decode().split(newline)
    after = result.source.decode().split(newline)
    assert len(before) == len(after)
    differing = [i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b]
    assert all("down_revision" in before[i] or "Revises:" in before[i] for i in differing)
    assert after[-2] == "x = 1" and "# keep" in result.source.decode()


@pytest.mark.parametrize(
    ("source", "parents"),
    [
        (TEMPLATE, ("base\nSigned-off-by: Mallory <m@evil>",)),
        (TEMPLATE.replace('"a1"  #', '"a 1"  #'), ("base",)),
        (TEMPLATE.replace('revision: str = "b2"', 'revision: str = "b2\\x1b]0;x"'), ("base",)),
    ],
)
def test_an_id_with_whitespace_or_control_characters_is_refused(
    source: str, parents: tuple[str, ...]
) -> None:
    with pytest.raises(RelinkError, match="contains whitespace or control characters"):
        relink(source.encode(), tuple(Revision(parent) for parent in parents))
