from __future__ import annotations

from textwrap import dedent

import pytest

from stager.classify import FileClass, classify, summarize
from stager.findings import Finding
from stager.git.diff import SUBMODULE_MODE, ChangedFile, Status
from stager.migrations.revision_files import MigrationFile
from stager.rules.settings import Rules, default_rules, load_rules
from stager.types import MigrationKind, RepoPath, Revision, Risk, Sha

VERSIONS = "backend/app/db/migrations/versions"


def changed(
    path: str,
    status: Status = Status.MODIFIED,
    old_path: str | None = None,
    mode: str = "100644",
) -> ChangedFile:
    return ChangedFile(
        path=RepoPath(path),
        status=status,
        old_path=RepoPath(old_path) if old_path else None,
        old_mode=mode,
        new_mode=mode,
        old_blob=Sha("1" * 40),
        new_blob=Sha("2" * 40),
        additions=None if mode == SUBMODULE_MODE else 3,
        deletions=None if mode == SUBMODULE_MODE else 1,
        similarity=90 if old_path else None,
    )


def revision(path: str, rev: str | None, kind: MigrationKind) -> MigrationFile:
    return MigrationFile(
        path=RepoPath(path),
        blob=Sha("2" * 40),
        revision=Revision(rev) if rev else None,
        down_revisions=(),
        branch_labels=(),
        depends_on=(),
        title="a revision",
        revises=None,
        revision_line=5,
        down_revision_line=6,
        operations=(),
        kind=kind,
    )


def finding(path: str | None, risk: Risk, rule: str = "SG006", line: int = 3) -> Finding:
    return Finding(
        path=RepoPath(path) if path else None,
        line=line,
        rule=rule,
        risk=risk,
        message="edits a migration that already exists on the base",
        hint="add a new revision instead",
    )


def rules_from(text: str, source: str = ".stager/rules.toml") -> Rules:
    return load_rules(dedent(text).lstrip("\n"), source)


def by_path(classes: list[FileClass]) -> dict[str, FileClass]:
    return {item.path: item for item in classes}


# --- matching ----------------------------------------------------------------------------


PYTHON = """
[[category]]
name = "python"
paths = ["*.py"]
risk = "medium"
"""
APP = """
[[category]]
name = "app"
paths = ["app/**"]
risk = "high"
"""


def test_first_matching_category_in_file_order_wins() -> None:
    (item,) = classify([changed("app/x.py")], rules_from(PYTHON + APP), {}, [])
    assert (item.category, item.risk) == ("python", Risk.MEDIUM)
    assert item.reasons == ("category 'python' (.stager/rules.toml:1, pattern '*.py')",)
    (item,) = classify([changed("app/x.py")], rules_from(APP + PYTHON), {}, [])
    assert (item.category, item.risk) == ("app", Risk.HIGH)
    assert item.reasons == ("category 'app' (.stager/rules.toml:1, pattern 'app/**')",)
    (item,) = classify([changed("lib/x.py")], rules_from(APP + PYTHON), {}, [])
    assert item.category == "python"


def test_default_rules_place_typical_files() -> None:
    rules = default_rules()
    paths = {
        "backend/app/db/models/user.py": ("models", 1),
        "backend/app/models.py": ("models", 1),
        "backend/alembic.ini": ("alembic-config", 1),
        "backend/app/db/migrations/env.py": ("alembic-config", 1),
        "etl/python_migration/core/models.py": ("etl-and-scripts", 4),
        "etl/python_migration/requirements.txt": ("etl-and-scripts", 4),
        "scripts/backfill.py": ("etl-and-scripts", 4),
        "backend/app/web/api/report/views.py": ("backend", 3),
        "backend/app/services/report.py": ("backend", 3),
        "backend/app/tests/models/test_user.py": ("backend-tests", 3),
        "frontend/src/views/Report.jsx": ("frontend", 3),
        "frontend/src/models/User.ts": ("frontend", 3),
        "frontend/src/views/Report.test.jsx": ("frontend-tests", 3),
        "frontend/package.json": ("dependencies", 3),
        "backend/poetry.lock": ("dependencies", 3),
        ".github/workflows/ci.yml": ("ci", 3),
        "docs/staging.md": ("docs", 3),
        "README.md": ("docs", 3),
        "LICENSE": ("other", 3),
    }
    classes = by_path(classify([changed(path) for path in paths], rules, {}, []))
    assert {path: (item.category, item.phase) for path, item in classes.items()} == paths


