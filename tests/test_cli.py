"""Errors a user can cause: one clear line with the fix, exit 1; crashes exit 3; Ctrl-C 130."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

import stager.cli
import stager.commands.analyze
from stager import __version__
from stager.cli import cli
from tests.gitrepo import GitRepo
from tests.progress_lines import without_progress


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def one_error_line(result: Result) -> str:
    assert result.exit_code == 1, (result.exit_code, result.output)
    lines = without_progress(result.stderr).strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("stager: error: ")
    assert " — " in lines[0], "every error message says how to fix it"
    return lines[0]


@pytest.fixture
def branch(repo: GitRepo) -> GitRepo:
    repo.commit("base", {"app.py": "x = 1\n"})
    repo.git("checkout", "-q", "-b", "feature")
    repo.commit("work", {"app.py": "x = 2\n"})
    return repo


def test_not_a_git_repository(tmp_path: Path, git_env: dict[str, str]) -> None:
    line = one_error_line(invoke("-C", str(tmp_path), "analyze"))
    assert "not inside a git repository" in line


def test_unknown_ref(branch: GitRepo) -> None:
    line = one_error_line(invoke("-C", str(branch.path), "analyze", "--base", "nope"))
    assert "nope" in line


def test_no_merge_base(branch: GitRepo) -> None:
    branch.git("checkout", "-q", "--orphan", "other")
    branch.commit("unrelated", {"z.py": "z = 1\n"})
    line = one_error_line(
        invoke("-C", str(branch.path), "analyze", "--base", "main", "--head", "other")
    )
    assert "history" in line or "merge base" in line


def test_an_orphan_branch_is_a_branch_without_commits_not_an_empty_repository(
    branch: GitRepo,
) -> None:
    branch.git("checkout", "-q", "--orphan", "fresh")
    for args in ((), ("--head", "fresh")):
        line = one_error_line(invoke("-C", str(branch.path), "analyze", "--base", "main", *args))
        assert "branch 'fresh', checked out in" in line
        assert "has no commits yet (an orphan branch)" in line
        assert "commit on fresh first, or name a branch that has commits" in line
        assert "repository" not in line


def test_a_commit_named_by_its_message(branch: GitRepo) -> None:
    """``:/message``, which git takes, names the youngest commit whose message matches."""
    work = branch.git("rev-parse", "feature")
    branch.git("checkout", "-q", "main")
    args = ("-C", str(branch.path), "analyze", "--base", "main", "--head", ":/wor")
    result = invoke(*args, "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["head"] == work
    line = one_error_line(invoke(*args[:-1], ":/no such message"))
    assert "unknown ref ':/no such message'" in line


def test_git_dir_and_git_work_tree_are_honoured_as_git_honours_them(
    branch: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    feature = branch.git("rev-parse", "feature")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    def head(folder: Path) -> str:
        result = invoke("-C", str(folder), "analyze", "--base", "main", "--format", "json")
        assert result.exit_code == 0, result.output
        return str(json.loads(result.stdout)["head"])

    monkeypatch.setenv("GIT_WORK_TREE", str(elsewhere))  # the repository found, the files there
    assert head(branch.path) == feature
    monkeypatch.delenv("GIT_WORK_TREE")
    monkeypatch.setenv("GIT_DIR", str(branch.path / ".git"))  # found from any folder
    assert head(elsewhere) == feature
    monkeypatch.setenv("GIT_DIR", str(elsewhere))
    line = one_error_line(invoke("-C", str(branch.path), "analyze"))
    assert f"GIT_DIR={elsewhere} is not a git repository" in line
    monkeypatch.delenv("GIT_DIR")
    monkeypatch.setenv("GIT_WORK_TREE", str(tmp_path / "gone"))
    line = one_error_line(invoke("-C", str(branch.path), "analyze"))
    assert f"the work tree {tmp_path / 'gone'} (GIT_WORK_TREE) of the repository" in line


def test_malformed_rules(branch: GitRepo) -> None:
    rules = branch.path / "custom.toml"
    rules.write_text('[[category]]\nname = "x"\npaths = ["*"]\nrisk = "severe"\n')
    line = one_error_line(invoke("-C", str(branch.path), "--rules", str(rules), "analyze"))
    assert "custom.toml:4: " in line and "risk" in line


def test_missing_rules_file(branch: GitRepo) -> None:
    line = one_error_line(invoke("-C", str(branch.path), "--rules", "missing.toml", "analyze"))
    assert "missing.toml" in line


def test_rules_file_not_utf8_in_the_work_tree(branch: GitRepo) -> None:
    branch.write(".stager/rules.toml", b'extends = "default"\n# caf\xe9\n')
    line = one_error_line(invoke("-C", str(branch.path), "analyze", "--base", "main"))
    assert ".stager/rules.toml:2: not UTF-8" in line


def test_rules_file_not_utf8_via_option(branch: GitRepo) -> None:
    branch.write("custom.toml", b"\xff")
    rules = str(branch.path / "custom.toml")
    line = one_error_line(invoke("-C", str(branch.path), "--rules", rules, "analyze"))
    assert "custom.toml:1: not UTF-8" in line


def test_rules_file_not_utf8_in_the_head_commit_of_a_bare_repository(
    branch: GitRepo, tmp_path: Path
) -> None:
    branch.commit("rules", {".stager/rules.toml": b"\xff"})
    bare = tmp_path / "bare.git"
    branch.git("clone", "-q", "--bare", str(branch.path), str(bare))
    args = ("-C", str(bare), "analyze", "--base", "main", "--head", "feature")
    line = one_error_line(invoke(*args))
    assert ".stager/rules.toml:1: not UTF-8" in line


def test_unknown_base_from_the_rules_names_the_rules_line(branch: GitRepo) -> None:
    branch.write(".stager/rules.toml", 'extends = "default"\n\n[stager]\nbase = "develop"\n')
    line = one_error_line(invoke("-C", str(branch.path), "analyze"))
    assert ".stager/rules.toml:4: stager.base: unknown ref 'develop'" in line
    # --base wins over the rules: no rules location then
    line = one_error_line(invoke("-C", str(branch.path), "analyze", "--base", "nope"))
    assert "rules.toml" not in line


def test_no_base_branch_found(repo: GitRepo) -> None:
    repo.git("checkout", "-q", "-b", "topic")
    repo.commit("only", {"a.py": "a = 1\n"})
    line = one_error_line(invoke("-C", str(repo.path), "analyze"))
    assert "--base" in line


def test_unparsable_migration_is_a_finding_not_a_crash(branch: GitRepo) -> None:
    branch.commit(
        "broken migration",
        {
            "alembic.ini": "[alembic]\nscript_location = migrations\n",
            "migrations/versions/0001_x.py": (
                "revision = 'a1'\ndown_revision = None\ndef upgrade(:\n"
            ),
        },
    )
    result = invoke("-C", str(branch.path), "analyze", "--format", "json", "--fail-on", "high")
    assert result.exit_code == 4, result.output
    findings = json.loads(result.stdout)["findings"]
    assert [(f["rule"], f["path"], f["line"]) for f in findings] == [
        ("SG007", "migrations/versions/0001_x.py", 3)
    ]


def test_unexpected_crash_exits_3_with_a_log(
    branch: GitRepo, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def explode(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(stager.commands.analyze, "analyze_branch", explode)
    result = invoke("-C", str(branch.path), "analyze")
    assert result.exit_code == 3
    log = tmp_path / "cache" / "stager" / "stager-crash.log"
    assert str(log) in result.stderr
    assert "RuntimeError: boom" in log.read_text()


def test_ctrl_c_exits_130(branch: GitRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupt(*_args: object, **_kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(stager.commands.analyze, "analyze_branch", interrupt)
    assert invoke("-C", str(branch.path), "analyze").exit_code == 130


def test_usage_error_exits_2(branch: GitRepo) -> None:
    assert invoke("-C", str(branch.path), "analyze", "--format", "yaml").exit_code == 2


def test_version() -> None:
    result = invoke("--version")
    assert result.exit_code == 0 and __version__ in result.stdout


def test_errors_through_the_real_console_script(tmp_path: Path, git_env: dict[str, str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "stager", "-C", str(tmp_path), "analyze"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("stager: error: ") and "Traceback" not in result.stderr


def test_verbose_shows_each_git_command(branch: GitRepo) -> None:
    result = invoke("-C", str(branch.path), "-v", "analyze", "--base", "main", "--format", "json")
    assert result.exit_code == 0, result.output
    assert "stager: git merge-base --all" in result.stderr
    assert "stager: git diff --raw --numstat" in result.stderr


def test_ctrl_c_while_click_parses_exits_130(
    branch: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    class Interrupting:
        @staticmethod
        def parse(_value: str) -> None:
            raise KeyboardInterrupt

    # --fail-on is converted by a click callback, while click parses the command line
    monkeypatch.setattr(stager.cli, "Risk", Interrupting)
    monkeypatch.setattr(
        sys, "argv", ["stager", "-C", str(branch.path), "analyze", "--fail-on", "high"]
    )
    with pytest.raises(SystemExit) as exit_info:
        stager.cli.main()
    assert exit_info.value.code == 130
    assert "Aborted!" not in capsys.readouterr().err


def test_main_keeps_click_exit_codes(monkeypatch: pytest.MonkeyPatch) -> None:
    for argv, code in ((["--version"], 0), (["analyze", "--format", "yaml"], 2), (["nope"], 2)):
        monkeypatch.setattr(sys, "argv", ["stager", *argv])
        with pytest.raises(SystemExit) as exit_info:
            stager.cli.main()
        assert exit_info.value.code == code, argv


@pytest.mark.parametrize("output_format", ["json", "table", "markdown"])
def test_closed_output_pipe_exits_quietly(branch: GitRepo, output_format: str) -> None:
    """`stager analyze | head -1`: the reader left before stager wrote; exit 141 like git."""
    options = ["--base=main", f"--format={output_format}"]
    process = subprocess.Popen(
        [sys.executable, "-m", "stager", "-C", str(branch.path), "analyze", *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # before stager writes anything: its first write fails
    err = process.stderr.read().decode()
    assert process.wait() == 141, err
    assert without_progress(err) == ""


def test_empty_branch_says_there_is_nothing_to_analyze(branch: GitRepo) -> None:
    result = invoke("-C", str(branch.path), "analyze", "--base", "main", "--head", "main")
    assert result.exit_code == 0, result.output
    assert "warning: no changes between main and its merge base" in result.stdout
    data = json.loads(
        invoke(
            "-C", str(branch.path), "analyze", "--base=main", "--head=main", "--format=json"
        ).stdout
    )
    assert data["files"] == [] and any("no changes" in w for w in data["warnings"])


def test_help_names_the_global_options_as_the_docs_do() -> None:
    """`stager --help` says `-C PATH` (as README and git do) and lists whole summaries."""
    result = invoke("--help")
    assert result.exit_code == 0
    assert "-C PATH" in result.stdout
    commands = result.stdout.split("Commands:", 1)[1]
    assert "..." not in commands, commands
    names = [line.split()[0] for line in commands.strip().splitlines()]
    assert names == sorted(stager.cli.cli.commands)


def test_every_command_documents_its_options_in_help() -> None:
    """Every option of every command has a help line (what --help shows a newcomer)."""
    for name, command in stager.cli.cli.commands.items():
        assert command.help, name
        for param in command.params:
            if isinstance(param, click.Option):
                assert param.help, (name, param.name)


DOC_PAGE = {
    "analyze": "getting-started.md",
    "plan": "plan.md",
    "split": "split.md",
    "verify": "split.md",
    "open-pr": "open-pr.md",
    "sync": "sync.md",
    "lint": "rules.md",
    "status": "status.md",
}


def test_every_option_is_in_the_command_docs_page() -> None:
    """A newcomer reads the command's page in docs/: every option of the command is there."""
    docs = Path(__file__).resolve().parent.parent / "docs"
    missing = []
    for name, page in DOC_PAGE.items():
        text = (docs / page).read_text(encoding="utf-8")
        for param in stager.cli.cli.commands[name].params:
            # hidden: the global options again after the command, documented once (below)
            if isinstance(param, click.Option) and param.name != "help" and not param.hidden:
                flags = [
                    flag for flag in param.opts + param.secondary_opts if flag.startswith("--")
                ]
                if not any(flag in text for flag in flags):
                    missing.append(f"{name} {flags[0]} in docs/{page}")
    assert not missing, missing
    assert "after the command" in (docs / "getting-started.md").read_text(encoding="utf-8")


