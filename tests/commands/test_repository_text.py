"""What the analysed branch writes is shown, never obeyed: no terminal command, marker or ping.

File names, docstrings and commit subjects come from whoever pushed the branch.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from typing import Any

import pytest
from click.testing import CliRunner, Result

from stager.cli import cli
from stager.github.body import BEGIN, END
from stager.render.quoting import WORD_JOINER
from tests.branches.helpers import migration
from tests.commands.test_open_pr import make_stack
from tests.github.fake_github import FakeGitHub
from tests.github.fixtures import NAME, OWNER, Remote, github, remote
from tests.gitrepo import GitRepo

__all__ = ["github", "remote"]  # fixtures

REPO = f"{OWNER}/{NAME}"
VERSIONS = "migrations/versions"
TITLE_SET = "Add col <!-- stager:end --> @team \x1b]0;pwned\x07 [/bold] | end"
TITLE_SHOWN = "Add col <!-- stager:end --> @team \\033]0;pwned\\a [/bold] | end"
SUBJECT = "Add things \x1b[2J @team"
NAMES = {
    "app/evil\x1b]0;pwned\x07.py": '"app/evil\\033]0;pwned\\a.py"',
    "app/new\nline.py": '"app/new\\nline.py"',
    "app/tick`s [/] @team <!-- stager:end -->.py": "app/tick`s [/] @team <!-- stager:end -->.py",
}
# C0 and C1 but line breaks and tabs: with no colours (CliRunner is no terminal), any is injected.
RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@pytest.fixture
def branch(repo: GitRepo) -> GitRepo:
    """``feature`` adds a migration with a hostile docstring and files with hostile names."""
    repo.commit(
        "base",
        {
            "alembic.ini": "[alembic]\nscript_location = migrations\n",
            f"{VERSIONS}/0001_base.py": migration("base1", None),
        },
    )
    repo.git("checkout", "-q", "-b", "feature")
    files = {f"{VERSIONS}/0002_evil.py": migration("ev1", "base1", TITLE_SET)}
    repo.commit(SUBJECT, {**files, **dict.fromkeys(NAMES, "x = 1\n")})
    return repo


def stager(repo: GitRepo, *args: str) -> Result:
    """A run as in a wide terminal, so that rich wraps no line this file looks for."""
    return CliRunner().invoke(cli, ["-C", str(repo.path), *args], env={"COLUMNS": "200"})


def test_terminal_output_shows_control_characters_escaped(branch: GitRepo) -> None:
    for args in (["analyze"], ["plan"], ["split", "--all", "--dry-run"]):
        result = stager(branch, *args)
        assert result.exit_code == 0, result.output
        assert not RAW_CONTROL.search(result.stdout), args
    plan = stager(branch, "plan").stdout
    assert TITLE_SHOWN in plan
    for shown in NAMES.values():
        assert f"\n    {shown}\n" in plan
    assert TITLE_SHOWN in stager(branch, "analyze").stdout
    dry_run = stager(branch, "split", "--all", "--dry-run").stdout
    part = f"(part of {branch.git('rev-parse', 'feature')[:12]}, stage 3 of 4)"
    assert f"Add things \\033[2J @team {part}" in dry_run
    assert '"app/evil\\033]0;pwned\\a.py", "app/new\\nline.py", app/tick`s [/]' in dry_run


def test_a_path_with_a_newline_is_one_line_quoted_as_git_quotes_it(branch: GitRepo) -> None:
    listed = branch.git("-c", "core.quotePath=false", "diff", "--name-only", "main", "feature")
    assert '"app/new\\nline.py"' in listed.splitlines()
    plan = stager(branch, "plan").stdout.splitlines()
    assert '    "app/new\\nline.py"' in plan
    assert "line.py" not in [line.strip() for line in plan]


def schema_on_data(repo: GitRepo, folder: str, schema_file: str, revision: str = "s1") -> str:
    """``feature`` adds a data migration (phase 2) and a schema one on it (phase 1).

    split must re-chain the schema migration and names its file; its path.
    """
    repo.commit(
        "base",
        {
            "alembic.ini": f"[alembic]\nscript_location = {folder}\n",
            f"{folder}/versions/0001_base.py": migration("base1", None),
        },
    )
    repo.git("checkout", "-q", "-b", "feature")
    data = migration("d1", "base1", "backfill").replace(
        'op.add_column("t", sa.Column("d1", sa.Integer(), nullable=True))',
        'op.execute("UPDATE t SET x = 1 WHERE x IS NULL")',
    )
    schema = migration("s1", "d1", "schema").replace('= "s1"', f"= {revision!r}")
    path = f"{folder}/versions/{schema_file}"
    repo.commit("both", {f"{folder}/versions/0002_d1.py": data, path: schema})
    return path


def test_markup_in_a_path_is_printed_not_parsed(repo: GitRepo) -> None:
    # rich markup in a detail line was parsed: "[/]" crashed (exit 3), "[link=…]" made a link.
    folder = "db[/]a[link=evil.example]"  # the folders "db[" and "]a[link=evil.example]"
    path = schema_on_data(repo, folder, "0003_s1.py")
    result = stager(repo, "split", "--all", "--dry-run")
    assert result.exit_code == 0, result.output
    assert f"re-chained s1: down_revision d1 → base1 ({path})" in result.stdout


def test_markdown_neutralises_markers_and_mentions(branch: GitRepo) -> None:
    for args in (["analyze"], ["plan"], ["split", "--all", "--dry-run"]):
        result = stager(branch, *args, "--format", "markdown")
        assert result.exit_code == 0, result.output
        text = result.stdout
        assert not RAW_CONTROL.search(text), args
        assert "<!--" not in text and "@team" not in text, args
        if args[0] != "analyze":  # the analysis lists no files
            for shown in ('`"app/evil\\033]0;pwned\\a.py"`', '`"app/new\\nline.py"`'):
                assert shown in text, args
            tick = f"``app/tick`s [/] @{WORD_JOINER}team <{WORD_JOINER}!-- stager:end -->.py``"
            assert tick in text, args
        if args[0] == "split":
            part = f"(part of {branch.git('rev-parse', 'feature')[:12]}, stage 3 of 4)"
            assert f"Add things \\033[2J @{WORD_JOINER}team {part}" in text
        else:  # the docstring keeps its table row: its pipe is escaped
            title = f"Add col <{WORD_JOINER}!-- stager:end --> @{WORD_JOINER}team \\033]0;pwned\\a"
            assert f"{title} [/bold] \\| end" in text, args


def test_json_keeps_the_real_values(branch: GitRepo) -> None:
    analysis = json.loads(stager(branch, "analyze", "--format", "json").stdout)
    assert set(NAMES) < {entry["path"] for entry in analysis["files"]}
    assert analysis["migrations"][0]["title"] == TITLE_SET
    assert analysis["commits"][0]["subject"] == SUBJECT
    plan = json.loads(stager(branch, "plan", "--format", "json").stdout)
    assert set(NAMES) < {f["path"] for phase in plan["phases"] for f in phase["files"]}
    split = json.loads(stager(branch, "split", "--all", "--dry-run", "--format", "json").stdout)
    assert set(NAMES) < {f["path"] for phase in split["phases"] for f in phase["files"]}


def test_an_error_naming_a_file_is_escaped_on_stderr(repo: GitRepo) -> None:
    # a revision id with a space: re-chaining it is refused, naming its file
    schema_on_data(repo, "migrations", "0003_\x1b[2Js1.py", revision="s 1")
    result = stager(repo, "split", "--all")
    assert result.exit_code == 1, result.output
    assert f"cannot re-chain {VERSIONS}/0003_\\033[2Js1.py" in result.stderr
    assert not RAW_CONTROL.search(result.stderr)


def test_a_name_that_is_not_utf8_is_shown_and_kept(repo: GitRepo) -> None:
    # A real terminal's UTF-8 is strict: a byte that is not UTF-8 must not reach it raw.
    repo.commit("base", {"README.md": "hello\n"})
    repo.git("checkout", "-q", "-b", "feature")
    name = b"app/caf\xe9\x1b.py".decode("utf-8", "surrogateescape")
    repo.commit("add", {name: "x = 1\n"})
    env = {**os.environ, "PYTHONIOENCODING": "utf-8:strict"}
    for fmt in ("table", "markdown", "json"):
        result = subprocess.run(
            [sys.executable, "-m", "stager", "-C", str(repo.path), "plan", "--format", fmt],
            env=env,
            capture_output=True,
            text=True,
            encoding="utf-8",
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert not RAW_CONTROL.search(result.stdout)
        if fmt == "json":
            paths = [f["path"] for p in json.loads(result.stdout)["phases"] for f in p["files"]]
            assert paths == [name]  # json reads "\udce9" back as the same byte
        else:
            assert '"app/caf\\351\\033.py"' in result.stdout  # as git quotes it


def test_a_split_keeps_a_name_that_is_not_utf8(repo: GitRepo) -> None:
    """git's paths are bytes: the record (JSON in UTF-8) still names the file, and reads back."""
    repo.commit("base", {"README.md": "hello\n"})
    repo.git("checkout", "-q", "-b", "feature")
    name = b"app/caf\xe9.py".decode("utf-8", "surrogateescape")
    repo.commit("add", {name: "x = 1\n"})
    split = stager(repo, "split", "--all")
    assert split.exit_code == 0, split.output
    verified = stager(repo, "verify")
    assert verified.exit_code == 0, verified.output
    record = repo.git("show", "refs/stager/record/feature:record.json")
    assert "app/caf\\udce9.py" in record  # JSON's own escape: the file stays valid UTF-8
    undone = stager(repo, "split", "--undo")
    assert undone.exit_code == 0, undone.output


def test_a_docstring_cannot_move_the_generated_part_of_a_pull_request(
    branch: GitRepo, git_env: dict[str, str], remote: Remote, github: FakeGitHub
) -> None:
    assert stager(branch, "split", "--all").exit_code == 0
    stack = make_stack(branch.path, git_env, remote, github)

    def open_pr() -> dict[str, Any]:
        result = stager(branch, "open-pr", "--all", "--github-repo", REPO, "--format", "json")
        assert result.exit_code == 0, result.output
        data: dict[str, Any] = json.loads(result.stdout)
        return data

    open_pr()
    pull = stack.fake.pulls[1]
    pull.body += "\n\nReviewed by a person."
    second = open_pr()
    actions = [entry["action"] for entry in second["pull_requests"]]
    assert actions == ["unchanged", "unchanged"]  # the generated part was found whole
    assert pull.body.count(BEGIN) == pull.body.count(END) == 1
    assert pull.body.endswith(END + "\n\nReviewed by a person.")
    assert "Add col" in pull.body and "@team" not in pull.body
