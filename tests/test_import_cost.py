"""The lazy imports that are left are the ones that pay: each test proves one path stays light.

`benchmarks/bench_imports.py` measures what each of these libraries costs to import
(networkx ~110 ms, PyGithub ~180 ms, jinja2 and rich ~25 ms each: more than git's own
diff of a large branch); here CI checks that the paths which do not need them never
load them. Every other import in stager is at the top of its module.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from stager.demo import DemoRepository
from tests.gitrepo import sealed_env

# Which modules one run loaded: the command runs in-process, then the names are written out.
PROBE = """
import json, sys
from stager.cli import main
out, sys.argv = sys.argv[1], ["stager", *sys.argv[2:]]
try:
    main()
except SystemExit:
    pass
with open(out, "w") as f:
    json.dump(sorted(sys.modules), f)
"""

HEAVY = ("rich", "jinja2", "networkx", "github")


def loaded(tmp_path: Path, *arguments: str) -> set[str]:
    out = tmp_path / "modules.json"
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    subprocess.run(
        [sys.executable, "-c", PROBE, str(out), *arguments],
        env=sealed_env(home),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    names: list[str] = json.loads(out.read_text())
    return {name.split(".")[0] for name in names} | set(names)


@pytest.fixture
def demo(tmp_path: Path, git_env: dict[str, str]) -> DemoRepository:
    from stager.demo import build_demo_repository

    return build_demo_repository(tmp_path / "demo")


def test_analyze_as_json_loads_no_renderer_graph_library_or_github(
    demo: DemoRepository, tmp_path: Path
) -> None:
    modules = loaded(tmp_path, "-C", str(demo.path), "analyze", "--format", "json")
    assert "stager.analysis" in modules  # it did run
    assert not modules & set(HEAVY), modules & set(HEAVY)


def test_lint_loads_neither_the_branch_nor_github(demo: DemoRepository, tmp_path: Path) -> None:
    versions = str(demo.path / "backend/migrations/versions")
    modules = loaded(tmp_path, "lint", "--format", "json", versions)
    assert "stager.migrations.lint.engine" in modules
    assert not modules & {*HEAVY, "stager.branches", "stager.github", "stager.plan"}


def test_version_loads_no_command(tmp_path: Path) -> None:
    modules = loaded(tmp_path, "--version")
    assert not {name for name in modules if name.startswith("stager.commands.")}
    assert not modules & set(HEAVY)
