"""Every phase on the real server: upgrade, downgrade, re-upgrade, snapshots, the end state.

Each test builds a small Alembic project in a real git repository (a commit
per phase) and runs the project's own ``alembic`` on the session's server.
"""

from __future__ import annotations

import os
import secrets
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from stager.database.end_state import EditedRevision, Reference
from stager.database.errors import DatabaseError
from stager.database.phase_run import DatabaseVerification, PhaseTree, verify_on_database
from stager.database.psql import Psql, quote_ident
from stager.database.seed import Seed
from stager.database.server import Server
from stager.git.repository import Repository
from stager.types import Sha
from tests.database.project import (
    ALEMBIC,
    SUBFOLDER_ALEMBIC,
    base_commit,
    commit_revisions,
    env_py_with,
    project_files,
    revision,
    subfolder_base_commit,
)
from tests.gitrepo import GitRepo

pytestmark = pytest.mark.usefixtures("alembic_driver")


def _run(
    server: Server,
    repo: GitRepo,
    base: str,
    phases: list[str],
    reference: str,
    env_templates: tuple[tuple[str, str], ...] = (),
    easy_rollback: frozenset[int] = frozenset(),
    edited: tuple[EditedRevision, ...] = (),
    seed: Seed | None = None,
    alembic: str = ALEMBIC,
) -> DatabaseVerification:
    trees = [PhaseTree(number, f"phase-{number}", Sha(sha)) for number, sha in enumerate(phases, 1)]
    return verify_on_database(
        Repository(repo.path),
        alembic,
        server.admin,
        Sha(base),
        trees,
        Reference("head", commit=Sha(reference)),
        lambda _message: None,
        server.log,
        env_templates,
        easy_rollback,
        edited,
        seed,
    )


@pytest.fixture
def decoy(server: Server) -> Iterator[Psql]:
    """A developer's database on the same server, which no step may touch."""
    name = f"decoy_{secrets.token_hex(4)}"
    server.admin.run(f"CREATE DATABASE {quote_ident(name)};")
    yield server.admin.on(name)
    server.admin.run(f"DROP DATABASE {quote_ident(name)} WITH (FORCE);")


def _tables(psql: Psql) -> list[str]:
    return [
        row["t"]
        for row in psql.json("SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public'")
    ]


