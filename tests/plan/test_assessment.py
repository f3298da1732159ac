"""The one judgement of a phase: ratings, the Alembic invocation, the chain it is given."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from stager.analysis import Analysis, analyze_branch
from stager.demo import build_demo_repository
from stager.git.repository import Repository
from stager.migrations.parse import parse_migration
from stager.migrations.revision_files import AlembicConfig
from stager.plan.assessment import (
    ChainLink,
    PhaseChain,
    alembic_invocation,
    assess_plan,
    downgrade_command,
    phase_migration,
    plan_chains,
)
from stager.types import MigrationKind, RepoPath, Revision, Sha
from tests.sqlite_alembic import sqlite_project

TEMPLATE = '''"""step"""
from alembic import op
import sqlalchemy as sa

revision = "r2"
down_revision = "r1"


def upgrade():
    {body}


def downgrade():
    pass
'''


@pytest.mark.parametrize(
    ("body", "loses_data"),
    [
        ('op.alter_column("user", "name", new_column_name="full_name")', False),
        ('op.rename_table("user", "account")', False),
        ('op.execute("ALTER TABLE account RENAME COLUMN a TO b")', False),
        ('op.drop_column("user", "name")', True),
        ('op.execute("ALTER TABLE account DROP COLUMN legacy")', True),
        ('op.execute("DROP TABLE old_things")', True),
    ],
)
def test_data_loss_means_a_drop_not_any_destructive_step(body: str, loses_data: bool) -> None:
    source = TEMPLATE.format(body=body).encode()
    migration = parse_migration(RepoPath("versions/r2.py"), Sha("0" * 40), source)
    assert migration.kind is MigrationKind.DESTRUCTIVE
    view = phase_migration(migration, "added", [Revision("r1")], [Revision("r1")])
    assert view.data_loss is loses_data


def config(source: str | None, versions: str) -> AlembicConfig:
    return AlembicConfig(
        source=RepoPath(source) if source else None,
        script_location=None,
        version_locations=(RepoPath(versions),),
        recursive=False,
    )


def test_the_alembic_invocation_names_a_configuration_outside_the_root() -> None:
    assert alembic_invocation([config("alembic.ini", "migrations/versions")]) == "alembic"
    assert alembic_invocation([config("pyproject.toml", "migrations/versions")]) == "alembic"
    assert alembic_invocation([config(None, "migrations/versions")]) == "alembic"
    assert alembic_invocation([]) == "alembic"
    backend = config("backend/alembic.ini", "backend/migrations/versions")
    assert alembic_invocation([backend]) == "alembic -c backend/alembic.ini"
    users = config("services/users/pyproject.toml", "services/users/versions")
    # the environment that holds the phase's revisions, not the first one found
    assert (
        alembic_invocation([backend, users], [RepoPath("services/users/versions/a.py")])
        == "alembic -c services/users/pyproject.toml"
    )


@pytest.fixture
def demo_analysis(tmp_path_factory: pytest.TempPathFactory, git_env: dict[str, str]) -> Analysis:
    demo = build_demo_repository(tmp_path_factory.mktemp("assessment") / "demo")
    return analyze_branch(Repository(demo.path), demo.base_branch, demo.head_branch, None)


def test_the_demo_phases_as_judged(demo_analysis: Analysis) -> None:
    phases = demo_analysis.plan.phases
    chains = plan_chains(phases, demo_analysis.migrations.base.heads())
    judged = assess_plan(phases, chains, demo_analysis.rules, demo_analysis.migrations)
    ratings = [
        (a.database_impact.level, a.backward_compatibility.level, a.rollback.level) for a in judged
    ]
    assert ratings == [
        ("HIGH", "HIGH", "EASY"),  # additive, plus an edit of a revision the base has
        ("HIGH", "MEDIUM", "COMPLEX"),
        ("NONE", "HIGH", "EASY"),
        ("CRITICAL", "BREAKING", "DIFFICULT"),
    ]
    titles = [a.title for a in judged]
    assert titles[1] == "Data migrations (phase 2/4) — REQUIRES MAINTENANCE WINDOW"
    foundation = judged[0]
    # one count, saying what it counts: the edit of c2d4e6f8a0b1 is not a new migration
    assert foundation.migration_count == "6 new migrations, 1 edited base revision"
    assert [m.revision for m in foundation.edited] == ["c2d4e6f8a0b1"]
    assert judged[2].migration_count == "no migration"
    assert foundation.commands.downgrade == (
        "test \"$(alembic -c backend/alembic.ini current | cut -d' ' -f1)\" = 8e2f4a6c8e0a "
        "&& alembic -c backend/alembic.ini downgrade d1f3b5d7f9b1"
    )
    contract = judged[3]
    assert contract.restore_from_backup
    backup_file = "before-phase-4-etl-and-contract.dump"
    assert contract.commands.backup.endswith(f'--file={backup_file} "$DATABASE_URL"')
    assert contract.commands.restore.endswith(f" {backup_file}")  # the file the backup wrote
    assert any(contract.commands.restore in step for step in contract.rollback_steps)


def test_the_downgrade_goes_to_the_head_the_chain_starts_from(demo_analysis: Analysis) -> None:
    """Split with --onto main re-chains phase 1 onto main's head: that is its downgrade target."""
    phase = demo_analysis.plan.phases[0]
    planned = plan_chains([phase], demo_analysis.migrations.base.heads())[phase.number]
    onto = Revision("0c2e4a6c8e0f")
    first, *rest = planned.links
    chain = PhaseChain(
        (onto,),
        (ChainLink(first.revision, (onto,), first.original, first.path), *rest),
    )
    (judged,) = assess_plan(
        [phase], {phase.number: chain}, demo_analysis.rules, demo_analysis.migrations
    )
    assert judged.heads_before == (onto,)
    downgrade = judged.commands.downgrade
    assert downgrade is not None and downgrade.endswith("downgrade 0c2e4a6c8e0f")
    assert "d1f3b5d7f9b1" not in downgrade
    assert judged.migrations[0].down_revision == (onto,) and judged.migrations[0].rechained
    # every shown downgrade carries its precondition
    for text in (*judged.rollback_steps, *judged.testing):
        if "downgrade 0c2e4a6c8e0f" in text:
            assert "current | cut -d' ' -f1)\" = 8e2f4a6c8e0a &&" in text


