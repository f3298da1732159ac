"""`stager analyze` as a user types it: CliRunner, and a real subprocess for the script."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner, Result

from stager.cli import cli
from stager.demo import DemoRepository
from tests.gitrepo import GitRepo

SNAPSHOTS = Path(__file__).resolve().parent.parent / "snapshots"


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def analyze_json(demo: DemoRepository, *extra: str) -> dict[str, object]:
    result = invoke("-C", str(demo.path), "analyze", "--format", "json", *extra)
    assert result.exit_code == 0, result.output
    data: dict[str, object] = json.loads(result.stdout)
    return data


def check_snapshot(name: str, text: str) -> None:
    path = SNAPSHOTS / name
    if os.environ.get("STAGER_UPDATE_SNAPSHOTS") or not path.exists():
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), (
        f"{name} changed; rerun with STAGER_UPDATE_SNAPSHOTS=1 if intended"
    )


def test_json_has_every_documented_key(demo: DemoRepository) -> None:
    data = analyze_json(demo)
    assert set(data) >= {
        "base",
        "head",
        "merge_base",
        "files",
        "categories",
        "migrations",
        "alembic",
        "findings",
        "phases",
        "schema_version",
    }
    assert data["schema_version"] == 1
    assert data["head"] == demo.head and data["base"] == demo.base
    assert data["merge_base"] == demo.merge_base
    files = data["files"]
    assert isinstance(files, list) and len(files) == 48
    for entry in files:
        assert set(entry) >= {
            "path",
            "old_path",
            "status",
            "additions",
            "deletions",
            "binary",
            "category",
            "risk",
            "phase",
            "reasons",
        }
        assert entry["status"] in {"A", "M", "D", "R", "C", "T"}
        assert entry["risk"] in {"low", "medium", "high", "critical"}
        assert entry["reasons"], entry
    for row in data["categories"]:  # type: ignore[attr-defined]
        assert set(row) >= {"category", "count", "risk", "can_stage_first"}
        assert row["can_stage_first"].split(" ")[0] in {"yes", "partial", "no"}
    migrations = data["migrations"]
    assert isinstance(migrations, list)
    assert [m["change"] for m in migrations].count("added") == 8
    assert [m["change"] for m in migrations].count("modified") == 1
    for migration in migrations:
        assert set(migration) >= {
            "revision",
            "down_revision",
            "path",
            "change",
            "operations",
            "findings",
        }
        assert isinstance(migration["down_revision"], list)
    kinds = {m["revision"]: m["kind"] for m in migrations}
    assert kinds["c7a9e1b3d5f7"] == "data"
    assert kinds["4f6a8c0e2a4c"] == "destructive"
    alembic = data["alembic"]
    assert alembic == {  # type: ignore[comparison-overlap]
        "versions_dirs": ["backend/migrations/versions"],
        "revisions": 20,
        "revisions_base": 12,
        "heads_base": ["d1f3b5d7f9b1"],
        "heads_head": ["4f6a8c0e2a4c"],
    }
    for finding in data["findings"]:  # type: ignore[attr-defined]
        assert set(finding) == {"rule", "risk", "path", "line", "message", "hint"}
    rules = {f["rule"] for f in data["findings"]}  # type: ignore[attr-defined]
    assert {"SG006", "SG008", "SB001"} <= rules
    for phase in data["phases"]:  # type: ignore[attr-defined]
        assert set(phase) >= {
            "number",
            "name",
            "title",
            "files",
            "migrations",
            "depends_on",
            "risk",
            "maintenance_window",
        }
        for migration in phase["migrations"]:
            assert set(migration) >= {"revision", "down_revision", "original_down_revision", "path"}
    phased = sorted(f["path"] for p in data["phases"] for f in p["files"])  # type: ignore[attr-defined]
    assert phased == sorted(f["path"] for f in files)
    assert data["base_drift"]["files"] == ["backend/app/services/transfer_service.py"]  # type: ignore[index]


def test_markdown_report_snapshot(demo: DemoRepository) -> None:
    result = invoke("-C", str(demo.path), "analyze", "--format", "markdown")
    assert result.exit_code == 0, result.output
    check_snapshot("demo-analyze.md", result.stdout)


def test_table_names_every_category_and_the_phases(demo: DemoRepository) -> None:
    result = invoke("-C", str(demo.path), "analyze")
    assert result.exit_code == 0, result.output
    for text in ("Category", "Can stage first?", "Data migrations", "Proposed phases", "SG006"):
        assert text in result.stdout


def test_output_file(demo: DemoRepository, tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    result = invoke("-C", str(demo.path), "analyze", "--format", "json", "--output", str(target))
    assert result.exit_code == 0 and result.stdout == ""
    assert json.loads(target.read_text())["schema_version"] == 1


def test_output_to_unwritable_place_is_a_clear_error(demo: DemoRepository, tmp_path: Path) -> None:
    result = invoke(
        "-C", str(demo.path), "analyze", "--output", str(tmp_path / "no" / "such" / "x.md")
    )
    assert result.exit_code == 1
    assert "cannot write" in result.stderr and "--output" in result.stderr


def test_fail_on_exits_4_only_at_or_above_the_level(demo: DemoRepository) -> None:
    assert (
        invoke("-C", str(demo.path), "analyze", "--format", "json", "--fail-on", "high").exit_code
        == 4
    )
    # the demo's contract step drops columns: SM002 is critical (tests/commands/test_lint.py
    # checks that a rules.toml lowering it makes --fail-on critical pass)
    assert (
        invoke(
            "-C", str(demo.path), "analyze", "--format", "json", "--fail-on", "critical"
        ).exit_code
        == 4
    )


def snapshot_state(path: Path) -> dict[str, str]:
    """Every file under the work tree and .git, by content hash (index, HEAD, refs included)."""
    state = {}
    for file in sorted(path.rglob("*")):
        if file.is_file():
            state[str(file.relative_to(path))] = hashlib.sha256(file.read_bytes()).hexdigest()
    return state


def test_repository_is_byte_identical_after_analyze(demo: DemoRepository) -> None:
    (demo.path / "backend" / "app" / "dirty.py").write_text("uncommitted = True\n")
    before = snapshot_state(demo.path)
    for output_format in ("table", "markdown", "json"):
        assert invoke("-C", str(demo.path), "analyze", "--format", output_format).exit_code == 0
    assert snapshot_state(demo.path) == before


def test_console_script_in_a_real_subprocess(demo: DemoRepository) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "stager", "analyze", "--format", "json"],
        cwd=demo.path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["head"] == demo.head


def test_base_and_head_options(demo: DemoRepository, git_env: dict[str, str]) -> None:
    data = analyze_json(demo, "--base", demo.merge_base, "--head", "main")
    expected = GitRepo(demo.path, git_env).git("diff", "--name-only", demo.merge_base, "main")
    assert {f["path"] for f in data["files"]} == set(expected.split("\n"))  # type: ignore[attr-defined]
    assert [m["revision"] for m in data["migrations"]] == ["0c2e4a6c8e0f"]  # type: ignore[attr-defined]
    assert data["merge_base"] == demo.merge_base and data["head"] == demo.base


def test_project_rules_from_the_work_tree(demo: DemoRepository) -> None:
    rules = demo.path / ".stager" / "rules.toml"
    rules.parent.mkdir()
    rules.write_text(
        'extends = "default"\n\n[[category]]\nname = "frontend-hooks"\n'
        'paths = ["frontend/src/hooks/**"]\nrisk = "critical"\n'
    )
    data = analyze_json(demo)
    hooks = [f for f in data["files"] if f["path"].startswith("frontend/src/hooks/")]  # type: ignore[attr-defined]
    assert hooks and all(f["category"] == "frontend-hooks" for f in hooks)


def test_project_rules_from_the_head_commit_of_a_bare_repository(
    demo: DemoRepository, tmp_path: Path, git_env: dict[str, str]
) -> None:
    repo = GitRepo(demo.path, git_env)
    repo.commit(
        "stager rules",
        {
            ".stager/rules.toml": 'extends = "default"\n[stager]\nbase = "main"\n'
            '[[category]]\nname = "etl-special"\npaths = ["etl/**"]\nrisk = "low"\n'
        },
    )
    bare = tmp_path / "bare.git"
    repo.git("clone", "-q", "--bare", str(demo.path), str(bare))
    result = invoke("-C", str(bare), "analyze", "--format", "json", "--head", demo.head_branch)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {f["category"] for f in data["files"] if f["path"].startswith("etl/")} == {"etl-special"}
