"""verify's compile check: a file too deeply nested for Python is a FAIL, never a crash."""

from __future__ import annotations

from click.testing import CliRunner

from stager.cli import cli
from tests.gitrepo import GitRepo

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
