"""Python files stager's own parser cannot read: newer syntax, too deep, too large.

Such a file keeps its import edges (read by a scan of its tokens), a warning
names it, and no command crashes on it.
"""

from __future__ import annotations

import json
import sys

import pytest
from click.testing import CliRunner, Result

from stager.cli import cli
from tests.gitrepo import GitRepo

OWN = f"{sys.version_info.major}.{sys.version_info.minor}"
BASE = {
    "alembic.ini": "[alembic]\nscript_location = migrations\n",
    "migrations/versions/a1.py": (
        'revision = "a1"\ndown_revision = None\n\n\ndef upgrade():\n    pass\n\n\n'
        "def downgrade():\n    pass\n"
    ),
}
HELPERS = "def fmt(x):\n    return str(x)\n"
# PEP 758 (Python 3.14): ``except A, B:`` without parentheses.
MODEL_314 = (
    "from app.helpers import fmt\n\ntry:\n    X = fmt(1)\nexcept ValueError, TypeError:\n"
    "    X = None\n"
)


def stager(repo: GitRepo, *args: str) -> Result:
    return CliRunner().invoke(cli, ["-C", str(repo.path), *args])


def phase_of(analysis: dict[str, list[dict[str, object]]], path: str) -> object:
    return next(entry["phase"] for entry in analysis["files"] if entry["path"] == path)


@pytest.mark.skipif(sys.version_info >= (3, 14), reason="stager's own Python reads PEP 758")
def test_a_file_with_newer_syntax_keeps_its_import_edge_and_is_named(repo: GitRepo) -> None:
    repo.commit("base", {**BASE, "app/models/thing.py": "X = 1\n"})
    repo.checkout("-q", "-b", "feature")
    # The model (phase 1 by the default rules) imports a module the branch adds in phase 3.
    repo.commit("work", {"app/helpers.py": HELPERS, "app/models/thing.py": MODEL_314})
    result = stager(repo, "analyze", "--base", "main", "--format", "json")
    assert result.exit_code == 0, result.output
    analysis = json.loads(result.stdout)
    assert phase_of(analysis, "app/models/thing.py") == phase_of(analysis, "app/helpers.py") == 3
    assert analysis["warnings"] == [
        f"app/models/thing.py: Python {OWN} cannot parse line 5 (multiple exception types must "
        f"be parenthesized: syntax newer than {OWN}, or an error); its imports and names were "
        "read by a token scan"
    ]
    terminal = stager(repo, "plan", "--base", "main")
    assert terminal.exit_code == 0, terminal.output
    assert "warning: app/models/thing.py: Python" in " ".join(terminal.output.split())
    assert "imports `app.helpers`, which the branch adds" in " ".join(terminal.output.split())


DEEP = {
    "app/terms.py": "X = " + " + ".join(["1"] * 20_000) + "\n",
    "app/minus.py": "X = " + "-" * 100_000 + "1\n",
    "app/parentheses.py": "X = " + "(" * 300 + "1" + ")" * 300 + "\n",
    "app/lists.py": "X = " + "[" * 300 + "]" * 300 + "\n",
}


def test_files_too_deep_for_the_parser_never_crash_a_command(repo: GitRepo) -> None:
    repo.commit("base", BASE)
    repo.checkout("-q", "-b", "feature")
    deep = {path: "from app.helpers import fmt\n" + text for path, text in DEEP.items()}
    repo.commit("deep", {"app/helpers.py": HELPERS, **deep})
    analyze = stager(repo, "analyze", "--base", "main", "--format", "json")
    assert analyze.exit_code == 0, analyze.output
    warnings = json.loads(analyze.stdout)["warnings"]
    assert sorted(warning.split(":")[0] for warning in warnings) == sorted(DEEP)
    assert all(warning.endswith("read by a token scan") for warning in warnings), warnings
    too_deep = [w for w in warnings if "too deeply nested for Python's parser" in w]
    assert {w.split(":")[0] for w in too_deep} == {"app/terms.py", "app/minus.py"}
    assert stager(repo, "plan", "--base", "main").exit_code == 0
    split = stager(repo, "split", "--all", "--base", "main")
    assert split.exit_code == 0, split.output
    verify = stager(repo, "verify", "--base", "main")
    # Python itself cannot compile them: the compile check fails, it does not crash.
    assert verify.exit_code == 4, verify.output
    for path in DEEP:
        assert f"phase 3 compiles: {path}" in verify.output