def test_migration_kinds_pick_their_category() -> None:
    kinds = {
        "a1": MigrationKind.ADDITIVE,
        "b2": MigrationKind.REFERENCE_DATA,
        "c3": MigrationKind.DATA,
        "d4": MigrationKind.DESTRUCTIVE,
        "e5": MigrationKind.EMPTY,
    }
    migrations = {
        RepoPath(f"{VERSIONS}/{rev}.py"): revision(f"{VERSIONS}/{rev}.py", rev, kind)
        for rev, kind in kinds.items()
    }
    files = [changed(path, Status.ADDED) for path in migrations]
    classes = classify(files, default_rules(), migrations, [])
    assert [(item.category, item.risk, item.phase) for item in classes] == [
        ("migration-additive", Risk.MEDIUM, 1),
        ("migration-reference-data", Risk.MEDIUM, 1),
        ("migration-data", Risk.HIGH, 2),
        ("migration-destructive", Risk.CRITICAL, 4),
        ("migration-other", Risk.LOW, 1),
    ]
    data = classes[2]
    line = default_rules().category("migration-data").line  # type: ignore[union-attr]
    assert data.reasons == (
        f"category 'migration-data' (rules.toml:{line}, migration kind 'data')",
        "alembic revision c3: data migration",
    )


def test_migration_and_paths_must_both_hold() -> None:
    rules = rules_from(
        """
        [[category]]
        name = "etl-data"
        migration = ["data"]
        paths = ["etl/**"]
        risk = "critical"

        [[category]]
        name = "data"
        migration = ["data", "destructive"]
        risk = "high"

        [[category]]
        name = "rest"
        paths = ["*"]
        risk = "low"
        """
    )
    migrations = {
        RepoPath(path): revision(path, rev, kind)
        for path, rev, kind in [
            ("etl/versions/x.py", "x", MigrationKind.DATA),
            ("app/versions/y.py", "y", MigrationKind.DESTRUCTIVE),
            ("app/versions/z.py", "z", MigrationKind.ADDITIVE),
        ]
    }
    files = [changed(path) for path in [*migrations, "etl/versions/notes.py"]]
    classes = classify(files, rules, migrations, [])
    assert [item.category for item in classes] == ["etl-data", "data", "rest", "rest"]
    assert classes[0].reasons[0] == (
        "category 'etl-data' (.stager/rules.toml:1, migration kind 'data', pattern 'etl/**')"
    )


def test_a_versions_file_that_is_no_revision_is_not_a_migration() -> None:
    path = f"{VERSIONS}/helpers.py"
    migrations = {RepoPath(path): revision(path, None, MigrationKind.EMPTY)}
    (item,) = classify([changed(path)], default_rules(), migrations, [])
    assert item.category == "alembic-config"
    assert not any("alembic revision" in reason for reason in item.reasons)


def test_submodule_uses_the_submodule_category() -> None:
    (item,) = classify([changed("vendor/lib", mode=SUBMODULE_MODE)], default_rules(), {}, [])
    assert (item.category, item.risk, item.phase) == ("submodule", Risk.MEDIUM, 3)
    assert "submodule change" in item.reasons[0]


def test_gitmodules_goes_with_the_submodules() -> None:
    files = [changed(".gitmodules"), changed("vendor/lib", mode=SUBMODULE_MODE)]
    gitmodules, submodule = classify(files, default_rules(), {}, [])
    assert gitmodules.category == submodule.category == "submodule"
    assert "submodule configuration" in gitmodules.reasons[0]
    (nested,) = classify([changed("docs/.gitmodules")], default_rules(), {}, [])
    assert nested.category != "submodule"  # only the root file declares submodules


def test_submodule_without_a_rule_gets_the_builtin_category() -> None:
    rules = rules_from(
        """
        [[category]]
        name = "everything"
        paths = ["*"]
        risk = "low"
        """
    )
    files = [changed("vendor/lib", mode=SUBMODULE_MODE), changed("vendor/readme")]
    submodule, plain = classify(files, rules, {}, [])
    assert (submodule.category, submodule.risk) == ("submodule", Risk.MEDIUM)
    assert submodule.reasons == (
        "submodule change; no category in .stager/rules.toml sets submodule = true",
    )
    assert plain.category == "everything"