def test_downgrades_that_fail_raise_on_purpose_or_leave_a_column_are_reported(
    server: Server, repo: GitRepo, decoy: Psql, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A developer's environment points at the decoy: stager's URL must win everywhere.
    decoy_url = decoy.connection.url()
    monkeypatch.setenv("DATABASE_URL", decoy_url)
    monkeypatch.setenv("APP_DB_URL", decoy_url)
    monkeypatch.setenv("PGHOST", decoy.connection.host)
    monkeypatch.setenv("PGPORT", str(decoy.connection.port))
    monkeypatch.setenv("PGDATABASE", decoy.connection.database)
    monkeypatch.setenv("PGPASSWORD", decoy.connection.password)
    base = base_commit(repo)
    leaves_column = commit_revisions(
        repo,
        "phase 1",
        revision(
            2, 'op.execute("ALTER TABLE account ADD COLUMN IF NOT EXISTS email text")', "pass"
        ),
    )
    irreversible = commit_revisions(
        repo,
        "phase 2",
        revision(
            3,
            'op.execute("CREATE TABLE ledger (id int)")',
            'raise NotImplementedError("the ledger cannot be dropped")',
        ),
    )
    broken = commit_revisions(
        repo,
        "phase 3",
        revision(
            4,
            'op.execute("CREATE INDEX ledger_id ON ledger (id)")',
            'raise RuntimeError("downgrade broke")',
        ),
    )
    failing = commit_revisions(
        repo,
        "phase 4",
        revision(5, 'op.execute("ALTER TABLE nowhere ADD COLUMN x int")', "pass"),
    )
    never = commit_revisions(repo, "phase 5", revision(6, "pass", "pass"))
    # Phase 2's assessment promises an easy rollback, but its downgrade raises on purpose.
    result = _run(
        server,
        repo,
        base,
        [leaves_column, irreversible, broken, failing, never],
        never,
        easy_rollback=frozenset({2}),
    )

    assert [
        (run.number, run.upgrade.status, run.downgrade.status, run.reupgrade.status)
        for run in result.phases
    ] == [
        (0, "ok", "skipped", "skipped"),
        (1, "ok", "ok", "ok"),
        (2, "ok", "irreversible", "ok"),
        (3, "ok", "failed", "ok"),
        (4, "failed", "skipped", "skipped"),  # the run stops there: no phase 5
    ]
    first, second, third, stopped = result.phases[1:]
    assert first.warnings == (
        "the downgrade does not return the schema to the previous phase's: "
        "+ column account.email: text",
    )
    assert first.ok and not second.ok
    assert "NotImplementedError: the ledger cannot be dropped" in second.downgrade.tail[-1]
    assert second.problems == (
        "the downgrade raises on purpose (irreversible), but the phase's assessment "
        "says its rollback is EASY",
    )
    assert not third.ok
    assert "RuntimeError: downgrade broke" in third.downgrade.tail[-1]
    assert first.change is not None and first.change.summary() == "+1 column"
    assert second.change is not None and second.change.summary() == "+1 table"
    assert third.change is not None and third.change.summary() == "+1 index"
    assert stopped.problems == ("upgrade heads failed",)
    assert any('relation "nowhere" does not exist' in line for line in stopped.upgrade.tail)
    assert result.end_state.skipped and not result.ok
    assert _tables(decoy) == []


def test_an_edit_of_an_applied_revision_is_a_warning_and_any_other_difference_a_failure(
    server: Server, repo: GitRepo
) -> None:
    base = base_commit(repo)
    phase = commit_revisions(
        repo,
        "phase 1: its index lost on the way",
        revision(
            2, 'op.execute("CREATE TABLE ledger (id int)")', 'op.execute("DROP TABLE ledger")'
        ),
    )
    # head edits r001, which the base had applied, and indexes the new table
    edited_path, edited_text = revision(
        1,
        'op.execute("CREATE TABLE account (id int PRIMARY KEY, name text)")',
        'op.execute("DROP TABLE account")',
    )
    head = repo.commit(
        "head",
        dict(
            [
                (edited_path, edited_text),
                revision(
                    2,
                    'op.execute("CREATE TABLE ledger (id int)"); '
                    'op.execute("CREATE INDEX ledger_id ON ledger (id)")',
                    'op.execute("DROP TABLE ledger")',
                ),
            ]
        ),
    )
    edit = EditedRevision("r001", edited_path, edited_path, edited_text.encode())
    result = _run(server, repo, base, [phase], head, edited=(edit,))

    assert result.end_state.problems == (
        "head's schema has index ledger_id; the phases end without it",
    )
    assert result.end_state.warnings == (
        "head's edit of r001 never runs on a database already past it: "
        "column account.name exists only on databases created from scratch (SG006)",
    )
    assert not result.ok
    # pg_dump's text, for people: the index in full, no \restrict key, no alembic_version
    diff = result.end_state.dump_diff
    assert diff[:2] == ("--- head", "+++ the phases")
    assert "-CREATE INDEX ledger_id ON public.ledger USING btree (id);" in diff
    assert not any("restrict" in line or "alembic_version" in line for line in diff), diff


def test_a_project_that_ignores_stagers_url_is_refused_before_anything_runs(
    server: Server, repo: GitRepo, decoy: Psql
) -> None:
    # The project reads its URL from its own settings module, a channel stager cannot reach.
    base = base_commit(repo)
    env_py = Path(repo.path / "migrations/env.py").read_text()
    stubborn = env_py.replace(
        'url = context.get_x_argument(as_dictionary=True).get("db_url") or '
        'config.get_main_option(\n    "sqlalchemy.url"\n)',
        f"url = {decoy.connection.url()!r}",
    )
    assert stubborn != env_py
    base = repo.commit("a project with its own settings", {"migrations/env.py": stubborn})
    with pytest.raises(DatabaseError, match="did not read stager's database"):
        _run(server, repo, base, [], base)
    assert _tables(decoy) == []


def test_an_ini_without_script_location_is_named_with_the_fix(
    server: Server, repo: GitRepo
) -> None:
    # Flask-Migrate's ini (CTFd, redash): the app sets script_location when it runs
    base_commit(repo)
    ini = Path(repo.path / "alembic.ini").read_text()
    flask_style = "\n".join(
        line for line in ini.splitlines() if not line.startswith("script_location")
    )
    base = repo.commit("Flask-Migrate's ini", {"alembic.ini": flask_style + "\n"})
    with pytest.raises(DatabaseError) as raised:
        _run(server, repo, base, [], base)
    message = " ".join(str(raised.value).split())
    assert "alembic.ini names no script_location" in message
    assert "Flask-Migrate" in message and "[verify] alembic" in message


def test_a_project_that_reads_a_variable_of_its_own_gets_it_from_verify_env(
    server: Server, repo: GitRepo
) -> None:
    base_commit(repo)
    env_py = Path(repo.path / "migrations/env.py").read_text()
    own = env_py.replace(
        'url = context.get_x_argument(as_dictionary=True).get("db_url") or '
        'config.get_main_option(\n    "sqlalchemy.url"\n)',
        'import os\nurl = os.environ["FUEL_CONNECTION"]',
    )
    assert own != env_py
    base = repo.commit("a project that reads FUEL_CONNECTION", {"migrations/env.py": own})
    with pytest.raises(DatabaseError, match="failed before it read stager's database"):
        _run(server, repo, base, [], base)
    result = _run(server, repo, base, [], base, (("FUEL_CONNECTION", "{url}"),))
    assert result.ok
    assert [run.upgrade.status for run in result.phases] == ["ok"]


def test_a_package_of_the_project_imported_from_outside_the_phases_tree_is_a_warning(
    server: Server, repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # src/ layout: the tree's package is not on sys.path, and the user's checkout is
    # (as an editable install puts it): Alembic would import the checkout's code
    base_commit(repo)
    env_py = Path(repo.path / "migrations/env.py").read_text()
    base = repo.commit(
        "env.py imports the project's package",
        {"migrations/env.py": "import fuelapp\n" + env_py, "src/fuelapp/__init__.py": ""},
    )
    checkout = tmp_path / "checkout"
    (checkout / "fuelapp").mkdir(parents=True)
    (checkout / "fuelapp" / "__init__.py").write_text("")
    inherited = [os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else []
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(checkout), *inherited]))
    result = _run(server, repo, base, [], base)

    assert result.ok
    assert result.phases[0].warnings == (
        f"the project's package fuelapp resolves to {checkout / 'fuelapp' / '__init__.py'}, "
        "outside the phase's tree (an editable install of a checkout?): its Alembic would "
        "import that code, not the phase's",
    )


