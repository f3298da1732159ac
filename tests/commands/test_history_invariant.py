"""The history invariant end to end: a database at any revision of the feature branch,
upgraded along the phases, runs nothing twice and skips nothing, or stager says which
revisions break it and how to bring such a database back.

The branch drops a column (b) and then adds one (c); the default rules ship the
addition in phase 1 and the drop in phase 4, so the phases re-chain c before b.
A database at b from the branch has not run c's add, which the phases count as
run; one at c has run b's drop, which the phases run again.
"""

from __future__ import annotations

import json

import pytest

from tests.commands.test_expand_contract import plan_json, stager
from tests.gitrepo import GitRepo

BASE, DROP, ADD = "aaaa00000000", "bbbb00000000", "cccc00000000"
WARNING = (
    f"> ⚠️ Databases whose `alembic current` shows any of `{DROP}`, `{ADD}` must first be "
    f"downgraded to `{BASE}` from a checkout of the feature branch "
    f"(`alembic downgrade {BASE}`), or restored from a backup taken before they ran these "
    "revisions: the phases re-chain these revisions, so such a database upgraded along them "
    "would run operations twice or skip them."
)


def revision(revision: str, parent: str | None, upgrade: str, downgrade: str) -> str:
    down = f'"{parent}"' if parent else "None"
    return (
        f'"""{revision}"""\nfrom alembic import op\nimport sqlalchemy as sa\n\n'
        f'revision = "{revision}"\ndown_revision = {down}\n\n\n'
        f"def upgrade():\n    {upgrade}\n\n\ndef downgrade():\n    {downgrade}\n"
    )


def build(repo: GitRepo, branch: dict[str, str]) -> GitRepo:
    repo.commit(
        "base",
        {
            "alembic.ini": "[alembic]\nscript_location = migrations\n",
            "migrations/versions/a_base.py": revision(
                BASE,
                None,
                'op.create_table("t", sa.Column("old", sa.Integer()))',
                'op.drop_table("t")',
            ),
        },
    )
    repo.checkout("-b", "feature")
    repo.commit("the branch's migrations", branch)
    return repo


ADD_C = 'op.add_column("t", sa.Column("c", sa.Integer(), nullable=True))'
DROP_C = 'op.drop_column("t", "c")'


@pytest.fixture
def reordered(repo: GitRepo) -> GitRepo:
    """base <- b (drops old) <- c (adds c): the phases run c first."""
    return build(
        repo,
        {
            "migrations/versions/b_drop.py": revision(
                DROP,
                BASE,
                'op.drop_column("t", "old")',
                'op.add_column("t", sa.Column("old", sa.Integer()))',
            ),
            "migrations/versions/c_add.py": revision(ADD, DROP, ADD_C, DROP_C),
        },
    )


@pytest.fixture
def in_order(repo: GitRepo) -> GitRepo:
    """base <- b (adds b) <- c (adds c): both in phase 1, as written."""
    return build(
        repo,
        {
            "migrations/versions/b_add.py": revision(
                DROP,
                BASE,
                'op.add_column("t", sa.Column("b", sa.Integer(), nullable=True))',
                'op.drop_column("t", "b")',
            ),
            "migrations/versions/c_add.py": revision(ADD, DROP, ADD_C, DROP_C),
        },
    )


def staging_document(repo: GitRepo) -> str:
    result = stager(repo, "plan", "--base", "main", "--format", "markdown")
    assert result.exit_code == 0, result.output
    return str(result.stdout)


