"""A revision the branch edits: only what the edit brought is reported, not the old code."""

from __future__ import annotations

from stager.analysis import analyze_branch
from stager.git.repository import Repository
from stager.migrations.lint.checks import Hit
from stager.migrations.lint.engine import edit_of
from stager.migrations.lint.envpy import EnvSettings
from tests.gitrepo import GitRepo
from tests.migrations.lint.revisions import revision, revision_source

INI = "[alembic]\nscript_location = migrations\n"
ENV = "from alembic import context\ncontext.configure()\n"
PATH = "migrations/versions/r0.py"
# ran in production long ago: an index without CONCURRENTLY (SM010), no lock_timeout (SM025)
OLD = 'op.create_index("ix_account_email", "account", ["email"])'
COLUMN = 'op.add_column("account", sa.Column("note", sa.Text(), nullable=True))'
INDEX = 'op.create_index("ix_account_name", "account", ["name"])'
TIMEOUT = "op.execute(\"SET lock_timeout = '5s'\")"


def branch_findings(repo: GitRepo, before: str, after: str) -> list[tuple[str, int | None]]:
    """(rule, line) of the findings about r0 when the branch turns ``before`` into ``after``."""
    repo.commit(
        "base",
        {
            "alembic.ini": INI,
            "migrations/env.py": ENV,
            PATH: revision_source(before, revision="r0"),
        },
    )
    repo.git("checkout", "-q", "-b", "feature")
    repo.commit("edit r0", {PATH: revision_source(after, revision="r0")})
    analysis = analyze_branch(Repository(repo.path), "main", "feature", None)
    return sorted((f.rule, f.line) for f in analysis.findings if f.path == PATH)


def line_of(text: str, source: bytes) -> int:
    return source.decode().splitlines().index(f"    {text}") + 1


def test_old_code_of_an_edited_revision_is_not_reported(repo: GitRepo) -> None:
    found = branch_findings(repo, OLD, f"{OLD}\n{COLUMN}")
    # the old index (SM010) and its lock (SM025) already ran: only the edit itself
    assert [rule for rule, _ in found] == ["SG006"]


def test_what_the_edit_adds_is_reported_on_its_line(repo: GitRepo) -> None:
    after = revision_source(f"{OLD}\n{INDEX}", revision="r0")
    found = branch_findings(repo, OLD, f"{OLD}\n{INDEX}")
    assert ("SM010", line_of(INDEX, after)) in found
    assert ("SM010", line_of(OLD, after)) not in found
    assert {rule for rule, _ in found} == {"SG006", "SM010"}


def test_a_finding_an_edit_elsewhere_brings_is_reported(repo: GitRepo) -> None:
    # deleting the lock_timeout makes the old, untouched index line wait without one
    after = revision_source(OLD, revision="r0")
    found = branch_findings(repo, f"{TIMEOUT}\n{OLD}", OLD)
    assert ("SM025", line_of(OLD, after)) in found
    assert ("SM010", line_of(OLD, after)) not in found


def test_an_edit_inside_a_call_written_over_several_lines_counts() -> None:
    def call(*extra: str) -> str:
        return "\n".join(['op.create_index("ix_a", "account", ["email"],', *extra, ")", OLD])

    before = revision_source(call("    unique=False,", "    postgresql_concurrently=True,"))
    after = revision_source(call("    unique=True,", "    postgresql_concurrently=True,"))
    shorter = revision_source(call("    unique=False,"))  # CONCURRENTLY deleted
    start = line_of('op.create_index("ix_a", "account", ["email"],', after)
    for edited in (after, shorter):
        whole = Hit("SM015", start, "upgrade", "m", end_line=line_of(")", edited))
        # OLD, untouched, reported on the base too
        other = Hit("SM010", line_of(OLD, edited), "upgrade", "m")
        edit = edit_of(revision(before), before, edited, EnvSettings(), 14)
        assert edit.brought(whole)
        assert not edit.brought(other)
        assert edit.brought(Hit("SM010", 0, None, "m"))  # no line: nothing to scope
    assert edit_of(revision(before), before, shorter, EnvSettings(), 14).gaps == {start + 1}