def test_empty_branch_against_a_default_base_suggests_base(branch: GitRepo) -> None:
    """origin/HEAD can point at the feature branch itself (a clone of a clone): say so."""
    branch.git("update-ref", "refs/remotes/origin/feature", "feature")
    branch.git("symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/feature")
    result = invoke("-C", str(branch.path), "analyze")
    assert result.exit_code == 0, result.output
    warning = " ".join(result.stdout.split())
    assert "nothing to analyze" in warning
    assert "origin/HEAD is the default base" in warning and "--base" in warning


def test_relative_paths_are_relative_to_dash_c(
    branch: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Like `git -C`: --rules, --output, --write and --plan name files inside PATH."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    branch.write("custom.toml", 'extends = "default"\n[stager]\nbase = "main"\n')
    where = str(branch.path)
    result = invoke("-C", where, "--rules", "custom.toml", "analyze", "-o", "a.json")
    assert result.exit_code == 0, result.output
    assert (branch.path / "a.json").is_file()
    result = invoke("-C", where, "plan", "--base", "main", "--write", "p.toml", "-o", "p.txt")
    assert result.exit_code == 0, result.output
    assert (branch.path / "p.toml").is_file() and (branch.path / "p.txt").is_file()
    result = invoke("-C", where, "split", "--all", "--dry-run", "--plan", "p.toml")
    assert result.exit_code == 0, result.output
    assert list(elsewhere.iterdir()) == []


def test_plan_force_without_write_is_a_usage_error(branch: GitRepo) -> None:
    result = invoke("-C", str(branch.path), "plan", "--base", "main", "--force")
    assert result.exit_code == 2
    assert "--force goes with --write FILE: add --write stager-plan.toml" in result.output


def test_paths_typed_after_the_command_are_relative_to_dash_c(
    branch: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """-C PATH then --output FILE: FILE lands under PATH, as git -C treats paths."""
    monkeypatch.chdir(tmp_path)
    result = invoke("-C", str(branch.path), "analyze", "--base", "main", "--output", "out.md")
    assert result.exit_code == 0, result.output
    assert (branch.path / "out.md").is_file()
    assert not (tmp_path / "out.md").exists()


def test_the_crash_log_fallback_never_follows_a_planted_symlink(
    branch: GitRepo, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def explode(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("boom")

    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")  # the cache cannot be made: the log falls back to $TMPDIR
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temporary))
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    (temporary / "stager-crash.log").symlink_to(victim)
    monkeypatch.setattr(stager.commands.analyze, "analyze_branch", explode)
    for _ in range(2):  # a log already there is never overwritten either
        result = invoke("-C", str(branch.path), "analyze")
        assert result.exit_code == 3
        assert victim.read_text() == "precious\n"
    logs = sorted(temporary.glob("stager-crash*.log"))
    written = [log for log in logs if not log.is_symlink()]
    assert len(written) == 2 and all("RuntimeError: boom" in log.read_text() for log in written)
    assert any(str(log) in result.stderr for log in written)
    assert all(log.stat().st_mode & 0o077 == 0 for log in written)


def test_global_options_are_accepted_after_the_command(branch: GitRepo) -> None:
    """`stager analyze -C PATH -v`, as git takes -c anywhere: the same run as before it."""
    result = invoke("analyze", "--base", "main", "-C", str(branch.path), "-v", "--format=json")
    assert result.exit_code == 0, result.output
    assert "stager: git merge-base --all" in result.stderr
    assert json.loads(result.stdout)["base_ref"] == "main"
    missing = invoke("analyze", "-C", str(branch.path), "--rules", "nowhere.toml")
    assert "nowhere.toml" in one_error_line(missing)


def test_dash_c_after_the_command_still_places_relative_paths(branch: GitRepo) -> None:
    """-C is read first wherever it stands: --output after it or before it is relative to it."""
    result = invoke("analyze", "--base=main", "-o", "report.txt", "-C", str(branch.path))
    assert result.exit_code == 0, result.output
    assert (branch.path / "report.txt").is_file()


def test_an_option_of_another_command_says_which(branch: GitRepo) -> None:
    result = invoke("-C", str(branch.path), "analyze", "--write", "plan.toml")
    assert result.exit_code == 2
    assert "--write is an option of `stager plan`" in result.stderr


def test_a_misspelt_ref_gets_a_did_you_mean(branch: GitRepo) -> None:
    line = one_error_line(invoke("-C", str(branch.path), "analyze", "--base", "mian"))
    assert "unknown ref 'mian'" in line and "did you mean 'main'?" in line


def test_counts_agree_with_their_nouns(branch: GitRepo) -> None:
    """One commit changing one file: "1 file changed in 1 commit", never "1 commits"."""
    result = invoke("-C", str(branch.path), "analyze", "--base", "main")
    assert "— 1 file changed in 1 commit\n" in result.stdout, result.stdout