def test_nothing_matched_is_builtin_other() -> None:
    rules = rules_from(
        """
        [[category]]
        name = "python"
        paths = ["*.py"]
        risk = "low"

        [[phase]]
        name = "only"
        categories = ["python"]
        """
    )
    (item,) = classify([changed("Makefile")], rules, {}, [])
    assert (item.category, item.risk, item.phase) == ("other", Risk.MEDIUM, 1)
    assert item.reasons == (
        "no category in .stager/rules.toml matched",
        "category 'other' is in no [[phase]] (unassigned → last phase: phase 1 (only))",
    )


def test_rename_matches_on_its_new_path() -> None:
    moved = changed("etl/legacy/models.py", Status.RENAMED, old_path="backend/app/models.py")
    (item,) = classify([moved], default_rules(), {}, [])
    assert item.path == "etl/legacy/models.py"
    assert item.category == "etl-and-scripts"


def test_findings_raise_risk_and_say_so() -> None:
    files = [
        changed("backend/app/models.py"),
        changed("backend/app/db/models/order.py"),
        changed("backend/app/db/models/user.py"),
    ]
    findings = [
        finding("backend/app/models.py", Risk.HIGH, "SG006", line=9),
        finding("backend/app/models.py", Risk.CRITICAL, "SG010", line=2),
        finding("backend/app/models.py", Risk.LOW, "SG001"),  # below the category: no reason
        finding("backend/app/db/models/order.py", Risk.LOW, "SG001"),
        finding(None, Risk.CRITICAL, "SG099"),  # about the branch, not a file
    ]
    raised, same, untouched = classify(files, default_rules(), {}, findings)
    assert raised.risk == Risk.CRITICAL
    assert raised.reasons[1:] == (
        "SG010 raised risk to critical: edits a migration that already exists on the base",
        "SG006 raised risk to high: edits a migration that already exists on the base",
    )
    assert raised.raised_by == ("SG010", "SG006")
    assert raised.phase == 1  # findings change the risk, not the phase
    assert (same.risk, len(same.reasons)) == (Risk.LOW, 1)
    assert (untouched.risk, untouched.raised_by) == (Risk.LOW, ())


def test_finding_on_the_old_path_of_a_rename_counts() -> None:
    moved = changed(
        "backend/app/models/new.py", Status.RENAMED, old_path="backend/app/models/old.py"
    )
    (item,) = classify(
        [moved], default_rules(), {}, [finding("backend/app/models/old.py", Risk.HIGH)]
    )
    assert item.risk == Risk.HIGH


def test_unassigned_category_goes_to_the_last_phase() -> None:
    rules = rules_from(
        """
        [[category]]
        name = "schema"
        paths = ["migrations/**"]
        risk = "medium"

        [[category]]
        name = "code"
        paths = ["*.py"]
        risk = "medium"

        [[category]]
        name = "misc"
        paths = ["*"]
        risk = "low"

        [[phase]]
        name = "schema"
        categories = ["schema"]

        [[phase]]
        name = "code"
        categories = ["code"]
        """
    )
    schema, code, misc = classify(
        [changed("migrations/x.sql"), changed("a.py"), changed("notes.txt")], rules, {}, []
    )
    assert (schema.phase, code.phase, misc.phase) == (1, 2, 2)
    assert misc.reasons[-1] == (
        "category 'misc' is in no [[phase]] (unassigned → last phase: phase 2 (code))"
    )
    assert not any("unassigned" in reason for reason in code.reasons)


def test_without_phases_every_phase_is_none() -> None:
    rules = rules_from('[[category]]\nname = "all"\npaths = ["*"]\nrisk = "low"\n')
    (item,) = classify([changed("a")], rules, {}, [])
    assert item.phase is None
    (row,) = summarize([item], rules)
    assert row.can_stage_first == "yes"


# --- summary -------------------------------------------------------------------------------