def _branch_revision(name: str, parent: str, table: str) -> tuple[str, str]:
    """Revision ``name`` after ``parent``, creating ``table``."""
    source = (
        "from alembic import op\n\n"
        f"revision = {name!r}\ndown_revision = {parent!r}\n\n\n"
        f"def upgrade():\n    op.execute('CREATE TABLE {table} (id int)')\n\n\n"
        f"def downgrade():\n    op.execute('DROP TABLE {table}')\n"
    )
    return f"migrations/versions/{name}.py", source


def test_a_previous_phase_with_two_heads_is_downgraded_to_both(
    server: Server, repo: GitRepo
) -> None:
    base = base_commit(repo)
    forked = commit_revisions(
        repo,
        "phase 1: two heads",
        _branch_revision("left", "r001", "left_a"),
        _branch_revision("right", "r001", "right_a"),
    )
    grown = commit_revisions(
        repo,
        "phase 2: each head grows",
        _branch_revision("left2", "left", "left_b"),
        _branch_revision("right2", "right", "right_b"),
    )
    result = _run(server, repo, base, [forked, grown], grown)

    second = result.phases[2]
    assert (second.downgrade.status, second.reupgrade.status) == ("ok", "ok")
    assert second.problems == () and second.warnings == (), second
    assert result.ok


