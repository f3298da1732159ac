"""verify's compile check: for the project's Python, FAIL only on what no Python reads."""

from __future__ import annotations

import sys

import pytest
from click.testing import CliRunner, Result

from stager.cli import cli
from tests.gitrepo import GitRepo

OWN = f"{sys.version_info.major}.{sys.version_info.minor}"
BASE_REVISION = 'revision = "a1"\ndown_revision = None\n\ndef upgrade():\n    pass\n'


def test_a_file_too_deep_to_compile_fails_the_check(repo: GitRepo) -> None:
    repo.commit(
        "base",
        {
            "alembic.ini": "[alembic]\nscript_location = migrations\n",
            "migrations/versions/a1.py": BASE_REVISION,
            "app/mod.py": "x = 1\n",
        },
    )
    repo.checkout("-q", "-b", "feature")
    # CPython's compiler gives up on this (RecursionError), as it would on import.
    repo.commit("deep", {"app/deep.py": "Y = " + " + ".join(["1"] * 20000) + "\n"})
    runner = CliRunner()
    split = runner.invoke(cli, ["-C", str(repo.path), "split", "--all", "--base", "main"])
    assert split.exit_code == 0, split.output
    verify = runner.invoke(cli, ["-C", str(repo.path), "verify", "--base", "main"])
    assert verify.exit_code == 4, verify.output
    assert "app/deep.py: too deeply nested to compile" in verify.output


# PEP 758 (Python 3.14): ``except A, B:`` without parentheses.
NEWER = "try:\n    X = 1\nexcept ValueError, TypeError:\n    X = 2\n"
# A stand-in for the project's Python 3.14, kept in its virtualenv: it accepts PEP 758.
FAKE_314 = f"""#!{sys.executable}
import builtins, re, sys

real = builtins.compile


def compile(source, *args, **kwargs):
    return real(re.sub(rb"except (\\w+), (\\w+):", rb"except (\\1, \\2):", source), *args, **kwargs)


builtins.compile = compile
exec(sys.argv[sys.argv.index("-c") + 1])
"""


def branch_with(repo: GitRepo, python: str | None, files: dict[str, str]) -> None:
    """A base whose rules name ``python``, and a feature branch adding ``files``."""
    rules = 'extends = "default"\n' + (f"[verify]\npython = {python!r}\n" if python else "")
    repo.commit(
        "base",
        {
            "alembic.ini": "[alembic]\nscript_location = migrations\n",
            "migrations/versions/a1.py": BASE_REVISION,
            ".stager/rules.toml": rules,
        },
    )
    repo.checkout("-q", "-b", "feature")
    repo.commit("work", files)


def split_and_verify(repo: GitRepo) -> Result:
    runner = CliRunner()
    split = runner.invoke(cli, ["-C", str(repo.path), "split", "--all", "--base", "main"])
    assert split.exit_code == 0, split.output
    return runner.invoke(cli, ["-C", str(repo.path), "verify", "--base", "main"])


def test_the_projects_interpreter_compiles_syntax_newer_than_stagers(repo: GitRepo) -> None:
    branch_with(repo, ".venv/bin/python", {"app/errors.py": NEWER})
    interpreter = repo.path / ".venv/bin/python"  # in the work tree, not committed
    interpreter.parent.mkdir(parents=True)
    interpreter.write_text(FAKE_314, encoding="utf-8")
    interpreter.chmod(0o755)
    verify = split_and_verify(repo)
    assert verify.exit_code == 0, verify.output
    assert "every check passed" in verify.output and "compiles:" not in verify.output


@pytest.mark.skipif(sys.version_info >= (3, 14), reason="stager's own Python reads PEP 758")
@pytest.mark.parametrize(
    ("python", "why"),
    [("no-such-python3.14", "was not found on PATH"), ("false", "failed (exit 1)")],
)
def test_without_the_projects_interpreter_newer_syntax_is_not_checked(
    repo: GitRepo, python: str, why: str
) -> None:
    branch_with(repo, python, {"app/errors.py": NEWER})
    verify = split_and_verify(repo)
    assert verify.exit_code == 0, verify.output
    lines = [" ".join(line.split()) for line in verify.output.splitlines()]
    assert (
        f"phase 3 compiles: {python} {why}: compiled by stager's own Python {OWN} instead"
    ) in lines
    assert (
        f"phase 3 compiles: app/errors.py:3: not checked: Python {OWN} cannot parse it (multiple "
        f"exception types must be parenthesized): syntax newer than Python {OWN}? Set [verify] "
        "python in rules.toml to the project's interpreter"
    ) in lines


def test_a_file_the_projects_interpreter_refuses_fails_and_names_it(repo: GitRepo) -> None:
    branch_with(repo, sys.executable, {"app/broken.py": "def broken(:\n    pass\n"})
    verify = split_and_verify(repo)
    assert verify.exit_code == 4, verify.output
    lines = [" ".join(line.split()) for line in verify.output.splitlines()]
    assert "phase 3 compiles: app/broken.py:1: invalid syntax" in lines
    assert (
        f"phase 3 compiles: compiled by {sys.executable} (Python {OWN}); if the project targets "
        "a newer Python, set [verify] python in rules.toml to its interpreter"
    ) in lines
