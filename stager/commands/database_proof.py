"""`verify --database`: the phase branches proven on a real PostgreSQL (stager.database).

This runs the analysed project's own Alembic code, so it happens only when
the user asks for it with ``--database``; ``analyze`` never does.
"""

from __future__ import annotations

import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

from stager.analysis import Analysis
from stager.branches.record import built_chains, built_record
from stager.branches.split_types import Layout
from stager.branches.verify import Verification, write_merged_tree
from stager.database.binaries import find_binaries
from stager.database.end_state import EditedRevision, Reference
from stager.database.fresh import parse_url
from stager.database.phase_run import DatabaseVerification, PhaseTree, verify_on_database
from stager.database.psql import Psql
from stager.database.seed import Seed
from stager.database.server import Progress, throwaway_server
from stager.errors import StagerError
from stager.git.repository import Repository
from stager.migrations.actions import migration_actions
from stager.plan.assessment import alembic_invocation, assess_plan


def _progress(message: str) -> None:
    print(f"stager: {message}", file=sys.stderr, flush=True)


def _edited_revisions(repo: Repository, analysis: Analysis) -> tuple[EditedRevision, ...]:
    """The base's revisions the branch edits (SG006), with head's text of each."""
    report = analysis.migrations
    edits = [
        (migration, report.previous[migration.path])
        for migration in report.modified
        if migration.revision is not None and migration.path in report.previous
    ]
    texts = repo.read_blobs(migration.blob for migration, _old in edits)
    return tuple(
        EditedRevision(str(migration.revision), old.path, migration.path, texts[migration.blob])
        for migration, old in edits
        if old.blob != migration.blob
    )


def _cluster_wide_statements(analysis: Analysis) -> list[str]:
    """``path:line: statement`` of every cluster-wide statement a revision of base or head runs."""
    report = analysis.migrations
    migrations = {migration.blob: migration for migration in report.by_path.values()}
    migrations.update((migration.blob, migration) for migration in report.previous.values())
    return [
        f"{migration.path}:{action.line}: {action.written}"
        for migration in sorted(migrations.values(), key=lambda migration: migration.path)
        for action in migration_actions(migration)
        if "cluster" in action.flags
    ]


def _refuse_cluster_changes(analysis: Analysis) -> None:
    """A shared server's roles, settings, tablespaces and databases are not stager's to change."""
    found = _cluster_wide_statements(analysis)
    if found:
        shown = "; ".join(found[:5]) + (f"; and {len(found) - 5} more" if len(found) > 5 else "")
        raise StagerError(
            "the migrations change the whole PostgreSQL cluster of --database-url, not only the "
            f"database stager creates there (roles, ALTER SYSTEM, tablespaces or databases): "
            f"{shown}",
            "leave out --database-url (a throwaway server takes these changes), or add "
            "--allow-cluster-changes if that server is yours to change",
        )


def _seed(repo: Repository, analysis: Analysis) -> Seed | None:
    """``[verify] seed``, its SQL read from the work tree (it need not be committed)."""
    written = analysis.rules.verify.seed
    if written is None:
        return None
    root = repo.work_tree
    if root is None:
        raise StagerError(
            "[verify] seed needs a work tree: it is read, or runs, in the repository's root",
            "run verify --database in a checkout of the repository",
        )
    return Seed.parse(written, root)


def _reference(
    repo: Repository, analysis: Analysis, result: Verification, stack: ExitStack
) -> Reference:
    """The tree the lossless proof compares the last phase with: head, or the merge --onto built."""
    if result.onto is None:
        return Reference("head", commit=result.head)
    what = f"the merge of {result.onto} and head"
    folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="stager-merged-")))
    if not write_merged_tree(repo, analysis, result, folder):
        return Reference(what, missing=f"{result.onto} and head do not merge cleanly")
    return Reference(what, files=folder)


def prove_on_database(
    repo: Repository,
    analysis: Analysis,
    result: Verification,
    database_url: str | None,
    allow_cluster_changes: bool = False,
    progress: Progress = _progress,
) -> DatabaseVerification:
    """Run the base, every phase and head's reference on stager's database; what they did.

    With ``database_url`` (a server that is not stager's own), migrations that change
    the whole cluster are refused unless ``allow_cluster_changes``. ``progress`` is told
    each step as it begins (``render.progress``'s steps, from ``commands/verify.py``).
    """
    if database_url is not None and not allow_cluster_changes:
        _refuse_cluster_changes(analysis)
    if result.layout is not Layout.STACKED:
        raise StagerError(
            "verify --database runs the phases one after another, each from where the previous "
            f"one left off; these phase branches are {result.layout.value}",
            "split them stacked (stager split --all --layout stacked) to prove them on a database",
        )
    missing = [item.branch for item in result.phases if item.commit is None]
    if missing:
        raise StagerError(
            f"verify --database needs every phase branch; missing: {', '.join(missing)}",
            "build them with `stager split --all`",
        )
    phases = [
        PhaseTree(item.phase.number, item.branch, item.commit)
        for item in result.phases
        if item.commit is not None
    ]
    alembic = analysis.rules.verify.alembic or alembic_invocation(analysis.migrations.configs)
    planned = [item.phase for item in result.phases]
    chains = built_chains(
        built_record(repo, analysis.refs.head_ref, analysis.refs.head),
        planned,
        analysis.migrations.base.heads(),
    )
    easy = frozenset(
        assessment.number
        for assessment in assess_plan(planned, chains, analysis.rules, analysis.migrations)
        if assessment.rollback.level == "EASY"
    )
    seed = _seed(repo, analysis)  # a seed file that cannot be read stops before any server
    with ExitStack() as stack:
        reference = _reference(repo, analysis, result, stack)
        if database_url is None:
            server = stack.enter_context(throwaway_server(progress))
            admin, log = server.admin, server.log
        else:
            admin, log = Psql(find_binaries(("psql",)), parse_url(database_url)[1]), None
        return verify_on_database(
            repo,
            alembic,
            admin,
            result.start,
            phases,
            reference,
            progress,
            log,
            analysis.rules.verify.env,
            easy,
            _edited_revisions(repo, analysis),
            seed,
            analysis.rules.verify.version_table,
        )
    raise AssertionError("unreachable")  # ExitStack never swallows: mypy cannot tell