def test_a_seed_proves_the_data_migrations_the_phases_lost(
    server: Server, repo: GitRepo, tmp_path: Path
) -> None:
    # The phases add the column but lost head's data migration on the way: the schemas
    # are equal, only rows tell them apart.
    base = base_commit(repo)
    phase = commit_revisions(
        repo,
        "phase 1: the column, without its backfill",
        revision(
            2,
            'op.execute("ALTER TABLE account ADD COLUMN plan text")',
            'op.execute("ALTER TABLE account DROP COLUMN plan")',
        ),
    )
    head = commit_revisions(
        repo,
        "head: the column and its backfill",
        revision(
            2,
            'op.execute("ALTER TABLE account ADD COLUMN plan text"); '
            "op.execute(\"UPDATE account SET plan = 'free'\")",
            'op.execute("ALTER TABLE account DROP COLUMN plan")',
        ),
    )
    (tmp_path / "seed.sql").write_text("INSERT INTO account VALUES (1), (2), (3);\n")
    seed = Seed.parse("seed.sql", tmp_path)
    result = _run(server, repo, base, [phase], head, seed=seed)

    assert result.phases[1].ok and result.phases[1].data_change == ("account",)
    assert result.end_state.problems == (
        "table account: the phases leave other rows than head, seeded alike (3 rows; head: 3)",
    )
    assert not result.ok
    assert result.notes == (
        "data: the seed seed.sql loaded after the base's upgrade; every table's rows "
        "hashed after each phase and compared at the end with those of head",
    )


def test_a_downgrade_that_brings_back_the_schema_but_not_the_rows_is_a_warning(
    server: Server, repo: GitRepo, tmp_path: Path
) -> None:
    # full-stack-fastapi-template's branch dropped item.description: the downgrade adds the
    # column back empty. The schema returns, the seeded rows' values do not.
    base_commit(repo)
    base = commit_revisions(
        repo,
        "base: a note per account",
        revision(
            2,
            'op.execute("ALTER TABLE account ADD COLUMN note text")',
            'op.execute("ALTER TABLE account DROP COLUMN note")',
        ),
    )
    phase = commit_revisions(
        repo,
        "phase 1: the note dropped",
        revision(
            3,
            'op.execute("ALTER TABLE account DROP COLUMN note")',
            'op.execute("ALTER TABLE account ADD COLUMN note text")',
        ),
    )
    (tmp_path / "seed.sql").write_text("INSERT INTO account VALUES (1, 'kept'), (2, NULL);\n")
    seed = Seed.parse("seed.sql", tmp_path)
    result = _run(server, repo, base, [phase], phase, seed=seed)

    assert result.phases[1].warnings == (
        "the downgrade brings back the previous phase's schema but not its rows: account "
        "(a rollback after this phase loses their data: restore it from a backup)",
    )
    assert result.ok  # a warning: SM002 already says that a drop loses data


def test_a_seed_that_fails_stops_before_the_first_phase(
    server: Server, repo: GitRepo, tmp_path: Path
) -> None:
    base = base_commit(repo)
    seed = Seed.parse(f"{sys.executable} -c 'import sys; sys.exit(\"no fixtures\")'", tmp_path)
    result = _run(server, repo, base, [base], base, seed=seed)

    assert [run.number for run in result.phases] == [0]
    assert result.phases[0].problems[0].startswith("the seed ")
    assert "no fixtures" in result.phases[0].problems
    assert result.end_state.skipped and not result.ok


