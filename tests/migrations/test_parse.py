from __future__ import annotations

import textwrap

from hypothesis import given, settings
from hypothesis import strategies as st

from stager.migrations.parse import parse_migration
from stager.migrations.revision_files import PARSE_LIMIT, MigrationFile
from stager.types import MigrationKind, RepoPath, Sha
from tests.examples import examples
from tests.migrations.builders import blob_sha, migration


def parse(text: str | bytes, path: str = "versions/x.py") -> MigrationFile:
    data = text.encode() if isinstance(text, str) else text
    return parse_migration(RepoPath(path), blob_sha(data), data)


def test_template_file() -> None:
    parsed = parse(migration("abc123", "def456", title="add users table"))
    assert parsed.revision == "abc123"
    assert parsed.down_revisions == ("def456",)
    assert parsed.branch_labels == ()
    assert parsed.depends_on == ()
    assert parsed.title == "add users table"
    assert parsed.revises == ("def456",)
    assert parsed.revision_line == 14
    assert parsed.down_revision_line == 15
    assert parsed.problems == ()
    assert parsed.kind is MigrationKind.EMPTY
    assert parsed.path == "versions/x.py"
    assert parsed.blob == blob_sha(migration("abc123", "def456", title="add users table").encode())


def test_annotated_forms() -> None:
    parsed = parse(
        migration("m1", ("a", "b"), branch_labels="feature", depends_on=["x"], annotated=True)
    )
    assert parsed.revision == "m1"
    assert parsed.down_revisions == ("a", "b")
    assert parsed.branch_labels == ("feature",)
    assert parsed.depends_on == ("x",)
    assert parsed.revises == ("a", "b")
    assert parsed.problems == ()


def test_list_merge_and_tuple_labels() -> None:
    source = textwrap.dedent(
        """
        revision = "m2"
        down_revision = ["a", "b"]
        branch_labels = ("one", "two")
        depends_on = ("d1", "d2")
        """
    )
    parsed = parse(source)
    assert parsed.down_revisions == ("a", "b")
    assert parsed.branch_labels == ("one", "two")
    assert parsed.depends_on == ("d1", "d2")
    assert parsed.title == ""
    assert parsed.revises is None


def test_base_revision_and_empty_revises_line() -> None:
    parsed = parse(migration("base1", None))
    assert parsed.down_revisions == ()
    assert parsed.revises == ()
    assert parsed.kind is MigrationKind.EMPTY


def test_empty_tuple_down_revision_is_a_base() -> None:
    assert parse("revision = 'r'\ndown_revision = ()\n").down_revisions == ()


def test_real_world_module_code_is_fine() -> None:
    source = textwrap.dedent(
        '''
        """backfill totals

        Revision ID: 9f1
        Revises: 8e0
        """
        import logging
        from myapp.models import Organization  # the application: never imported by stager
        from myapp.settings import SCHEMA
        import sqlalchemy as sa
        from alembic import op

        logger = logging.getLogger(__name__)
        metadata = sa.MetaData(schema=SCHEMA)
        revision: str = "9f1"
        down_revision = "8e0"
        TABLES = [t for t in ("a", "b")]

        def upgrade():
            for table in TABLES:
                op.execute(f"UPDATE {SCHEMA}.{table} SET total = 0")
            logger.info("done %s", Organization)

        def downgrade():
            pass
        '''
    )
    parsed = parse(source)
    assert parsed.problems == ()
    assert parsed.revision == "9f1"
    assert parsed.down_revisions == ("8e0",)
    assert parsed.title == "backfill totals"
    assert [op.name for op in parsed.operations] == ["execute"]
    assert parsed.operations[0].sql is None
    assert parsed.kind is MigrationKind.DATA


def test_non_literal_values_are_problems() -> None:
    source = textwrap.dedent(
        """
        from myapp import make_id
        revision = make_id()
        down_revision = PREVIOUS
        """
    )
    parsed = parse(source)
    assert parsed.revision is None
    assert parsed.down_revisions == ()
    assert [(p.line, p.message.split(" ")[0]) for p in parsed.problems] == [
        (3, "revision"),
        (4, "down_revision"),
    ]
    assert "make_id()" in parsed.problems[0].message


def test_wrong_types_are_problems() -> None:
    parsed = parse("revision = 'r'\ndown_revision = 5\nbranch_labels = {'a': 1}\n")
    assert parsed.down_revisions == ()
    assert [p.line for p in parsed.problems] == [2, 3]


def test_syntax_error_is_a_problem_and_identifiers_survive() -> None:
    source = "revision = 'abc'\ndown_revision = 'prev'\n\ndef upgrade(:\n    pass\n"
    parsed = parse(source)
    assert parsed.problems[0].line == 4
    assert parsed.problems[0].message.startswith("cannot parse")
    assert parsed.revision == "abc"
    assert parsed.down_revisions == ("prev",)
    assert parsed.kind is MigrationKind.DATA


