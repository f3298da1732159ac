"""`stager analyze` once a phase merged: the base's drift never counts the branch's own work."""

from __future__ import annotations

import json
from typing import Any

from click.testing import CliRunner

from stager.cli import cli
from stager.demo import DemoRepository
from tests.gitrepo import GitRepo

PHASE_1 = "stage/1-foundation"
BASE_FIX = "backend/app/services/transfer_service.py"  # main's own bug fix: a real overlap


def stager(demo: DemoRepository, *args: str) -> Any:
    result = CliRunner().invoke(cli, ["-C", str(demo.path), *args])
    assert result.exit_code == 0, result.output
    return result


def squash_merge(demo: DemoRepository, git_env: dict[str, str], branch: str) -> None:
    """Merge ``branch`` into main as GitHub's squash merge does: one commit, git's merge."""
    repo = GitRepo(demo.path, git_env)
    tree = repo.git("merge-tree", "--write-tree", "main", branch)  # fails on a conflict
    squashed = repo.git("commit-tree", "-p", "main", "-m", f"{branch} (#1)", tree)
    repo.git("update-ref", "refs/heads/main", squashed)


def findings(demo: DemoRepository, rule: str) -> list[dict[str, Any]]:
    data = json.loads(stager(demo, "analyze", "--format", "json").stdout)
    return [finding for finding in data["findings"] if finding["rule"] == rule]


def test_phase_1_squash_merged_after_a_split_onto_main_is_no_drift(
    demo: DemoRepository, git_env: dict[str, str]
) -> None:
    # The state: phase 1 (built onto main, its first revision re-chained onto
    # main's 0c2e4a6c8e0f) squash-merged. main's new revisions and files are the branch's.
    stager(demo, "split", "--all")
    squash_merge(demo, git_env, PHASE_1)
    # Before the fix: SG008 called a3c5e7f9b1d3 … "gained by the base" and advised
    # re-chaining a3c5e7f9b1d3 onto 8e2f4a6c8e0a, its own descendant (a cycle).
    assert findings(demo, "SG008") == []
    # Before: one SB001 per merged phase-1 file (12). main's own fix still overlaps.
    assert [finding["path"] for finding in findings(demo, "SB001")] == [BASE_FIX]
    assert findings(demo, "SG011") == []  # main has one head: 8e2f4a6c8e0a


def test_a_base_with_two_alembic_heads_is_a_finding_of_its_own(
    demo: DemoRepository, git_env: dict[str, str]
) -> None:
    # Phase 1 built from the merge base and squash-merged: main has two heads, which
    # every later split refuses; analyze must say so (it said nothing).
    stager(demo, "split", "--all", "--from-merge-base")
    squash_merge(demo, git_env, PHASE_1)
    (found,) = findings(demo, "SG011")
    assert found["risk"] == "high"
    assert "2 Alembic heads" in found["message"] and "the merge base had 1" in found["message"]
    assert "0c2e4a6c8e0f" in found["message"] and "8e2f4a6c8e0a" in found["message"]
    assert "alembic merge" in found["hint"] and "0c2e4a6c8e0f 8e2f4a6c8e0a" in found["hint"]
    # The heads are the base's problem, not a merge of the branch to re-chain.
    assert findings(demo, "SG008") == []
    assert [finding["path"] for finding in findings(demo, "SB001")] == [BASE_FIX]


def test_the_demo_before_any_merge_keeps_its_findings(demo: DemoRepository) -> None:
    # main gained 0c2e4a6c8e0f on its own: SG008 as before, and the one real overlap.
    (sg008,) = findings(demo, "SG008")
    assert "gained 0c2e4a6c8e0f after the merge base" in sg008["message"]
    assert "re-chain a3c5e7f9b1d3 onto the base's head 0c2e4a6c8e0f" in sg008["message"]
    assert [finding["path"] for finding in findings(demo, "SB001")] == [BASE_FIX]
    assert findings(demo, "SG011") == []