def test_a_project_run_in_its_ini_folder_that_builds_its_url_from_variables_is_told_the_server(
    server: Server, repo: GitRepo, decoy: Psql
) -> None:
    # full-stack-fastapi-template: backend/alembic.ini says script_location = app/alembic,
    # found from backend/ only, and env.py imports the package app that backend/ holds.
    # Its older config builds the URL from POSTGRES_SERVER, POSTGRES_PORT, … (and a .env).
    own = (
        "import os\n"
        "from alembic import context\n"
        "context.config.cmd_opts.x = [\n"
        "    'db_url=postgresql://{}:{}/{}'.format(\n"
        "        os.environ.get('DB_HOST', '127.0.0.1'), os.environ.get('DB_PORT', '9'),\n"
        f"        os.environ.get('DB_NAME', {decoy.connection.database!r}),\n"
        "    )\n"
        "]\n"
    )
    base = subfolder_base_commit(repo, own)
    with pytest.raises(DatabaseError) as raised:
        _run(server, repo, base, [], base, alembic=SUBFOLDER_ALEMBIC)
    message = " ".join(str(raised.value).split())
    assert "tried to connect to 127.0.0.1:9, not to stager's database" in message, message
    assert '[verify] env = { DB_HOST = "{host}"' in message
    templates = (("DB_HOST", "{host}"), ("DB_PORT", "{port}"), ("DB_NAME", "{database}"))
    result = _run(server, repo, base, [], base, templates, alembic=SUBFOLDER_ALEMBIC)
    assert [run.upgrade.status for run in result.phases] == ["ok"], result.phases
    assert _tables(decoy) == []


def test_a_script_location_found_nowhere_is_named_with_the_fix(
    server: Server, repo: GitRepo
) -> None:
    subfolder_base_commit(repo)
    ini = Path(repo.path / "backend/alembic.ini").read_text()
    moved = ini.replace("script_location = migrations", "script_location = backend/nowhere")
    base = repo.commit("scripts moved", {"backend/alembic.ini": moved})
    with pytest.raises(DatabaseError) as raised:
        _run(server, repo, base, [], base, alembic=SUBFOLDER_ALEMBIC)
    message = " ".join(str(raised.value).split())
    assert "names a script_location found neither from the phase's root" in message, message
    assert "script_location = %(here)s/migrations" in message


def test_a_dependency_the_projects_alembic_cannot_import_is_named_with_that_alembic(
    server: Server, repo: GitRepo
) -> None:
    # The alembic on PATH was stager's own, not the project's virtualenv's: say which ran
    base = subfolder_base_commit(repo, "import sqlmodel_of_the_project  # noqa: F401\n")
    with pytest.raises(DatabaseError) as raised:
        _run(server, repo, base, [], base, alembic=SUBFOLDER_ALEMBIC)
    message = " ".join(str(raised.value).split())
    alembic = shutil.which("alembic")
    assert alembic is not None
    assert message.startswith(
        f"the project's Alembic ({alembic}) cannot import sqlmodel_of_the_project: "
        "ModuleNotFoundError: No module named 'sqlmodel_of_the_project' — "
    ), message
    assert "Traceback" not in message and 'File "' not in message
    assert '[verify] alembic = ".venv/bin/alembic"' in message


def test_a_project_that_keeps_alembic_version_on_a_search_path_of_its_own_is_told_the_fix(
    server: Server, repo: GitRepo
) -> None:
    # Netflix/dispatch: env.py sets search_path to "dispatch_core", where its alembic_version
    # lives; it reads stager's database, but not the probe in public.alembic_version
    base = base_commit(repo, {"migrations/env.py": env_py_with(["SET search_path TO core"])})
    with pytest.raises(DatabaseError) as raised:
        _run(server, repo, base, [], base)
    message = " ".join(str(raised.value).split())
    assert message.startswith(
        "the project's Alembic connected to stager's database but did not read the probe "
        "revision stager wrote into public.alembic_version: it keeps its alembic_version "
        "elsewhere (a search_path its env.py sets"
    ), message
    assert message.endswith(
        'name it in rules.toml: [verify] version_table = "SCHEMA.alembic_version", with the '
        "first schema of that search_path"
    ), message


