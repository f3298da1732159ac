"""A revision file over the parse limit: named, its chain kept, and split in bounded time."""

from __future__ import annotations

import json

from click.testing import CliRunner, Result

from stager.cli import cli
from stager.migrations.revision_files import PARSE_LIMIT
from tests.gitrepo import GitRepo
from tests.migrations.builders import migration

VERSIONS = "migrations/versions"
# A data migration of generated INSERTs, just over the limit.
ROWS = "\n".join(f'op.execute("INSERT INTO t VALUES ({i})")' for i in range(PARSE_LIMIT // 35))
ADD = 'op.create_table("t2", sa.Column("id", sa.Integer))'
DROP = 'op.drop_table("t2")'


def stager(repo: GitRepo, *args: str) -> Result:
    return CliRunner().invoke(cli, ["-C", str(repo.path), *args, "--base", "main"])


def test_a_migration_over_the_parse_limit_is_named_and_keeps_its_chain(repo: GitRepo) -> None:
    repo.commit(
        "base",
        {
            "alembic.ini": "[alembic]\nscript_location = migrations\n",
            f"{VERSIONS}/a1.py": migration("a1"),
        },
    )
    repo.checkout("-q", "-b", "feature")
    large = migration("b2", "a1", title="seed data", upgrade=ROWS)
    assert len(large) > PARSE_LIMIT
    additive = migration("c3", "b2", upgrade=ADD, downgrade=DROP)
    repo.commit("work", {f"{VERSIONS}/b2.py": large, f"{VERSIONS}/c3.py": additive})
    analyze = stager(repo, "analyze", "--format", "json")
    assert analyze.exit_code == 0, analyze.output
    findings = json.loads(analyze.stdout)["findings"]
    assert [(f["rule"], f["path"], f["message"]) for f in findings] == [
        (
            "SG007",
            f"{VERSIONS}/b2.py",
            f"cannot parse: {len(large) / 1_000_000:.1f} MB, over stager's 1 MiB parse limit: "
            "its operations are not checked (revision and down_revision were read line by "
            "line); review it by hand",
        )
    ]  # and no SG003: c3's parent b2 is known
    # The additive c3 goes first (phase 1): both are re-chained, b2 after c3.
    split = stager(repo, "split", "--all")
    assert split.exit_code == 0, split.output
    assert "re-chained b2: down_revision a1 → c3" in split.output
    diff = repo.git("diff", "feature", "stage/2-data", "--", f"{VERSIONS}/b2.py")
    changed = [line for line in diff.splitlines() if line[:1] in "+-" and line[1:3] != line[:2]]
    assert changed == [
        "-Revises: a1",
        "+Revises: c3",
        "-down_revision = 'a1'",
        "+down_revision = 'c3'",
    ]
    verify = stager(repo, "verify")
    assert verify.exit_code == 0, verify.output