def test_summary_yes_no_partial() -> None:
    rules = default_rules()
    migrations = {
        RepoPath(f"{VERSIONS}/{rev}.py"): revision(f"{VERSIONS}/{rev}.py", rev, kind)
        for rev, kind in [
            ("a1", MigrationKind.ADDITIVE),
            ("a2", MigrationKind.ADDITIVE),
            ("c3", MigrationKind.DATA),
            ("d4", MigrationKind.DESTRUCTIVE),
        ]
    }
    files = [
        *(changed(path) for path in migrations),
        changed("backend/app/models/user.py"),
        changed("backend/app/models/order.py"),
        changed("backend/app/models/base.py"),
        changed("etl/run.py"),
        changed("etl/load.py"),
        changed("frontend/src/App.jsx"),
    ]
    findings = [finding(f"{VERSIONS}/a2.py", Risk.HIGH, "SG006")]
    rows = summarize(classify(files, rules, migrations, findings), rules)
    # Rows follow the phases (merge order), then the rules' order within a phase.
    assert [(row.category, row.count, row.risk, row.can_stage_first) for row in rows] == [
        ("migration-additive", 2, Risk.HIGH, "yes"),  # risk has its own column
        ("models", 3, Risk.LOW, "yes"),
        ("migration-data", 1, Risk.HIGH, "no — data migrations must go in phase 2 (data)"),
        ("frontend", 1, Risk.MEDIUM, "no — frontend must go in phase 3 (application)"),
        (
            "migration-destructive",
            1,
            Risk.CRITICAL,
            "no — destructive migrations must go in the final phase 4 (etl-and-contract)",
        ),
        (
            "etl-and-scripts",
            2,
            Risk.HIGH,
            "no — ETL and scripts must go in the final phase 4 (etl-and-contract)",
        ),
    ]
    assert [row.title for row in rows][:2] == ["Schema migrations (additive)", "Models"]


def test_summary_partial_when_only_some_files_are_in_the_first_phase() -> None:
    """The planner may move single files later (dependency closure); the table says so."""
    rules = default_rules()

    def item(path: str, phase: int, risk: Risk = Risk.LOW) -> FileClass:
        return FileClass(RepoPath(path), "models", risk, phase, ())

    classes = [
        item("app/models/a.py", 1),
        item("app/models/b.py", 2),
        item("app/models/c.py", 2),
        item("app/models/d.py", 4, Risk.HIGH),
        item("app/models/e.py", 1),
    ]
    (row,) = summarize(classes, rules)
    assert row.can_stage_first == (
        "partial — 3 of 5 files must go in phase 2 (data) and the final phase 4 (etl-and-contract)"
    )


def test_first_phase_is_the_first_non_empty_one() -> None:
    rules = default_rules()
    migrations = {
        RepoPath(f"{VERSIONS}/c3.py"): revision(f"{VERSIONS}/c3.py", "c3", MigrationKind.DATA)
    }
    files = [changed(f"{VERSIONS}/c3.py"), changed("backend/app/api/x.py")]
    rows = summarize(classify(files, rules, migrations, []), rules)
    assert [(row.category, row.can_stage_first) for row in rows] == [
        ("migration-data", "yes"),  # high risk, but placement is all the column says
        ("backend", "no — backend (API, services) must go in phase 3 (application)"),
    ]


def test_summary_lists_builtin_categories_last() -> None:
    rules = rules_from(
        """
        [[category]]
        name = "python"
        paths = ["*.py"]
        risk = "low"

        [[phase]]
        name = "one"
        categories = ["python"]
        """
    )
    files = [changed("README"), changed("vendor/x", mode=SUBMODULE_MODE), changed("a.py")]
    rows = summarize(classify(files, rules, {}, []), rules)
    assert [(row.category, row.title, row.count, row.risk) for row in rows] == [
        ("python", "Python", 1, Risk.LOW),
        ("submodule", "Submodules", 1, Risk.MEDIUM),
        ("other", "Other files", 1, Risk.MEDIUM),
    ]
    assert all(row.can_stage_first == "yes" for row in rows)


@pytest.mark.parametrize("count", [2000])
def test_classifies_many_files(count: int) -> None:
    # Its speed is measured by benchmarks/bench_analyze.py, not by a timed test: a
    # loaded CI machine made a wall-clock bound fail here.
    rules = default_rules()
    files = [changed(f"backend/app/module{i % 50}/file{i}.py") for i in range(count)]
    classes = classify(files, rules, {}, [])
    assert {item.category for item in classes} == {"backend"}
    assert len(classes) == count
