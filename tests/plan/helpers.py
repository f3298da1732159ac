"""Small real-git branches to plan, and rules with a phase per kind of change."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from stager.analysis import Analysis, analyze_branch
from stager.git.repository import Repository
from stager.plan import Plan
from tests.gitrepo import GitRepo
from tests.migrations.builders import migration

VERSIONS = "migrations/versions"
ALEMBIC_INI = "[alembic]\nscript_location = migrations\n"

RULES = """
[[category]]
name = "migration-additive"
migration = ["additive", "reference-data", "empty"]
risk = "medium"

[[category]]
name = "migration-data"
migration = ["data"]
risk = "high"

[[category]]
name = "migration-destructive"
migration = ["destructive"]
risk = "critical"

[[category]]
name = "models"
paths = ["**/models/**/*.py", "**/models.py"]
risk = "low"

[[category]]
name = "tests"
paths = ["tests/", "test_*.py", "*.test.jsx"]
risk = "low"

[[category]]
name = "code"
paths = ["*"]
risk = "medium"

[[phase]]
name = "schema"
categories = ["migration-additive", "models"]

[[phase]]
name = "data"
categories = ["migration-data"]

[[phase]]
name = "code"
categories = ["code", "tests"]

[[phase]]
name = "contract"
categories = ["migration-destructive"]
"""
"""Phase 1 schema (additive migrations, models), 2 data, 3 code and tests, 4 drops."""


def revision_file(revision: str, down: str | None, upgrade: str = "pass", **kw: str) -> str:
    return migration(revision, down, upgrade=upgrade, **kw)  # type: ignore[arg-type]


def version_path(revision: str) -> str:
    return f"{VERSIONS}/{revision}.py"


def make_branch(
    repo: GitRepo,
    base: Mapping[str, str],
    branch: Mapping[str, str | None],
    *,
    extra_commits: tuple[Mapping[str, str | None], ...] = (),
) -> None:
    """Commit ``base`` on main, then ``branch`` (None deletes) on 'feature', checked out."""
    repo.commit("base", {"alembic.ini": ALEMBIC_INI, **base})
    repo.checkout("-b", "feature")
    for commit in (branch, *extra_commits):
        for path, content in commit.items():
            if content is None:
                repo.remove(path)
        repo.commit("work", {p: c for p, c in commit.items() if c is not None})


def analyze(repo: GitRepo, tmp_path: Path, rules: str = RULES) -> Analysis:
    rules_path = tmp_path / "rules.toml"
    rules_path.write_text(rules, encoding="utf-8")
    return analyze_branch(Repository(repo.path), "main", "feature", rules_path)


def plan_of(analysis: Analysis) -> Plan:
    return analysis.plan


def phases(analysis: Analysis) -> dict[str, int]:
    """Every changed path → its planned phase."""
    return dict(plan_of(analysis).assignment.items())


def edge_kinds(analysis: Analysis, dependent: str, dependency: str) -> list[str]:
    return [
        edge.kind.value
        for edge in plan_of(analysis).dependencies
        if edge.dependent == dependent and edge.dependency == dependency
    ]