def test_a_version_table_schema_the_project_never_creates_is_named_when_the_base_fails(
    server: Server, repo: GitRepo
) -> None:
    # env.py names the schema but leaves its creation to something outside the migrations:
    # stager created it for the probe only, so the base's upgrade fails as on a new database
    in_app_meta = env_py_with([], ', version_table_schema="app_meta"')
    base = base_commit(repo, {"migrations/env.py": in_app_meta})
    result = _run(server, repo, base, [], base)
    base_run = result.phases[0]
    assert base_run.upgrade.failed
    assert base_run.problems[0] == "the base's own migrations do not run"
    assert base_run.problems[1].startswith(
        "the schema app_meta, where the project's Alembic keeps its version table, does not "
        "exist: stager creates it for the routing probe only; the project's env.py or its "
        "first migration must create it"
    ), base_run.problems


def test_an_environment_named_with_dash_n_reads_stagers_url_from_its_own_section(
    server: Server, repo: GitRepo, decoy: Psql
) -> None:
    # Netflix/dispatch's alembic.ini: [core] and [tenant], run as `alembic -n core`; the
    # ini copy must carry stager's URL in the section the environment reads
    base_commit(repo)
    ini = Path(repo.path / "alembic.ini").read_text()
    env_py = Path(repo.path / "migrations/env.py").read_text()
    named = ini.replace("[alembic]", "[alembic]\n\n[core]").replace(
        "postgresql://decoy:decoy@127.0.0.1:9/decoy", decoy.connection.url()
    )
    ini_only = env_py.replace('context.get_x_argument(as_dictionary=True).get("db_url") or ', "")
    assert named != ini and ini_only != env_py
    base = repo.commit(
        "a [core] environment", {"alembic.ini": named, "migrations/env.py": ini_only}
    )
    result = _run(server, repo, base, [], base, alembic="alembic -c alembic.ini -n core")
    assert [run.upgrade.status for run in result.phases] == ["ok"], result.phases
    assert _tables(decoy) == []


def test_a_package_that_script_location_names_is_imported_from_the_phases_src(
    server: Server, repo: GitRepo
) -> None:
    # src/ layout with script_location = fuelapp:migrations (Netflix/dispatch's kind): the
    # package is on no path of the phase's tree unless stager puts src/ there
    files = {
        path.replace("migrations/", "src/fuelapp/migrations/"): text
        for path, text in project_files().items()
    }
    files["alembic.ini"] = files["alembic.ini"].replace(
        "script_location = %(here)s/migrations", "script_location = fuelapp:migrations"
    )
    files["src/fuelapp/__init__.py"] = ""
    path, source = revision(
        1,
        'op.execute("CREATE TABLE account (id int PRIMARY KEY)")',
        'op.execute("DROP TABLE account")',
    )
    files[path.replace("migrations/", "src/fuelapp/migrations/")] = source
    base = repo.commit("base, src/ layout", files)
    result = _run(server, repo, base, [], base)
    assert [run.upgrade.status for run in result.phases] == ["ok"], result.phases


def test_a_package_of_the_tree_on_no_path_of_its_alembic_is_named_with_the_fix(
    server: Server, repo: GitRepo
) -> None:
    # env.py imports the project's package, which lies under src/ with no prepend_sys_path
    # and no editable install: installing dependencies would not help
    base_commit(repo)
    env_py = Path(repo.path / "migrations/env.py").read_text()
    base = repo.commit(
        "env.py imports src/fuelapp",
        {"migrations/env.py": "import fuelapp.models\n" + env_py, "src/fuelapp/__init__.py": ""},
    )
    with pytest.raises(DatabaseError) as raised:
        _run(server, repo, base, [], base)
    message = " ".join(str(raised.value).split())
    assert message.startswith(
        "the project's Alembic cannot import fuelapp, which the phase's tree holds at src/fuelapp"
    ), message
    assert "prepend_sys_path = %(here)s/src" in message