def test_with_several_heads_the_check_names_them_all_and_the_target_is_the_one_built_on() -> None:
    chain = PhaseChain(
        (Revision("b"), Revision("a")),
        (ChainLink(Revision("x"), (Revision("a"),), (Revision("a"),), RepoPath("v/x.py")),),
    )
    assert chain.end == ("b", "x")
    assert downgrade_command("alembic", chain) == (
        "test \"$(alembic current | cut -d' ' -f1 | sort | xargs)\" = 'b x' && alembic downgrade a"
    )


def _link(revision: str, *parents: str) -> ChainLink:
    down = tuple(Revision(parent) for parent in parents)
    return ChainLink(Revision(revision), down, down, RepoPath(f"v/{revision}.py"))


def test_a_revision_id_is_one_shell_word_in_the_commands() -> None:
    """Alembic accepts any string as an id; a command a person pastes must not run it."""
    hostile = "x$(touch${IFS}pwned)"
    chain = PhaseChain((Revision("a"),), (_link(hostile, "a"),))
    command = downgrade_command("alembic -c 'my dir/alembic.ini'", chain)
    assert f"= '{hostile}' &&" in command
    assert alembic_invocation(
        [AlembicConfig(RepoPath("my dir/alembic.ini"), None, (RepoPath("my dir/v"),), False)]
    ) == ("alembic -c 'my dir/alembic.ini'")


def _revision_file(revision: str, parents: tuple[str, ...]) -> str:
    down = repr(parents[0] if len(parents) == 1 else parents or None)
    return (
        f"revision = {revision!r}\ndown_revision = {down}\n"
        "branch_labels = None\ndepends_on = None\n\n\n"
        "def upgrade():\n    pass\n\n\ndef downgrade():\n    pass\n"
    )


def test_the_downgrade_of_a_phase_that_merges_two_heads_runs_on_alembic(tmp_path: Path) -> None:
    """The shown command, run by a real alembic (SQLite), goes back to where the phase began.

    The phase builds ``z`` on head ``b`` and merges it with head ``a``: alembic takes one
    revision per ``downgrade``, so the command goes back to ``a``, then to ``b``.
    """
    pytest.importorskip("alembic")
    alembic = shutil.which("alembic")
    if alembic is None:
        pytest.skip("the alembic command is not installed")
    versions = sqlite_project(tmp_path)
    links = (_link("z", "b"), _link("x", "a", "z"), _link("y", "x"))
    for revision, parents in (
        ("a", ()),
        ("b", ()),
        *((link.revision, link.parents) for link in links),
    ):
        (versions / f"{revision}.py").write_text(_revision_file(revision, parents))
    chain = PhaseChain((Revision("a"), Revision("b")), links)

    def run(command: str) -> str:
        done = subprocess.run(
            ["bash", "-c", command], cwd=tmp_path, capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    def current() -> list[str]:
        return sorted(line.split()[0] for line in run("alembic current").splitlines())

    run("alembic upgrade a && alembic upgrade b")
    assert current() == ["a", "b"]
    run("alembic upgrade heads")
    assert current() == ["y"]
    command = downgrade_command("alembic", chain)
    assert command.endswith("alembic downgrade a && alembic downgrade b")
    run(command)
    assert current() == ["a", "b"]
    # the precondition: at the phase's start, not its end, nothing is run
    refused = subprocess.run(
        ["bash", "-c", command], cwd=tmp_path, capture_output=True, check=False
    )
    assert refused.returncode != 0 and current() == ["a", "b"]