def bodies(repo: GitRepo) -> dict[int, str]:
    """Each pull request's generated body, as open-pr would write it (no network)."""
    result = stager(repo, "open-pr", "--base", "main", "--all", "--dry-run", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    return {pr["phase"]: pr["body"] for pr in data["pull_requests"]}


def split(repo: GitRepo) -> None:
    built = stager(repo, "split", "--base", "main", "--all")
    assert built.exit_code == 0, built.output


def test_plan_json_lists_the_revisions_the_phases_re_chain_out_of_order(
    reordered: GitRepo,
) -> None:
    plan = plan_json(reordered)
    assert [m["revision"] for phase in plan["phases"] for m in phase["migrations"]] == [ADD, DROP]
    assert plan["history_exceptions"] == {
        "revisions": [DROP, ADD],
        "downgrade_to": [BASE],
        "downgrade": f"alembic downgrade {BASE}",
        "message": WARNING.removeprefix("> ⚠️ "),
    }


def test_plan_json_has_no_exception_when_the_phases_keep_the_order(in_order: GitRepo) -> None:
    assert plan_json(in_order)["history_exceptions"] is None


def test_the_staging_document_opens_with_the_warning(reordered: GitRepo) -> None:
    title, blank, first, *_ = staging_document(reordered).splitlines()
    assert title.startswith("# Staging plan: ")
    assert (blank, first) == ("", WARNING)


def test_the_staging_document_has_no_warning_without_exceptions(in_order: GitRepo) -> None:
    document = staging_document(in_order)
    assert "alembic current` shows any of" not in document
    assert document.splitlines()[2] == "## Executive summary"


def test_the_first_pull_request_opens_with_the_warning_and_no_other_does(
    reordered: GitRepo,
) -> None:
    split(reordered)
    found = bodies(reordered)
    first, *others = sorted(found)
    assert found[first].startswith(WARNING + "\n\n## Overview\n"), found[first][:400]
    assert others
    assert not [n for n in others if "alembic current` shows any of" in found[n]]


def test_no_pull_request_has_the_warning_without_exceptions(in_order: GitRepo) -> None:
    split(in_order)
    assert not [body for body in bodies(in_order).values() if "shows any of" in body]


def test_verify_is_green_and_shows_the_exceptions_split_listed(reordered: GitRepo) -> None:
    split(reordered)
    verified = stager(reordered, "verify", "--base", "main")
    assert verified.exit_code == 0, verified.output
    shown = " ".join(verified.output.split())
    assert f"nothing lost: re-chained as split listed: {WARNING.removeprefix('> ⚠️ ')}" in shown


def test_verify_fails_when_a_built_phase_loses_an_operation_of_a_revision(
    in_order: GitRepo,
) -> None:
    split(in_order)
    (branch,) = in_order.git(
        "for-each-ref", "--format=%(refname:short)", "refs/heads/stage/"
    ).splitlines()
    path = "migrations/versions/c_add.py"
    built = in_order.git("show", f"{branch}:{path}")
    tampered = built.replace(ADD_C, "pass")
    assert tampered != built
    in_order.git("switch", "-q", branch)
    in_order.commit("lose c's column", {path: tampered})
    in_order.git("switch", "-q", "feature")
    verified = stager(in_order, "verify", "--base", "main")
    assert verified.exit_code == 4, verified.output
    shown = " ".join(verified.output.split())
    assert (
        f"nothing lost: {ADD}: up to it, the phases have not applied add_column(t.c), which the "
        "feature branch has; split lists no such exception" in shown
    )


def test_plan_on_the_terminal_says_it_first(reordered: GitRepo) -> None:
    shown = stager(reordered, "plan", "--base", "main")
    assert shown.exit_code == 0, shown.output
    lines = " ".join(shown.output.split())
    assert f"warning: {WARNING.removeprefix('> ⚠️ ')} Phase 1: " in lines


def test_plan_on_the_terminal_says_nothing_without_exceptions(in_order: GitRepo) -> None:
    quiet = stager(in_order, "plan", "--base", "main")
    assert quiet.exit_code == 0, quiet.output
    assert "shows any of" not in quiet.output


def test_with_two_merge_base_heads_only_the_line_below_the_exceptions_goes_back(
    repo: GitRepo,
) -> None:
    """The merge base has heads h1 and h2; the branch builds on h1 only: h2's line stays."""
    h1, h2 = "111100000000", "222200000000"
    repo.commit(
        "base",
        {
            "backend/alembic.ini": "[alembic]\nscript_location = migrations\n",
            "backend/migrations/versions/a_base.py": revision(
                BASE,
                None,
                'op.create_table("t", sa.Column("old", sa.Integer()))',
                'op.drop_table("t")',
            ),
            "backend/migrations/versions/h1.py": revision(h1, BASE, "pass", "pass"),
            "backend/migrations/versions/h2.py": revision(h2, BASE, "pass", "pass"),
        },
    )
    repo.checkout("-b", "feature")
    repo.commit(
        "the branch's migrations",
        {
            "backend/migrations/versions/b_drop.py": revision(
                DROP,
                h1,
                'op.drop_column("t", "old")',
                'op.add_column("t", sa.Column("old", sa.Integer()))',
            ),
            "backend/migrations/versions/c_add.py": revision(ADD, DROP, ADD_C, DROP_C),
        },
    )
    found = plan_json(repo)["history_exceptions"]
    assert (found["revisions"], found["downgrade_to"]) == ([DROP, ADD], [h1])
    assert found["downgrade"] == f"alembic -c backend/alembic.ini downgrade {h1}"


def test_split_says_it_when_it_builds_the_phases(reordered: GitRepo) -> None:
    dry = stager(reordered, "split", "--base", "main", "--all", "--dry-run", "--format", "json")
    assert dry.exit_code == 0, dry.output
    assert WARNING.removeprefix("> ⚠️ ") in json.loads(dry.stdout)["notes"]
    built = stager(reordered, "split", "--base", "main", "--all")
    assert built.exit_code == 0, built.output
    assert WARNING.removeprefix("> ⚠️ ") in " ".join(built.output.split())


def test_split_says_nothing_without_exceptions(in_order: GitRepo) -> None:
    built = stager(in_order, "split", "--base", "main", "--all")
    assert built.exit_code == 0, built.output
    assert "shows any of" not in built.output