def test_undecodable_and_nul_bytes_do_not_crash() -> None:
    assert parse(b"revision = 'a'\x00\n").problems
    assert parse(b"\xff\xfe\x00garbage").problems
    latin = "# -*- coding: latin-1 -*-\n'''caf\xe9'''\nrevision = 'a'\ndown_revision = None\n"
    parsed = parse(latin.encode("latin-1"))
    assert parsed.problems == ()
    assert parsed.title == "café"


def test_missing_revision_and_legacy_file_name() -> None:
    assert parse("down_revision = None\n").problems[0].message.startswith("no module-level")
    legacy = parse("down_revision = None\n", path="versions/1975ea83b712.py")
    assert legacy.revision == "1975ea83b712"
    assert legacy.problems == ()


def test_hex_looking_plain_modules_are_not_legacy_revisions() -> None:
    for name in ("db.py", "add.py", "cafe.py", "1975ea83b712.py"):
        plain = parse("import os\nURL = os.environ.get('X')\n", path=f"app/{name}")
        assert plain.revision is None, name
        assert plain.problems[0].message.startswith("no module-level")
    for body in ("def upgrade():\n    pass\n", "async def downgrade():\n    pass\n"):
        assert parse(body, path="versions/cafe.py").revision == "cafe"
    # a file that does not compile: the defs are read from its text
    broken = parse("def upgrade():\n    op.drop_table(\n", path="versions/beef.py")
    assert broken.revision == "beef"
    assert parse("x = (\n", path="app/beef.py").revision is None


def test_last_assignment_wins_and_tuple_unpacking() -> None:
    parsed = parse("revision = 'a'\nrevision = 'b'\nx, down_revision = 1, 'p'\n")
    assert parsed.revision == "b"
    assert parsed.revision_line == 2
    assert parsed.down_revisions == ("p",)


def test_illegal_revision_characters() -> None:
    parsed = parse("revision = 'a-b'\ndown_revision = None\n")
    assert parsed.revision == "a-b"
    assert "not allow" in parsed.problems[0].message


def test_revises_line_parsing() -> None:
    parsed = parse(
        '"""merge\n\nRevises: a1, b2 ,\n"""\nrevision = "m"\ndown_revision = ("a1", "b2")\n'
    )
    assert parsed.revises == ("a1", "b2")
    assert parsed.title == "merge"


def test_deep_nesting_does_not_crash() -> None:
    parsed = parse("revision = 'a'\nx = " + "(" * 1000 + ")" * 1000 + "\n")
    assert parsed.problems


def test_a_file_too_deep_for_the_parser_says_so() -> None:
    # CPython gives up with a MemoryError or RecursionError that carries no message.
    for expression in ("-" * 100_000 + "1", " + ".join(["1"] * 20_000)):
        parsed = parse(migration("b2", "a1", upgrade=f"x = {expression}"))
        assert [problem.message for problem in parsed.problems] == [
            "cannot parse: too deeply nested for Python's parser"
        ]
        assert (parsed.revision, parsed.down_revisions) == ("b2", ("a1",))
        assert (parsed.title, parsed.revises) == ("revision b2", ("a1",))


def test_a_file_over_the_parse_limit_is_read_line_by_line() -> None:
    rows = "\n".join(f'op.execute("INSERT INTO t VALUES ({i})")' for i in range(PARSE_LIMIT // 35))
    source = migration("b2", "a1", title="seed data", upgrade=rows)
    assert len(source) > PARSE_LIMIT
    parsed = parse(source)
    assert [(problem.line, problem.message) for problem in parsed.problems] == [
        (
            1,
            f"cannot parse: {len(source) / 1_000_000:.1f} MB, over stager's 1 MiB parse limit: "
            "its operations are not checked (revision and down_revision were read line by "
            "line); review it by hand",
        )
    ]
    assert (parsed.revision, parsed.down_revisions, parsed.revision_line) == ("b2", ("a1",), 14)
    assert (parsed.title, parsed.revises) == ("seed data", ("a1",))
    assert (parsed.operations, parsed.kind) == ((), MigrationKind.DATA)


def test_parse_fills_operations_and_kind() -> None:
    parsed = parse(migration("a", None, upgrade="op.drop_column('users', 'email')"))
    assert [(op.name, op.table, op.columns) for op in parsed.operations] == [
        ("drop_column", "users", ("email",))
    ]
    assert parsed.kind is MigrationKind.DESTRUCTIVE


@settings(max_examples=examples(150), deadline=None)
@given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_never_raises(data: bytes) -> None:
    parsed = parse_migration(RepoPath("v/x.py"), Sha("0" * 40), b"revision = 'a'\n" + data)
    assert parsed.path == "v/x.py"
