"""`stager analyze` as a user types it: CliRunner, and a real subprocess for the script."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from stager.cli import cli
from stager.demo import DemoRepository
from tests.gitrepo import GitRepo
from tests.snapshot_files import check_snapshot


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def analyze_json(demo: DemoRepository, *extra: str) -> dict[str, object]:
    result = invoke("-C", str(demo.path), "analyze", "--format", "json", *extra)
    assert result.exit_code == 0, result.output
    data: dict[str, object] = json.loads(result.stdout)
    return data


DOCS = Path(__file__).resolve().parents[2] / "docs" / "json-output.md"


def documented_tables() -> dict[str, dict[str, str]]:
    """``stager analyze``'s key tables in docs/json-output.md: section → key → meaning."""
    text = DOCS.read_text(encoding="utf-8")
    start = text.index("# `stager analyze --format json`")
    section = text[start : text.index("\n# ", start + 1)]
    tables: dict[str, dict[str, str]] = {}
    for chunk in section.split("\n## ")[1:]:
        heading, _, body = chunk.partition("\n")
        rows: dict[str, str] = {}
        in_key_table = False
        for line in body.splitlines():
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            if not line.startswith("|"):
                if in_key_table:
                    break  # only the first key table of a section
                continue
            if cells[0] == "key":
                in_key_table = True
            elif in_key_table and not set(cells[0]) <= {"-"}:
                for key in re.findall(r"`([^`]+)`", cells[0]):
                    rows[key] = cells[-1]
        tables[heading.strip()] = rows
    return tables


def listed_keys(meaning: str) -> set[str]:
    """The plain key names in a table cell (skipping rule ids, calls and dotted names)."""
    return {key for key in re.findall(r"`([^`]+)`", meaning) if re.fullmatch(r"[a-z_]+", key)}


def test_docs_json_keys_are_parsed() -> None:
    tables = documented_tables()
    assert {"base_ref", "head_ref", "conflicts", "commits", "base_drift", "warnings"} <= set(
        tables["Top level"]
    )
    assert {"submodule", "old_mode", "new_mode"} <= set(tables["`files[]`"])
    assert {"title", "kind", "branch_labels", "depends_on"} <= set(tables["`migrations[]`"])
    assert listed_keys(tables["`migrations[]`"]["operations"]) == {
        "name",
        "function",
        "line",
        "table",
        "columns",
        "sql",
        "details",
    }
    assert "revisions_base" in tables["`alembic`"] and "title" in tables["`categories[]`"]


