"""`stager lint` as a user types it, and the migration rules inside `stager analyze`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from stager.cli import cli
from stager.demo import DemoRepository
from stager.findings import Finding
from stager.migrations.lint.files import LintReport
from stager.render.lint import render_markdown
from stager.types import RepoPath, Risk
from tests.demo.files import VERSIONS
from tests.gitrepo import GitRepo
from tests.migrations.lint.revisions import revision_source, write_demo

REPO_ROOT = Path(__file__).resolve().parents[2]
DROP = "2024_05_20_1130-4f6a8c0e2a4c_drop_credits_offset_columns.py"


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_lint_a_versions_folder(tmp_path: Path) -> None:
    write_demo(tmp_path)
    result = invoke("-C", str(tmp_path), "lint", VERSIONS)
    assert result.exit_code == 4, result.output  # SM002 is critical, above the default high
    lines = result.stdout.splitlines()
    assert f"{VERSIONS}/{DROP}:30: SM002 critical drops column 'credits_offset_c'" in lines[0]
    assert lines[1].startswith("    fix: expand/contract")
    assert lines[-1] == (
        "24 findings in 20 revision files, PostgreSQL 12: 3 critical, 3 high, 18 medium."
    )


def test_fail_on_and_a_clean_file(tmp_path: Path) -> None:
    write_demo(tmp_path)
    assert invoke("-C", str(tmp_path), "lint", "--fail-on", "critical").exit_code == 4
    (tmp_path / "clean.py").write_bytes(
        revision_source('op.create_table("t", sa.Column("id", sa.Integer))')
    )
    result = invoke("-C", str(tmp_path), "lint", "clean.py", "--fail-on", "low")
    assert result.exit_code == 0
    assert result.stdout == "No findings in 1 revision file, PostgreSQL 12.\n"
    medium = f"{VERSIONS}/2024_05_02_1600-8e2f4a6c8e0a_add_historical_snapshot_to_summary.py"
    assert invoke("-C", str(tmp_path), "lint", medium).exit_code == 0  # SM025 is medium
    assert invoke("-C", str(tmp_path), "lint", medium, "--fail-on", "medium").exit_code == 4


def test_json_and_markdown(tmp_path: Path) -> None:
    write_demo(tmp_path)
    result = invoke("-C", str(tmp_path), "lint", "--format", "json", "backend")
    assert result.exit_code == 4
    data = json.loads(result.stdout)
    assert set(data) == {
        "postgres_version",
        "files",
        "findings",
        "environments",
        "skipped",
        "sql_files",
        "schema_version",
    }
    assert data["postgres_version"] == 12 and data["schema_version"] == 1
    assert data["environments"] == [
        {
            "env_py": "backend/migrations/env.py",
            "transaction_per_migration": False,
            "transactional_ddl": True,
            "lock_timeout": False,
        }
    ]
    drop = next(f for f in data["files"] if f["path"].endswith(DROP))
    assert set(drop) == {
        "path",
        "revision",
        "down_revision",
        "title",
        "kind",
        "operations",
        "findings",
    }
    # the mixed migration: legacy_id added, then the three offsets dropped
    assert [op["name"] for op in drop["operations"]][:4] == ["add_column"] + ["drop_column"] * 3
    assert {f["rule"] for f in drop["findings"]} == {"SM002", "SM025"}
    assert set(data["findings"][0]) == {"rule", "risk", "path", "line", "message", "hint"}
    markdown = invoke("-C", str(tmp_path), "lint", "--format", "markdown").stdout
    assert markdown.startswith("## Migration lint\n\n24 findings in 20 revision files")
    assert "| Risk | Rule | Where | Finding | Fix |" in markdown
    assert f"| 🔴 CRITICAL | SM002 | `{VERSIONS}/{DROP}:30` |" in markdown


def test_project_rules_and_rules_option(tmp_path: Path) -> None:
    write_demo(tmp_path)
    (tmp_path / ".stager").mkdir()
    (tmp_path / ".stager" / "rules.toml").write_text(
        'extends = "default"\n[rules.SM002]\nrisk = "high"\n[rules.SM025]\nenabled = false\n'
    )
    data = json.loads(invoke("-C", str(tmp_path), "lint", "--format", "json").stdout)
    assert {f["risk"] for f in data["findings"] if f["rule"] == "SM002"} == {"high"}
    assert "SM025" not in {f["rule"] for f in data["findings"]}
    assert invoke("-C", str(tmp_path), "lint", "--fail-on", "critical").exit_code == 0
    other = tmp_path / "other.toml"
    other.write_text('extends = "default"\n[postgres]\nversion = 11\n')
    data = json.loads(
        invoke("-C", str(tmp_path), "--rules", str(other), "lint", "--format", "json").stdout
    )
    assert data["postgres_version"] == 11
    assert "SM025" in {f["rule"] for f in data["findings"]}


def test_errors(tmp_path: Path) -> None:
    write_demo(tmp_path)
    bad = tmp_path / "bad.toml"
    bad.write_text('extends = "default"\n[rules.SM099]\nenabled = false\n')
    result = invoke("-C", str(tmp_path), "--rules", str(bad), "lint")
    assert result.exit_code == 1
    assert "bad.toml:2: rules.SM099: unknown rule id 'SM099'" in result.stderr
    result = invoke("-C", str(tmp_path), "lint", "no/such/versions")
    assert result.exit_code == 1
    assert "no/such/versions: no such file or folder" in result.stderr


def test_lint_in_a_real_subprocess_like_pre_commit(tmp_path: Path) -> None:
    """pre-commit runs `stager lint FILE...` in the repository root."""
    write_demo(tmp_path)
    drop = f"{VERSIONS}/{DROP}"
    result = subprocess.run(
        [sys.executable, "-m", "stager", "lint", drop],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 4, result.stderr
    assert result.stdout.startswith(f"{drop}:30: SM002 critical ")
    assert "\x1b[" not in result.stdout  # no colour codes when not a terminal


def test_pre_commit_hook_definition() -> None:
    yaml = pytest.importorskip("yaml")
    hooks = yaml.safe_load((REPO_ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    [hook] = hooks
    assert hook["id"] == "stager-lint"
    assert hook["entry"] == "stager lint"
    assert hook["language"] == "python"
    assert hook["require_serial"] is True
    import re

    pattern = re.compile(hook["files"])
    assert pattern.search("backend/migrations/versions/2024_x.py")
    assert not pattern.search("backend/app/models.py")


# --- inside `stager analyze` -------------------------------------------------------


def analyze_json(demo: DemoRepository, *extra: str) -> dict[str, object]:
    result = invoke("-C", str(demo.path), *extra, "analyze", "--format", "json")
    data: dict[str, object] = json.loads(result.stdout)
    return data


def test_analyze_reports_the_rules_of_the_branch_migrations(demo: DemoRepository) -> None:
    data = analyze_json(demo)
    findings = data["findings"]
    assert isinstance(findings, list)
    rules = sorted({f["rule"] for f in findings if f["rule"].startswith("SM")})
    # SM027 not: the demo's autocommit_block is alone in its revision (the safe form)
    # SM009: the beta-tester revision's downgrade rebuilds the enum (a rewrite)
    assert rules == ["SM002", "SM009", "SM020", "SM021", "SM025"]
    # only the branch's revisions: the base's own SM010 indexes are not reported
    paths = {f["path"] for f in findings if f["rule"].startswith("SM")}
    assert not any("d1f3b5d7f9b1" in path for path in paths)
    files = {f["path"]: f for f in data["files"]}  # type: ignore[attr-defined]
    backfill = next(f for path, f in files.items() if "c7a9e1b3d5f7" in path)
    assert backfill["risk"] == "high"
    overview = next(f for path, f in files.items() if "a3c5e7f9b1d3" in path)
    assert not any("SM025" in reason for reason in overview["reasons"])  # medium: no raise
    migrations = {m["revision"]: m for m in data["migrations"]}  # type: ignore[attr-defined]
    assert {f["rule"] for f in migrations["4f6a8c0e2a4c"]["findings"]} == {"SM002", "SM025"}
    beta = migrations["9a1c3e5a7c9e"]
    assert [op["details"].get("autocommit") for op in beta["operations"]][:2] == [None, "true"]


def test_analyze_honours_rule_settings(demo: DemoRepository) -> None:
    (demo.path / ".stager").mkdir()
    (demo.path / ".stager" / "rules.toml").write_text(
        'extends = "default"\n[rules.SM002]\nrisk = "high"\n[rules.SM020]\nenabled = false\n'
    )
    data = analyze_json(demo)
    findings = data["findings"]
    assert isinstance(findings, list)
    assert {f["risk"] for f in findings if f["rule"] == "SM002"} == {"high"}
    assert "SM020" not in {f["rule"] for f in findings}
    code = invoke("-C", str(demo.path), "analyze", "--format", "json", "--fail-on", "critical")
    assert code.exit_code == 0


def test_nothing_to_lint(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("x = 1\n")
    result = invoke("-C", str(tmp_path), "lint")
    assert result.exit_code == 0
    assert result.stdout == "No revision files found (files assigning `revision = ...`).\n"


def test_lint_from_a_subfolder_reads_the_project_config(repo: GitRepo) -> None:
    write_demo(repo.path)
    repo.write(
        ".stager/rules.toml",
        'extends = "default"\n[rules.SM025]\nenabled = false\n'
        '[rules.SM002]\nignore = ["backend/migrations/versions/*drop_credits*"]\n',
    )
    repo.commit("demo")
    for folder in ("backend", "backend/migrations", "backend/migrations/versions"):
        result = invoke("-C", str(repo.path / folder), "lint", "--format", "json")
        data = json.loads(result.stdout)
        rules = {f["rule"] for f in data["findings"]}
        assert "SM025" not in rules and "SM002" not in rules, folder
        assert all(f["path"].startswith(f"{VERSIONS}/") for f in data["findings"]), folder
    # a relative PATH is still the current folder's
    result = invoke("-C", str(repo.path / "backend"), "lint", "--format", "json", "migrations")
    assert len(json.loads(result.stdout)["files"]) == 20


def test_lint_from_a_subfolder_of_a_git_repository_without_config(repo: GitRepo) -> None:
    write_demo(repo.path)
    repo.commit("demo")
    result = invoke("-C", str(repo.path / "backend" / "migrations"), "lint", "--format", "json")
    paths = {f["path"] for f in json.loads(result.stdout)["findings"]}
    assert paths and all(path.startswith(f"{VERSIONS}/") for path in paths)


def test_a_rules_file_not_utf8_is_a_clean_error(tmp_path: Path) -> None:
    """The pre-commit hook's own path: .stager/rules.toml at the project root, not UTF-8."""
    write_demo(tmp_path)
    (tmp_path / ".stager").mkdir()
    (tmp_path / ".stager" / "rules.toml").write_bytes(b'extends = "default"\n# caf\xe9\n')
    result = CliRunner().invoke(cli, ["-C", str(tmp_path), "lint"])
    assert result.exit_code == 1, result.output
    assert result.stderr == (
        "stager: error: .stager/rules.toml:2: not UTF-8 (byte 0xe9) — "
        "save the file as UTF-8 (TOML files must be UTF-8)\n"
    )
    hook = subprocess.run(
        [sys.executable, "-m", "stager", "lint", f"{VERSIONS}/{DROP}"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert hook.returncode == 1, hook.stderr
    assert hook.stderr == result.stderr
    assert "bug" not in hook.stderr


def test_markdown_escapes_pipes_in_table_cells() -> None:
    """templates/lint.md.j2: a `|` in a finding's text would end its table cell."""
    finding = Finding(RepoPath("a.py"), 3, "SM002", Risk.HIGH, "drops x|y", "use a|b")
    report = LintReport(
        files=(), findings=(finding,), postgres_version=14, environments=(), skipped=()
    )
    assert render_markdown(report) == (
        "## Migration lint\n\n1 finding in 0 revision files, PostgreSQL 14: 1 high.\n\n"
        "| Risk | Rule | Where | Finding | Fix |\n|---|---|---|---|---|\n"
        "| 🟠 HIGH | SM002 | `a.py:3` | drops x\\|y | use a\\|b |\n"
    )


def test_lint_says_what_a_path_is_when_it_is_neither_file_nor_folder(tmp_path: Path) -> None:
    import os

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    expected = {
        str(fifo): "not a regular file or folder (a device, a pipe or a socket)",
        "/dev/zero": "not a regular file or folder (a device, a pipe or a socket)",
        str(tmp_path / "a"): "a symbolic link that loops",
        str(tmp_path / "dangling"): "a symbolic link to nothing",
        str(tmp_path / "missing.py"): "no such file or folder",
    }
    for path, message in expected.items():
        result = CliRunner().invoke(cli, ["-C", str(tmp_path), "lint", path])
        assert result.exit_code == 1, result.output
        assert f"{path}: {message}" in result.output


def test_a_revision_too_deep_for_the_parser_says_why(tmp_path: Path) -> None:
    path = tmp_path / "b1.py"
    path.write_text(
        f"revision = 'b1'\ndown_revision = None\n\n\ndef upgrade():\n    x = {'-' * 100_000}1\n",
        encoding="utf-8",
    )
    result = invoke("lint", str(path))
    assert result.exit_code == 4, result.output
    assert result.stdout.startswith(
        f"{path}:1: SG007 high cannot parse: too deeply nested for Python's parser\n"
    )


def test_a_folder_named_with_no_revision_files_is_an_error(tmp_path: Path) -> None:
    """A CI step pointed at the wrong folder fails, naming it; no paths at all stays 0."""
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "models.py").write_text("x = 1\n")
    result = CliRunner().invoke(cli, ["-C", str(tmp_path), "lint", "app"])
    assert result.exit_code == 1, result.output
    assert "stager: error: app: no revision files in this folder" in result.stderr
    assert invoke("-C", str(tmp_path), "lint").exit_code == 0


def test_a_file_that_is_no_revision_file_is_said_so(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("# Read me\n\nSome `text` here.\n")
    result = invoke("-C", str(tmp_path), "lint", "README.md")
    assert result.exit_code == 0, result.output
    assert "SG007" not in result.stdout
    assert result.stdout == (
        "README.md: not a revision file (a Python file assigning `revision = ...`).\n"
    )
