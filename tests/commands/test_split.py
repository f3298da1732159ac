"""`stager split` as a user runs it, on the demo repository."""

from __future__ import annotations

import json
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from stager.cli import cli
from stager.demo import DemoRepository
from stager.git.refs import RefUpdate, update_refs
from stager.git.repository import Repository
from tests.branches.helpers import Checkout, migration
from tests.gitrepo import GitRepo
from tests.progress_lines import without_progress

BRANCHES = [
    "stage/1-foundation",
    "stage/2-data",
    "stage/3-application",
    "stage/4-etl-and-contract",
]


def stager(demo: DemoRepository, *args: str) -> Result:
    return CliRunner().invoke(cli, ["-C", str(demo.path), *args])


def git(demo: DemoRepository, env: dict[str, str]) -> GitRepo:
    return GitRepo(demo.path, env)


def test_split_all_json_then_rerun_then_undo(demo: DemoRepository, git_env: dict[str, str]) -> None:
    repo = git(demo, git_env)
    before = Checkout.of(repo)
    result = stager(demo, "split", "--all", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [phase["branch"] for phase in data["phases"]] == BRANCHES
    for phase in data["phases"]:
        for key in ("number", "name", "files", "migrations", "depends_on", "risk"):
            assert key in phase
        assert phase["strategy"] in ("cherry-pick", "patch") and phase["status"] == "created"
        assert repo.git("rev-parse", phase["branch"]) == phase["commit"]
        assert phase["commits"][0]["parent"] == phase["parent"]
    assert data["phases"][1]["parent"] == data["phases"][0]["commit"]
    assert data["merge_base"] == demo.merge_base and data["layout"] == "stacked"
    assert Checkout.of(repo) == before
    # main moved on: the phases are built onto its tip. The last branch is git's merge of
    # main and the feature branch, but for the demo's split migration (its contract part
    # at its own path, the new expand revision beside it) and the first revision, re-chained
    # onto main's new head.
    assert data["start"] == demo.base
    written = {r["reason"]: r["path"] for p in data["phases"] for r in p["rewrites"]}
    merged = repo.git("merge-tree", "--write-tree", demo.base_branch, demo.head_branch)
    diff = repo.git("diff", "--name-status", merged, "stage/4-etl-and-contract")
    assert sorted(diff.splitlines()) == sorted(
        [f"A\t{written['expand']}", f"M\t{written['contract']}", f"M\t{written['onto']}"]
    )

    again = stager(demo, "split", "--all", "--format", "json")
    assert [p["status"] for p in json.loads(again.stdout)["phases"]] == ["unchanged"] * 4

    undone = stager(demo, "split", "--undo")
    assert undone.exit_code == 0, undone.output
    assert "deleted stage/1-foundation (the split had created it)" in undone.stdout
    assert repo.git("branch", "--list", "stage/*") == ""
    assert Checkout.of(repo) == before


def test_table_and_markdown(demo: DemoRepository, git_env: dict[str, str]) -> None:
    table = stager(demo, "split", "--all", "--dry-run", "--strategy", "patch")
    assert table.exit_code == 0, table.output
    assert "dry run, nothing written" in table.stdout and "stage/2-data" in table.stdout
    assert git(demo, git_env).git("branch", "--list", "stage/*") == ""
    markdown = stager(demo, "split", "--phase", "2", "--format", "markdown")
    assert markdown.exit_code == 0, markdown.output
    assert markdown.stdout.startswith("## Split")
    assert "| 2. Data migrations | `stage/2-data` |" in markdown.stdout
    assert "building phase 1 (foundation) first: phase 2 stacks on it" in markdown.stdout


def test_usage_errors_exit_2(demo: DemoRepository) -> None:
    assert stager(demo, "split").exit_code == 2
    assert stager(demo, "split", "--all", "--phase", "1").exit_code == 2
    assert stager(demo, "split", "--all", "--strategy", "rebase").exit_code == 2
    assert stager(demo, "split", "--undo", "--dry-run").exit_code == 2


def test_failure_modes_exit_1_with_the_fix(demo: DemoRepository, git_env: dict[str, str]) -> None:
    unknown = stager(demo, "split", "--phase", "9")
    assert unknown.exit_code == 1
    assert "there is no phase 9 in the plan" in unknown.stderr
    independent = stager(demo, "split", "--all", "--layout", "independent")
    assert independent.exit_code == 1
    assert "--layout independent is not possible" in independent.stderr
    git(demo, git_env).git("branch", "stage/2-data", demo.merge_base)
    existing = stager(demo, "split", "--all")
    assert existing.exit_code == 1
    assert "stage/2-data" in existing.stderr and "--force" in existing.stderr
    assert git(demo, git_env).git("branch", "--list", "stage/*").split() == ["stage/2-data"]
    nothing = stager(demo, "split", "--undo")
    assert nothing.exit_code == 1 and "no stager split to undo" in nothing.stderr


def test_the_plan_file_is_followed_and_a_stale_one_refused(
    demo: DemoRepository, git_env: dict[str, str]
) -> None:
    plan = demo.path / "stager-plan.toml"
    written = stager(demo, "plan", "--write", str(plan))
    assert written.exit_code == 0, written.output
    text = plan.read_text()
    line = next(line for line in text.splitlines() if '"docs/etl.md"' in line)
    text = text.replace(line + "\n", "")
    marker = "files = [\n"
    last = text.rindex(marker) + len(marker)
    plan.write_text(text[:last] + '    "docs/etl.md",\n' + text[last:])
    result = stager(demo, "split", "--all", "--format", "json")
    assert result.exit_code == 0, result.output
    followed = f"following the plan file {plan}, not the rules"
    assert any(note.startswith(followed) for note in json.loads(result.stdout)["notes"])
    assert followed in stager(demo, "split", "--all", "--dry-run").stdout
    repo = git(demo, git_env)
    assert (
        repo.git("diff", "--name-only", "stage/2-data", "stage/3-application", "--", "docs") == ""
    )
    assert "docs/etl.md" in repo.git(
        "diff", "--name-only", "stage/3-application", "stage/4-etl-and-contract"
    )

    repo.commit("one more commit", {"README.md": "moved on\n"})
    stale = stager(demo, "split", "--all", "--force")
    assert stale.exit_code == 1
    assert "made for head" in stale.stderr and "stager plan" in stale.stderr


def test_onto_the_base_tip(demo: DemoRepository, git_env: dict[str, str]) -> None:
    result = stager(demo, "split", "--all", "--onto", demo.base_branch, "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["start"] == demo.base and data["phases"][0]["parent"] == demo.base
    rechained = [r for p in data["phases"] for r in p["rewrites"]]
    assert rechained and rechained[0]["reason"] == "onto"  # main gained a migration
    verified = CliRunner().invoke(cli, ["-C", str(demo.path), "verify"])
    assert verified.exit_code == 0, verified.output


def test_demo_end_to_end(tmp_path: Path, git_env: dict[str, str]) -> None:
    target = tmp_path / "demo"
    result = CliRunner().invoke(cli, ["demo", str(target)])
    assert result.exit_code == 0, result.output
    for text in ("stager split --all", "stage/4-etl-and-contract", "every check passed"):
        assert text in result.stdout
    repo = GitRepo(target, git_env)
    assert repo.git("branch", "--list", "stage/*").split() == BRANCHES
    assert repo.git("status", "--porcelain") == ""
    assert repo.git("symbolic-ref", "--short", "HEAD") == "feature/fuel-credits-overhaul"


def test_dry_run_lists_commits_files_rewrites_and_refusals(
    demo: DemoRepository, git_env: dict[str, str]
) -> None:
    table = stager(demo, "split", "--all", "--dry-run", "--strategy", "cherry-pick")
    assert table.exit_code == 0, table.output
    data = json.loads(stager(demo, "split", "--all", "--dry-run", "--format", "json").stdout)
    first = data["phases"][0]
    assert first["commits"][0]["sha"][:10] in table.stdout  # every commit, by its sha
    assert first["commits"][0]["subject"] in table.stdout
    assert "files: " + sorted(f["path"] for f in first["files"])[0] in table.stdout
    markdown = stager(demo, "split", "--all", "--dry-run", "--format", "markdown").stdout
    assert "### 1. " in markdown and f"- `{first['commits'][0]['sha'][:12]}`" in markdown
    assert all(f"- `{f['path']}`" in markdown for f in first["files"])
    rewrites = [r for p in data["phases"] for r in p["rewrites"]]
    # the demo's mixed migration: the files the split writes are said to be written
    derived = {"expand", "contract", "partial"}
    assert {r["reason"] for r in rewrites} >= derived
    for rewrite in rewrites:
        if rewrite["reason"] in derived:
            assert f"- wrote {rewrite['path']}: {rewrite['reason']} part" in markdown
            assert f"re-chained {rewrite['path']}" not in markdown
        else:
            assert f"- re-chained {rewrite['revision']}" in markdown

    repo = git(demo, git_env)
    assert stager(demo, "split", "--all").exit_code == 0
    repo.git("branch", "-f", "stage/2-data", demo.merge_base)
    refs = repo.git("for-each-ref")
    refused = stager(demo, "split", "--all", "--dry-run")
    assert "stage/2-data: would refuse: exists at" in refused.stdout and "--force" in refused.stdout
    assert refused.exit_code == 1 and "the real run would stop" in refused.stderr
    assert "stage/2-data" in refused.stderr and "--force" in refused.stderr
    assert repo.git("for-each-ref") == refs


def test_a_utf16_plan_file_is_a_clean_error(demo: DemoRepository, git_env: dict[str, str]) -> None:
    plan = demo.path / "stager-plan.toml"
    assert stager(demo, "plan", "--write", str(plan)).exit_code == 0
    plan.write_text(plan.read_text(encoding="utf-8"), encoding="utf-16")  # what Notepad may save
    result = stager(demo, "split", "--all")
    assert result.exit_code == 1, result.output
    assert without_progress(result.stderr) == (
        f"stager: error: {plan}:1: UTF-16 text (byte order mark 0xff 0xfe) — "
        "save the file as UTF-8 (TOML files must be UTF-8)\n"
    )
    assert git(demo, git_env).git("branch", "--list", "stage/*") == ""


def feature_on_one_migration(tmp_path: Path, git_env: dict[str, str]) -> GitRepo:
    """A repository whose base has one revision (base1), on a fresh branch ``feature``."""
    repo = GitRepo.init(tmp_path / "r", git_env)
    repo.commit(
        "base",
        {
            "alembic.ini": "[alembic]\nscript_location = migrations\n",
            "migrations/versions/0001_base.py": migration("base1", None),
        },
    )
    repo.git("checkout", "-q", "-b", "feature")
    return repo


def test_a_revision_id_with_a_newline_is_a_finding_and_never_rechained(
    tmp_path: Path, git_env: dict[str, str]
) -> None:
    # s1 (schema) goes to phase 1 and d1 (data, its parent) to phase 2: both are
    # re-chained, which would put the id into trailers and into d1's Revises: line.
    repo = feature_on_one_migration(tmp_path, git_env)
    versions = "migrations/versions"
    data = migration("d1", "base1", "backfill").replace(
        'op.add_column("t", sa.Column("d1", sa.Integer(), nullable=True))',
        'op.execute("UPDATE t SET x = 1 WHERE x IS NULL")',
    )
    schema = migration("s1", "d1", "schema").replace(
        'revision: str = "s1"', 'revision: str = "s1\\nSigned-off-by: Mallory <m@evil.example>"'
    )
    repo.commit("Add both", {f"{versions}/0002_d1.py": data, f"{versions}/0003_s1.py": schema})
    refs_before = repo.git("for-each-ref")

    def run(*args: str) -> Result:
        return CliRunner().invoke(cli, ["-C", str(repo.path), *args])

    lint = run("lint")
    assert lint.exit_code == 4, lint.output
    assert (
        "0003_s1.py:12: SG007 high revision 's1\\nSigned-off-by: Mallory <m@evil.example>' "
        "contains whitespace or control characters" in lint.stdout
    )
    split_all = run("split", "--all")
    assert split_all.exit_code == 1, split_all.output
    assert (
        "cannot re-chain migrations/versions/0003_s1.py: the revision id "
        "'s1\\nSigned-off-by: Mallory <m@evil.example>' contains whitespace or control "
        "characters — rename the revision" in split_all.output
    )
    assert repo.git("for-each-ref") == refs_before
    assert "Signed-off-by" not in repo.git("log", "--all", "--format=%B")


def test_a_repository_whose_path_holds_a_colon_splits(
    tmp_path: Path, git_env: dict[str, str]
) -> None:
    """git splits the quarantine's alternates at ':', so the repository's own objects are
    named quoted: unquoted, git saw none of them and every split stopped."""
    repo = GitRepo.init(tmp_path / "team:project", git_env)
    repo.commit("base", {"README.md": "hi\n"})
    repo.git("checkout", "-q", "-b", "feature")
    repo.commit("feature", {"app/a.py": "x = 1\n"})
    result = CliRunner().invoke(cli, ["-C", str(repo.path), "split", "--all"])
    assert result.exit_code == 0, result.output
    assert repo.git("show", "stage/3-application:app/a.py") == "x = 1"


@pytest.mark.parametrize("field", ["depends_on", "down_revision"])
def test_a_migration_that_names_a_missing_revision_says_so_not_to_move_it(
    tmp_path: Path, git_env: dict[str, str], field: str
) -> None:
    """The revision it names is nowhere on the branch: no phase can hold its parent."""
    repo = feature_on_one_migration(tmp_path, git_env)
    versions = "migrations/versions"
    text = migration("w1", "base1")
    if field == "depends_on":
        text = text.replace(
            "depends_on: Union[str, Sequence[str], None] = None", 'depends_on = "nosuch"'
        )
    else:
        text = text.replace('down_revision: Union[str, None] = "base1"', 'down_revision = "nosuch"')
    repo.commit("Add w1", {f"{versions}/0002_w1.py": text})
    if field == "down_revision":  # re-chaining would move it onto base1
        repo.commit(
            "No re-chaining",
            {".stager/rules.toml": 'extends = "default"\n[stager]\nrechain = false\n'},
        )
    refs_before = repo.git("for-each-ref")
    result = CliRunner().invoke(cli, ["-C", str(repo.path), "split", "--all"])
    assert result.exit_code == 1, result.output
    assert f"{field} of w1 names 'nosuch', which no revision file defines" in result.stderr
    assert "SG003: point it at an existing revision id" in result.stderr
    assert "phase of its parent" not in result.stderr
    assert repo.git("for-each-ref") == refs_before


def _forge_record(
    demo: DemoRepository, repo: GitRepo, edit: Callable[[dict[str, Any]], None]
) -> str:
    """Replace the feature branch's record by a hand-made commit: what a mirror clone copies."""
    ref = f"refs/stager/record/{demo.head_branch}"
    data = json.loads(repo.git("show", f"{ref}:record.json"))
    edit(data)
    run = Repository(demo.path).run
    blob = run(["hash-object", "-w", "--stdin"], stdin=json.dumps(data).encode()).decode().strip()
    tree = run(["mktree"], stdin=f"100644 blob {blob}\trecord.json\n".encode()).decode().strip()
    forged = repo.git("commit-tree", "-m", "forged", tree)
    repo.git("update-ref", ref, forged)
    return forged


def test_undo_refuses_a_forged_record_naming_main_or_a_tag(
    demo: DemoRepository, git_env: dict[str, str]
) -> None:
    repo = git(demo, git_env)
    assert stager(demo, "split", "--all").exit_code == 0
    repo.git("tag", "v1", demo.base)
    main, tag = repo.git("rev-parse", "refs/heads/main"), repo.git("rev-parse", "refs/tags/v1")

    def main_as_a_phase(data: dict[str, Any]) -> None:
        data["phases"].append({**data["phases"][0], "branch": "main"})
        data["moved"].append({"ref": "refs/heads/main", "old": None, "new": main, "backup": None})

    def a_tag(data: dict[str, Any]) -> None:
        data["moved"].append({"ref": "refs/tags/v1", "old": None, "new": tag, "backup": None})

    record = repo.git("rev-parse", f"refs/stager/record/{demo.head_branch}")
    for edit, named in ((main_as_a_phase, "refs/heads/main"), (a_tag, "refs/tags/v1")):
        repo.git("update-ref", f"refs/stager/record/{demo.head_branch}", record)
        forged = _forge_record(demo, repo, edit)
        refs = repo.git("for-each-ref")
        for force in ((), ("--force",)):
            undone = stager(demo, "split", "--undo", *force)
            assert undone.exit_code == 1, undone.output
            assert f"names {named}, which is not a phase branch of [split] branch" in undone.stderr
            assert "nothing was undone" in undone.stderr and "git update-ref -d" in undone.stderr
            assert repo.git("for-each-ref") == refs
        assert repo.git("rev-parse", f"refs/stager/record/{demo.head_branch}") == forged
    assert repo.git("rev-parse", "refs/heads/main") == main
    assert repo.git("rev-parse", "refs/tags/v1") == tag


def test_undo_force_keeps_a_commit_made_on_a_created_branch(
    demo: DemoRepository, git_env: dict[str, str]
) -> None:
    repo = git(demo, git_env)
    assert stager(demo, "split", "--all").exit_code == 0
    tree = repo.git("rev-parse", "stage/2-data^{tree}")
    work = repo.git("commit-tree", "-p", "stage/2-data", "-m", "review fix", tree)
    repo.git("update-ref", "refs/heads/stage/2-data", work)
    refused = stager(demo, "split", "--undo")
    assert refused.exit_code == 1 and "stage/2-data" in refused.stderr
    assert "only in the reflog" not in refused.stderr
    assert "refs/stager/backup/" in refused.stderr
    undone = stager(demo, "split", "--undo", "--force")
    assert undone.exit_code == 0, undone.output
    assert repo.git("branch", "--list", "stage/*") == ""
    kept = repo.git("for-each-ref", "--format=%(refname) %(objectname)", "refs/stager/backup/")
    ref, sha = kept.split()
    assert ref.startswith("refs/stager/backup/stage/2-data/") and sha == work
    assert f"its tip {work[:12]} is kept under {ref}" in undone.stdout


def test_a_template_onto_the_base_the_head_or_someone_s_branch_is_refused(
    demo: DemoRepository, git_env: dict[str, str], tmp_path: Path
) -> None:
    repo = git(demo, git_env)
    rules = tmp_path / "rules.toml"
    rules.write_text('extends = "default"\n[split]\nbranch = "{name}"\n')
    cases = (
        ("foundation", demo.base_branch, ("--base", "foundation"), "which is the base branch"),
        ("data", demo.head_branch, ("--head", "data"), "which is the branch being split"),
    )
    for branch, start, args, problem in cases:
        repo.git("branch", branch, start)
        refs = repo.git("for-each-ref")
        for force in ((), ("--force",)):
            result = stager(demo, "--rules", str(rules), "split", "--all", *args, *force)
            assert result.exit_code == 1, result.output
            assert f"a phase branch {branch}, {problem}" in result.stderr
            assert "nothing was written" in result.stderr and "[split] branch" in result.stderr
            assert "stage/{number}-{name}" in result.stderr
            assert repo.git("for-each-ref") == refs
        repo.git("branch", "-D", branch)


def test_a_template_that_starts_with_refs_is_refused(
    demo: DemoRepository, git_env: dict[str, str], tmp_path: Path
) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text('extends = "default"\n[split]\nbranch = "refs/heads/{number}-{name}"\n')
    result = stager(demo, "--rules", str(rules), "split", "--all")
    assert result.exit_code == 1, result.output
    assert "a branch name, not a ref, is expected" in result.stderr
    assert "leave out the leading refs/heads/" in result.stderr
    assert git(demo, git_env).git("for-each-ref", "refs/heads/refs/", "refs/stager/") == ""


def test_force_keeps_the_phases_that_are_already_built(
    demo: DemoRepository, git_env: dict[str, str]
) -> None:
    """The same tree on the same parent keeps its commit under --force: a new sha would make
    open-pr force-push an unchanged phase (CI again, approvals dismissed)."""
    repo = git(demo, git_env)
    assert stager(demo, "split", "--all").exit_code == 0
    refs = repo.git("for-each-ref", "refs/heads/stage/", "refs/stager/")
    forced = stager(demo, "split", "--all", "--force", "--format", "json")
    assert forced.exit_code == 0, forced.output
    assert [p["status"] for p in json.loads(forced.stdout)["phases"]] == ["unchanged"] * 4
    assert repo.git("for-each-ref", "refs/heads/stage/", "refs/stager/") == refs  # no record
    repo.git("branch", "-f", "stage/3-application", "stage/2-data")
    again = stager(demo, "split", "--all", "--force", "--format", "json")
    assert again.exit_code == 0, again.output
    statuses = [p["status"] for p in json.loads(again.stdout)["phases"]]
    assert statuses[:3] == ["unchanged", "unchanged", "updated"]
    ref = f"refs/stager/record/{demo.head_branch}"
    record = json.loads(repo.git("show", f"{ref}:record.json"))
    moved = [m["ref"] for m in record["moved"]]
    assert "refs/heads/stage/1-foundation" not in moved and "refs/heads/stage/2-data" not in moved
    assert [p.get("unchanged", False) for p in record["phases"]][:3] == [True, True, False]


def test_force_never_replaces_a_branch_stager_did_not_create(
    demo: DemoRepository, git_env: dict[str, str]
) -> None:
    repo = git(demo, git_env)
    repo.git("branch", "stage/2-data", f"{demo.head_branch}~1")  # someone's own work
    refs = repo.git("for-each-ref")
    for args in ((), ("--force",), ("--force", "--dry-run")):
        result = stager(demo, "split", "--all", *args)
        assert result.exit_code == 1, result.output
        assert "branch stage/2-data exists and stager did not create it" in result.stderr
        assert "not even --force replaces it" in result.stderr
        assert "`git branch -m stage/2-data stage/2-data-mine`" in result.stderr
        assert "[split] branch = 'stage/{number}-{name}'" in result.stderr
        assert repo.git("for-each-ref") == refs
    # a branch a split made (its record lists it) is replaced, its old tip kept as a backup
    repo.git("branch", "-D", "stage/2-data")
    assert stager(demo, "split", "--all").exit_code == 0
    work = repo.git("rev-parse", f"{demo.head_branch}~1")
    repo.git("branch", "-f", "stage/2-data", work)
    planned = stager(demo, "split", "--all", "--force", "--dry-run")
    assert "would update" in planned.stdout and "replace" not in planned.stdout
    forced = stager(demo, "split", "--all", "--force")
    assert forced.exit_code == 0, forced.output
    row = next(line for line in forced.stdout.splitlines() if "stage/2-data" in line)
    assert "updated" in row, "the table says what the JSON's status says"
    kept = repo.git("for-each-ref", "--format=%(objectname)", "refs/stager/backup/stage/2-data/")
    assert kept == work


def test_deleting_the_migrations_folder_is_told_to_restore_it_not_to_re_chain(
    demo: DemoRepository, git_env: dict[str, str]
) -> None:
    repo = git(demo, git_env)
    repo.git("rm", "-r", "-q", "backend/migrations")
    repo.git("commit", "-q", "-m", "drop the migrations")
    refs = repo.git("for-each-ref")
    result = stager(demo, "split", "--all")
    assert result.exit_code == 1, result.output
    assert "the phases would break the Alembic history; nothing was written" in result.stderr
    assert "the branch deletes 12 revision files the base has" in result.stderr
    assert "restore them on the branch" in result.stderr and "SG009" in result.stderr
    assert "re-chain" not in result.stderr
    assert repo.git("for-each-ref") == refs


def test_a_damaged_record_says_where_it_is_and_how_to_remove_it(
    demo: DemoRepository, git_env: dict[str, str]
) -> None:
    """Never "there is no stager split to undo": the record is there, and unreadable."""
    repo = git(demo, git_env)
    ref = f"refs/stager/record/{demo.head_branch}"
    loose = demo.path / ".git" / ref
    repo.write("record.json", "{not json")
    blob = repo.git("hash-object", "-w", "record.json")
    (demo.path / "record.json").unlink()
    listing = f"100644 blob {blob}\trecord.json\n"
    made = subprocess.run(
        ["git", "mktree"],
        cwd=demo.path,
        env=git_env,
        input=listing,
        text=True,
        capture_output=True,
        check=True,
    )
    not_json = repo.git("commit-tree", made.stdout.strip(), "-m", "a record")
    no_record = repo.git("commit-tree", repo.git("write-tree"), "-m", "not a record")
    delete = f"`git update-ref -d {ref}`"
    cases = [
        (not_json, "is damaged: its record.json is not JSON", delete),
        (no_record, "which has no record.json: it is not a stager record", delete),
        ("1" * 40, "names 111111111111, an object this repository does not have", delete),
        ("garbage", f"is damaged: its file {loose} holds no object id", f"`rm {loose}`"),
    ]
    loose.parent.mkdir(parents=True, exist_ok=True)
    for value, problem, fix in cases:
        loose.write_text(value + "\n")
        refs = repo.git("for-each-ref", "--format=%(objectname) %(refname)")
        for command in (("split", "--undo"), ("verify",)):
            result = stager(demo, *command)
            assert result.exit_code == 1, (command, result.output)
            assert f"the stager record {ref} " in result.stderr and problem in result.stderr
            assert fix in result.stderr and "no stager split to undo" not in result.stderr
            assert repo.git("for-each-ref", "--format=%(objectname) %(refname)") == refs
        loose.unlink()
    assert "there is no stager split to undo" in stager(demo, "split", "--undo").stderr


def half_applied_split(repo: GitRepo, demo: DemoRepository, pid: int) -> dict[str, str]:
    """A first split killed in git's commit step: phases 1 and 2 moved; phases 3 and 4 and the
    record not, phase 3's lock left behind (built by hand: a race would be flaky)."""
    assert stager(demo, "split", "--all").exit_code == 0
    record = f"refs/stager/record/{demo.head_branch}"
    tips = {
        ref: repo.git("rev-parse", ref) for ref in [*(f"refs/heads/{b}" for b in BRANCHES), record]
    }
    journal = {
        "command": "split",
        "pid": pid,
        "host": socket.gethostname(),
        "time": "20240101T120000Z",
        "updates": [{"ref": ref, "new": sha, "old": None} for ref, sha in tips.items()],
    }
    (demo.path / ".git" / "stager").mkdir(exist_ok=True)
    (demo.path / ".git" / "stager" / "transaction.json").write_text(json.dumps(journal))
    for ref in list(tips)[2:]:
        repo.git("update-ref", "-d", ref)
    (demo.path / ".git" / "refs/heads/stage/3-application.lock").write_text(
        tips["refs/heads/stage/3-application"] + "\n"
    )
    return tips


def dead_pid() -> int:
    """The pid of a process that has ended (and been reaped)."""
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def test_a_split_killed_while_moving_branches_is_reported_then_finished(
    demo: DemoRepository, git_env: dict[str, str]
) -> None:
    repo = git(demo, git_env)
    tips = half_applied_split(repo, demo, dead_pid())
    lock = demo.path / ".git" / "refs/heads/stage/3-application.lock"
    journal = demo.path / ".git" / "stager" / "transaction.json"
    state = repo.git("for-each-ref")
    for command in (
        ("verify",),
        ("split", "--all", "--dry-run"),
        ("open-pr", "--all", "--dry-run"),
    ):
        result = stager(demo, *command)
        assert result.exit_code == 1, (command, result.output)
        assert (
            "a previous stager split was interrupted while moving branches at 20240101T120000Z: "
            "stage/1-foundation, stage/2-data moved, stage/3-application, "
            "stage/4-etl-and-contract, its record not"
        ) in result.stderr
        assert "`stager split` finishes it" in result.stderr
        assert "`stager split --undo` puts every branch back" in result.stderr
        assert repo.git("for-each-ref") == state and lock.exists() and journal.exists()
    finished = stager(demo, "split", "--all", "--format", "json")
    assert finished.exit_code == 0, finished.output
    data = json.loads(finished.stdout)
    assert (
        "finished the stager split interrupted at 20240101T120000Z: moved stage/3-application, "
        "stage/4-etl-and-contract, its record"
    ) in data["notes"]
    assert [phase["status"] for phase in data["phases"]] == ["unchanged"] * 4
    assert {ref: repo.git("rev-parse", ref) for ref in tips} == tips
    assert not lock.exists() and not journal.exists()
    assert stager(demo, "verify").exit_code == 0


def test_undo_puts_back_a_split_killed_while_moving_branches(
    demo: DemoRepository, git_env: dict[str, str]
) -> None:
    repo = git(demo, git_env)
    half_applied_split(repo, demo, dead_pid())
    undone = stager(demo, "split", "--undo")
    assert undone.exit_code == 0, undone.output
    assert undone.stdout == (
        "Nothing else was undone: put back the stager split interrupted at 20240101T120000Z: "
        "moved stage/1-foundation, stage/2-data.\n"
    )
    assert repo.git("for-each-ref", "refs/heads/stage/", "refs/stager/") == ""
    assert not list((demo.path / ".git").rglob("*.lock"))
    assert not (demo.path / ".git" / "stager" / "transaction.json").exists()


def test_a_lock_stager_cannot_prove_its_own_is_named_for_the_user(
    demo: DemoRepository, git_env: dict[str, str]
) -> None:
    repo = git(demo, git_env)
    running = subprocess.Popen(["sleep", "60"])
    try:
        half_applied_split(repo, demo, running.pid)  # its owner is still running
        state = repo.git("for-each-ref")
        busy = stager(demo, "split", "--all")
        assert busy.exit_code == 1, busy.output
        assert (
            f"a stager split (pid {running.pid}, since 20240101T120000Z) is moving" in busy.stderr
        )
        assert "wait for it to finish" in busy.stderr
        assert repo.git("for-each-ref") == state
    finally:
        running.kill()
        running.wait()
    lock = demo.path / ".git" / "refs/heads/stage/3-application.lock"
    lock.write_text("1" * 40 + "\n")  # another value than stager's: another git's lock
    refused = stager(demo, "split", "--undo")
    assert refused.exit_code == 1, refused.output
    assert f"git's lock file(s) {lock} block the branches" in refused.stderr
    assert f"remove them (`rm {lock}`)" in refused.stderr
    assert repo.git("for-each-ref") == state and lock.exists()
    lock.unlink()
    assert stager(demo, "split", "--undo").exit_code == 0
    assert repo.git("for-each-ref", "refs/heads/stage/", "refs/stager/") == ""


def test_ctrl_c_says_what_the_split_had_written(
    demo: DemoRepository, git_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = git(demo, git_env)

    def interrupt(*_args: object, **_kwargs: object) -> None:
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:  # Ctrl-C while the branch is analysed
        patch.setattr("stager.commands.split.analyze_branch", interrupt)
        early = stager(demo, "split", "--all")
    assert early.exit_code == 130
    assert without_progress(early.stderr) == "stager: interrupted (SIGINT): nothing was written\n"

    with monkeypatch.context() as patch:  # Ctrl-C after the branches moved, while printing
        patch.setattr("stager.commands.split.emit", interrupt)
        late = stager(demo, "split", "--all")
    assert late.exit_code == 130, late.output
    ref = f"refs/stager/record/{demo.head_branch}"
    assert without_progress(late.stderr) == (
        "stager: interrupted (SIGINT): the split was written first: "
        + ", ".join(BRANCHES)
        + f" moved (`git show {ref}:record.json`) — check them with `stager verify`; "
        "`stager split --undo` undoes it\n"
    )
    assert repo.git("branch", "--list", "--format=%(refname:short)", "stage/*").split() == BRANCHES
    assert stager(demo, "split", "--undo").exit_code == 0

    def killed_in_the_commit_step(repo_: Repository, updates: list[RefUpdate]) -> None:
        update_refs(repo_, updates[:2])  # git renamed two locks into place, then ^C
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr("stager.branches.journal.update_refs", killed_in_the_commit_step)
        cut = stager(demo, "split", "--all")
    assert cut.exit_code == 130, cut.output
    assert without_progress(cut.stderr) == (
        "stager: interrupted (SIGINT): it stopped while moving branches: "
        "stage/1-foundation, stage/2-data moved, "
        "stage/3-application, stage/4-etl-and-contract, its record not — `stager split` "
        "finishes it, `stager split --undo` puts every branch back\n"
    )
    again = stager(demo, "split", "--all")
    assert again.exit_code == 0, again.output
    assert "finished the stager split interrupted at" in again.stdout
    assert repo.git("branch", "--list", "--format=%(refname:short)", "stage/*").split() == BRANCHES
