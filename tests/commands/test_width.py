"""Output width: a pipe gets whole lines, a terminal gets its width with indents kept.

CI logs and ``| less`` read stager through a pipe: a finding broken over two
lines, or a path cut in two, cannot be searched for or clicked. A terminal
gets lines that fit, continued at their indent, never broken inside a word.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from click.testing import CliRunner

from stager.cli import cli
from tests.branches.helpers import migration
from tests.gitrepo import GitRepo
from tests.terminal import run_in_terminal, visible

FOLDER = "services/" + "/".join(["a_rather_long_folder_name_for_the_billing_service"] * 2)
VERSIONS = f"{FOLDER}/migrations/versions"
# an SGR sequence that sets a foreground or background colour
COLOUR = re.compile(r"\x1b\[(?:[0-9]+;)*(?:3[0-9]|4[0-9]|9[0-7]|10[0-7])(?:;[0-9]+)*m")
DROP_FILE = f"{VERSIONS}/2024_05_20_1130-4f6a8c0e2a4c_drop_credits_offset_columns.py"


def _dropping(revision: str, parent: str) -> str:
    return migration(revision, parent, "drop credits offset columns").replace(
        f'op.add_column("t", sa.Column("{revision}", sa.Integer(), nullable=True))',
        'op.drop_column("compliance_report_summary", "credits_offset_column_one")',
    )


@pytest.fixture
def long_paths(repo: GitRepo) -> GitRepo:
    """A branch whose migration, with findings, and code sit under 150-character paths."""
    repo.commit(
        "base",
        {
            "alembic.ini": f"[alembic]\nscript_location = {FOLDER}/migrations\n",
            f"{VERSIONS}/0001_base.py": migration("base1", None),
        },
    )
    repo.git("checkout", "-q", "-b", "feature")
    repo.commit(
        "drop the offset columns",
        {
            DROP_FILE: _dropping("4f6a8c0e2a4c", "base1"),
            f"{FOLDER}/application/compliance_reporting_summary_service.py": "x = 1\n",
        },
    )
    assert len(DROP_FILE) >= 150
    return repo


def _logical_lines(repo: GitRepo) -> list[str]:
    """Each finding's message and hint, as analyze's JSON has them: one line each."""
    result = CliRunner().invoke(cli, ["-C", str(repo.path), "analyze", "--format=json"])
    findings = json.loads(result.stdout)["findings"]
    assert findings, "the branch needs findings for this test to mean anything"
    return [line for f in findings for line in (f["message"], f"fix: {f['hint']}")]


def _assert_unwrapped(output: str, repo: GitRepo) -> None:
    lines = output.splitlines()
    for logical in _logical_lines(repo):
        assert any(line.strip() == logical for line in lines), logical
    assert any(line.rstrip().endswith(f"{DROP_FILE}:19") for line in lines), output


def test_a_pipe_in_cli_runner_gets_whole_lines(long_paths: GitRepo) -> None:
    result = CliRunner().invoke(cli, ["-C", str(long_paths.path), "analyze"])
    assert result.exit_code == 0, result.output
    _assert_unwrapped(result.stdout, long_paths)


def test_a_real_pipe_gets_whole_lines_even_with_forced_colour(
    long_paths: GitRepo, git_env: dict[str, str]
) -> None:
    for extra in ({}, {"FORCE_COLOR": "1"}):
        process = subprocess.run(
            [sys.executable, "-m", "stager", "-C", str(long_paths.path), "analyze"],
            capture_output=True,
            text=True,
            env={**git_env, **extra},
            check=False,
        )
        assert process.returncode == 0, process.stderr
        assert bool(COLOUR.search(process.stdout)) == bool(extra), "FORCE_COLOR colours a pipe"
        _assert_unwrapped(visible(process.stdout), long_paths)


def test_no_color_in_a_terminal(long_paths: GitRepo, git_env: dict[str, str]) -> None:
    """NO_COLOR takes the colours away, not bold (https://no-color.org)."""
    args = ["-C", str(long_paths.path), "analyze"]
    assert COLOUR.search(run_in_terminal(args, 120, git_env))
    assert not COLOUR.search(run_in_terminal(args, 120, {**git_env, "NO_COLOR": "1"}))


def _findings_section(output: str) -> list[str]:
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Findings ("))
    end = next(i for i, line in enumerate(lines) if line.startswith("Proposed phases"))
    return [line for line in lines[start + 1 : end] if line.strip()]


@pytest.mark.parametrize("columns", [80, 120])
def test_a_terminal_wraps_at_words_and_keeps_the_indent(
    long_paths: GitRepo, git_env: dict[str, str], columns: int
) -> None:
    output = visible(run_in_terminal(["-C", str(long_paths.path), "analyze"], columns, git_env))
    section = _findings_section(output)
    words = [word for line in section for word in line.split()]
    expected: list[str] = []
    result = CliRunner().invoke(cli, ["-C", str(long_paths.path), "analyze", "--format=json"])
    for finding in json.loads(result.stdout)["findings"]:
        where = f"{finding['path']}:{finding['line']}"
        expected += [finding["risk"].upper(), finding["rule"], where]
        expected += [*finding["message"].split(), "fix:", *finding["hint"].split()]
    assert words == expected, "no word is split, none is lost"
    for line in section:
        header = line.lstrip().split(" ", 1)[0] in {"CRITICAL", "HIGH", "MEDIUM", "LOW"}
        location = line.startswith("  ") and " " not in line.strip()  # a header's path, continued
        assert header or location or line.startswith(" " * 11), line
        assert len(line) <= columns or " " not in line.strip(), "only a lone long word overflows"
    for line in output.splitlines():
        if line.startswith(("┏", "┃", "┡", "│", "└")):
            assert len(line) <= columns, line


@pytest.mark.parametrize("columns", [80, 100])
def test_verify_table_fits_the_terminal(
    long_paths: GitRepo, git_env: dict[str, str], columns: int
) -> None:
    split = CliRunner().invoke(cli, ["-C", str(long_paths.path), "split", "--all"])
    assert split.exit_code == 0, split.output
    output = visible(run_in_terminal(["-C", str(long_paths.path), "verify"], columns, git_env))
    header = next(line for line in output.splitlines() if "Branch" in line)
    assert "Compiles" in header and "Alembic" in header, output
    assert all(len(line) <= columns for line in output.splitlines() if "│" in line), output
