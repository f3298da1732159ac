"""`stager lint` on disk: the demo's whole versions folder, discovery, odd files."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from stager.errors import StagerError
from stager.migrations.lint.files import lint_paths
from stager.rules.settings import default_rules, load_rules
from tests.demo.files import BASE_REVISIONS, BRANCH_REVISIONS, ENV_PY, VERSIONS, demo_file
from tests.migrations.lint.revisions import revision_source, write_demo


def summary(root: Path, *paths: Path | str) -> Counter[tuple[str, str]]:
    report = lint_paths([Path(p) for p in paths], root, default_rules())
    return Counter((f.rule, Path(f.path or "").name.split("-", 1)[-1]) for f in report.findings)


def test_lint_of_the_demo_versions_folder(tmp_path: Path) -> None:
    versions = write_demo(tmp_path)
    report = lint_paths([versions], tmp_path, default_rules())
    assert len(report.files) == len(BASE_REVISIONS) + len(BRANCH_REVISIONS)
    # upgrade order, not file-name order
    assert [m.revision for m in report.files][-len(BRANCH_REVISIONS) :] == list(BRANCH_REVISIONS)
    assert report.environments[0].path == "backend/migrations/env.py"
    assert report.skipped == ()
    found = Counter((f.rule, Path(f.path or "").name.split("-", 1)[1]) for f in report.findings)
    assert found == {
        ("SM002", "4f6a8c0e2a4c_drop_credits_offset_columns.py"): 3,
        ("SM025", "4f6a8c0e2a4c_drop_credits_offset_columns.py"): 1,
        ("SM020", "c7a9e1b3d5f7_backfill_historical_snapshot.py"): 1,
        ("SM025", "8e2f4a6c8e0a_add_historical_snapshot_to_summary.py"): 1,
        ("SM021", "1b3d5f7a9c1e_add_historical_reference_data.py"): 1,
        # its downgrade rebuilds the enum: ALTER COLUMN ... TYPE rewrites user_profile
        ("SM009", "9a1c3e5a7c9e_add_beta_tester_role.py"): 1,
        ("SM025", "a3c5e7f9b1d3_add_organization_company_overview.py"): 1,
        # the base's own history
        ("SM010", "d1f3b5d7f9b1_add_compliance_report_indexes.py"): 2,
        ("SM025", "d1f3b5d7f9b1_add_compliance_report_indexes.py"): 1,
        ("SM025", "7a9c1e3a5c7e_add_transfer_comments.py"): 1,
        ("SM025", "e8f0a2c4e6a8_add_organization_address.py"): 1,
        ("SM021", "b7e9f0a1c2d3_create_fuel_type.py"): 1,
        ("SM021", "0d5e6f7a8b9c_create_compliance_period.py"): 1,
        # new tables whose foreign keys lock the tables they reference
        ("SM025", "2c4e6a8c0e2a_create_fuel_supply.py"): 1,
        ("SM025", "4a6b8c0d2e4f_create_compliance_report.py"): 1,
        ("SM025", "5b7d9f1a3c5e_create_credit_ledger.py"): 1,
        ("SM025", "6b8d0f2a4c6e_create_target_carbon_intensity.py"): 1,
        ("SM025", "8c41d2e7a9b0_create_user_profile.py"): 1,
        ("SM025", "9e1f3a5b7c9d_create_compliance_report_summary.py"): 1,
        ("SM025", "c2d4e6f8a0b1_create_transfer.py"): 1,
        ("SM025", "f4e6a8c0b2d4_create_penalty_log.py"): 1,
    }
    assert [f.risk.label for f in report.findings][:3] == ["critical"] * 3  # riskiest first
    drop = next(f for f in report.findings if f.rule == "SM002")
    assert drop.path is not None and drop.path.startswith("backend/migrations/versions/")
    assert drop.line is not None and drop.line > 1


def test_project_folder_is_read_through_alembic_ini(tmp_path: Path) -> None:
    write_demo(tmp_path)
    (tmp_path / "backend" / "app.py").write_text("revision = 'not a migration'\n")
    by_versions = summary(tmp_path, tmp_path / VERSIONS)
    assert summary(tmp_path) == by_versions  # no PATH: the current folder
    assert summary(tmp_path, "backend") == by_versions
    assert summary(tmp_path / "backend", ".") == by_versions


def test_env_py_lock_timeout_silences_sm025(tmp_path: Path) -> None:
    original = demo_file(ENV_PY)
    env_py = original.replace(
        "poolclass=pool.NullPool)",
        'poolclass=pool.NullPool, connect_args={"options": "-c lock_timeout=5s"})',
    )
    assert env_py != original
    write_demo(tmp_path, env_py)
    report = lint_paths([tmp_path / VERSIONS], tmp_path, default_rules())
    assert report.environments[0].lock_timeout
    assert "SM025" not in {f.rule for f in report.findings}


def test_files_given_one_by_one_and_odd_files(tmp_path: Path) -> None:
    versions = tmp_path / "versions"
    versions.mkdir()
    (versions / "a.py").write_bytes(revision_source('op.drop_table("t")'))
    (versions / "__init__.py").write_text("")
    (versions / "helpers.py").write_text("def helper():\n    return 1\n")
    (versions / "broken.py").write_text("revision = 'b'\ndef upgrade(:\n")
    report = lint_paths([versions], tmp_path, default_rules())
    assert [m.path for m in report.files] == ["versions/a.py"]
    assert report.skipped == ("versions/helpers.py",)
    rules = sorted((f.rule, f.path, f.line) for f in report.findings)
    assert rules == [
        ("SG007", "versions/broken.py", 2),
        ("SM001", "versions/a.py", 17),
        ("SM025", "versions/a.py", 17),
    ]
    one = lint_paths([Path("versions/a.py")], tmp_path, default_rules())
    assert {f.rule for f in one.findings} == {"SM001", "SM025"}
    with pytest.raises(StagerError, match="no such file or folder"):
        lint_paths([Path("missing")], tmp_path, default_rules())


def test_settings_apply_to_lint(tmp_path: Path) -> None:
    write_demo(tmp_path)
    rules = load_rules(
        'extends = "default"\n[rules.SM025]\nenabled = false\n'
        '[rules.SM002]\nrisk = "medium"\n[postgres]\nversion = 10\n',
        ".stager/rules.toml",
    )
    report = lint_paths([tmp_path / VERSIONS], tmp_path, rules)
    rules_found = {f.rule for f in report.findings}
    assert "SM025" not in rules_found
    assert {f.risk.label for f in report.findings if f.rule == "SM002"} == {"medium"}
    assert report.postgres_version == 10
    # the demo adds its columns to existing tables without defaults: nothing to rewrite
    assert "SM007" not in rules_found