def test_json_has_exactly_the_documented_keys(demo: DemoRepository) -> None:
    """Every key docs/json-output.md promises is there, and no undocumented one."""
    data = analyze_json(demo)
    tables = documented_tables()

    def check(objects: object, section: str) -> None:
        assert isinstance(objects, list) and objects, section
        for item in objects:
            assert set(item) == set(tables[section]), section

    check([data], "Top level")
    for section in ("files[]", "categories[]", "migrations[]", "findings[]", "phases[]"):
        check(data[section[:-2]], f"`{section}`")
    check([data["alembic"]], "`alembic`")
    alembic = tables["`alembic`"]
    environments = data["alembic"]["environments"]  # type: ignore[index]
    assert environments and all(
        set(entry) == listed_keys(alembic["environments"]) for entry in environments
    )
    migration = tables["`migrations[]`"]
    operations = [op for m in data["migrations"] for op in m["operations"]]  # type: ignore[attr-defined]
    assert operations and all(set(op) == listed_keys(migration["operations"]) for op in operations)
    phase = tables["`phases[]`"]
    for item in data["phases"]:  # type: ignore[attr-defined]
        assert all(set(f) == listed_keys(phase["files"]) for f in item["files"])
        assert all(set(m) == listed_keys(phase["migrations"]) for m in item["migrations"])
    commit = {"sha", "parents", "author", "author_email", "date", "subject", "files"}
    assert all(f"`{key}`" in DOCS.read_text(encoding="utf-8") for key in commit)
    assert all(set(c) == commit for c in data["commits"])  # type: ignore[attr-defined]
    assert isinstance(data["base_drift"], dict)
    assert set(data["base_drift"]) == {"commits", "files"}
    assert isinstance(data["conflicts"], list)
    for conflict in data["conflicts"]:
        assert set(conflict) == set(tables["`conflicts[]`"])


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
    assert alembic == {
        "versions_dirs": ["backend/migrations/versions"],
        "revisions": 20,
        "revisions_base": 12,
        "heads_base": ["d1f3b5d7f9b1"],
        "heads_head": ["4f6a8c0e2a4c"],
        "environments": [
            {
                "versions_dirs": ["backend/migrations/versions"],
                "revisions": 20,
                "revisions_base": 12,
                "heads_base": ["d1f3b5d7f9b1"],
                "heads_head": ["4f6a8c0e2a4c"],
            }
        ],
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


def test_named_ini_sections_are_separate_environments(repo: GitRepo) -> None:
    """`alembic -n users` / `-n orders`: two histories in one alembic.ini, ids may repeat."""

    def rev(revision: str, down: str | None) -> str:
        return f'"""{revision}"""\nrevision = {revision!r}\ndown_revision = {down!r}\n'

    ini = "[users]\nscript_location = users_db\n\n[orders]\nscript_location = orders_db\n"
    repo.commit(
        "two environments",
        {
            "alembic.ini": ini,
            "users_db/versions/0001.py": rev("0001", None),
            "orders_db/versions/0001.py": rev("0001", None),
        },
    )
    repo.git("checkout", "-q", "-b", "feature")
    repo.commit("users 0002", {"users_db/versions/0002.py": rev("0002", "0001")})
    result = invoke("-C", str(repo.path), "analyze", "--base", "main", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [f["rule"] for f in data["findings"]] == []
    assert data["alembic"]["revisions"] == 3 and data["alembic"]["heads_head"] == ["0001", "0002"]
    assert [e["versions_dirs"] for e in data["alembic"]["environments"]] == [
        ["users_db/versions"],
        ["orders_db/versions"],
    ]
    assert [m["revision"] for m in data["migrations"]] == ["0002"]


def test_comment_only_edits_of_old_revisions_are_one_low_finding(repo: GitRepo) -> None:
    """A reformat that touches old revisions: one low SG006 listing them, not one high each."""

    def rev(revision: str, down: str | None) -> str:
        return f'"""{revision}"""\nrevision = {revision!r}\ndown_revision = {down!r}\n'

    revisions = {
        f"db/versions/{n:04}.py": rev(f"{n:04}", f"{n - 1:04}" if n else None) for n in range(4)
    }
    repo.commit("history", {"alembic.ini": "[alembic]\nscript_location = db\n", **revisions})
    repo.git("checkout", "-q", "-b", "feature")
    edited = {
        path: text.replace(" = ", "  =  ") + "# reformatted\n" for path, text in revisions.items()
    }
    edited["db/versions/0003.py"] = rev("0003", "0001")  # a real edit: it now revises 0001
    repo.commit("reformat", edited)
    result = invoke("-C", str(repo.path), "analyze", "--base", "main", "--format", "json")
    assert result.exit_code == 0, result.output
    sg006 = [f for f in json.loads(result.stdout)["findings"] if f["rule"] == "SG006"]
    assert [(f["path"], f["risk"]) for f in sg006] == [
        ("db/versions/0003.py", "high"),
        (None, "low"),
    ]
    assert sg006[1]["message"].endswith(
        "(comments, formatting): db/versions/0000.py, db/versions/0001.py, db/versions/0002.py"
    )


def test_docs_list_every_branch_rule_id_with_its_risk() -> None:
    """json-output.md's rule-id table names every SG/SB/SP finding stager can report."""
    from stager.rules.catalogue import RULES

    text = DOCS.read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| `(S[GBP]\d{3})` \| (\w+) \|", text, flags=re.MULTILINE))
    for rule in [rule for rule in RULES if not rule.startswith("SM")]:
        assert rule in rows, f"{rule} is missing from docs/json-output.md's rule-id table"
        assert rows[rule] == RULES[rule].risk.label, rule


def test_fail_on_and_output_say_so_on_stderr(demo: DemoRepository, tmp_path: Path) -> None:
    """In a CI log, exit 4 says which findings caused it, and --output says where it went."""
    target = tmp_path / "report.json"
    result = invoke(
        "-C",
        str(demo.path),
        "analyze",
        "--format",
        "json",
        "-o",
        str(target),
        "--fail-on",
        "critical",
    )
    assert result.exit_code == 4
    assert result.stdout == ""
    assert f"wrote {target}" in result.stderr
    assert "3 findings at or above critical (--fail-on critical): exit 4" in result.stderr
    low = invoke("-C", str(demo.path), "analyze", "--format", "json", "--fail-on", "low")
    assert low.exit_code == 4 and "findings at or above low" in low.stderr
    assert json.loads(low.stdout)["schema_version"] == 1  # stdout stays pure JSON


@pytest.mark.parametrize("link", [".stager/rules.toml", ".stager"])
def test_project_rules_linked_out_of_the_tree_are_refused(
    repo: GitRepo, tmp_path: Path, link: str
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "rules.toml").write_text('extends = "default"\n')
    repo.commit("base", {"README.md": "hello\n"})
    repo.git("checkout", "-q", "-b", "feature")
    path = repo.path / link
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(outside / "rules.toml" if link.endswith(".toml") else outside)
    repo.commit("work", {"app.py": "x = 2\n"})
    for command in ("analyze", "lint"):
        result = CliRunner().invoke(cli, ["-C", str(repo.path), command])
        assert result.exit_code == 1, result.output
        assert link in result.stderr and "symbolic link" in result.stderr


def test_the_alembic_line_says_where_the_heads_are(demo: DemoRepository) -> None:
    """A newcomer read "heads before X" as main's current head: say it is the merge base's."""
    table = invoke("-C", str(demo.path), "analyze").stdout
    assert "; head at the merge base d1f3b5d7f9b1, on the branch 4f6a8c0e2a4c;" in table
    markdown = invoke("-C", str(demo.path), "analyze", "--format=markdown").stdout
    assert "- Head at the merge base: `d1f3b5d7f9b1`; on the branch: `4f6a8c0e2a4c`" in markdown


def test_findings_already_on_the_base_never_count_toward_fail_on(repo: GitRepo) -> None:
    """A base with an old SG005 (docstring disagrees): the branch's --fail-on low passes."""
    wrong = '"""0001\n\nRevises: 9999\n"""\nrevision = "0001"\ndown_revision = None\n'
    repo.commit("history", {"alembic.ini": "[alembic]\nscript_location = db\n"})
    repo.commit("old revision", {"db/versions/0001.py": wrong})
    repo.git("checkout", "-q", "-b", "feature")
    repo.commit("readme", {"README.md": "docs\n"})
    result = invoke("-C", str(repo.path), "analyze", "--base", "main", "--fail-on", "low")
    assert result.exit_code == 0, result.output
    assert "not introduced by this branch" in result.stdout
    repo.commit("another wrong docstring", {"db/versions/0002.py": wrong.replace("0001", "0002")})
    new = invoke("-C", str(repo.path), "analyze", "--base", "main", "--fail-on", "low")
    assert new.exit_code == 4, new.output
