"""Phase branches built with plain git, as `stager split` would (without re-chaining).

open-pr is tested on its own: it only needs one local branch per phase whose
tree holds that phase's files (stacked: and every earlier phase's).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from stager.analysis import Analysis, analyze_branch
from stager.git.repository import Repository
from stager.plan.phase import Phase


def git(path: Path, *args: str, env: Mapping[str, str] | None = None, stdin: str = "") -> str:
    result = subprocess.run(
        ["git", *args],
        cwd=path,
        env={**os.environ, **(env or {})},
        input=stdin.encode(),
        capture_output=True,
        check=False,
    )
    assert result.returncode == 0, (args, result.stderr.decode())
    return result.stdout.decode().strip()


def analysis_of(path: Path, base: str, head: str) -> Analysis:
    return analyze_branch(Repository(path), base, head, None)


def build_phase_branches(
    path: Path,
    analysis: Analysis,
    *,
    pattern: str = "stage/{number}-{name}",
    stacked: bool = True,
    phases: Sequence[Phase] | None = None,
) -> dict[int, str]:
    """One branch per phase with files; returns phase number → branch name."""
    index = path / ".git" / "stager-test-index"
    env = {"GIT_INDEX_FILE": str(index)}
    head_files = {f.path: f for f in analysis.files}
    parent: str = analysis.refs.merge_base
    git(path, "read-tree", parent, env=env)
    branches: dict[int, str] = {}
    for phase in phases if phases is not None else analysis.plan.phases:
        if not phase.files and not phase.derived:
            continue
        if not stacked:
            git(path, "read-tree", analysis.refs.merge_base, env=env)
            parent = analysis.refs.merge_base
        lines = []
        for planned in phase.files:
            changed = head_files[planned.path]
            if changed.old_path:
                lines.append(f"0 {'0' * 40}\t{changed.old_path}")
            if changed.status == "D":
                lines.append(f"0 {'0' * 40}\t{changed.path}")
            else:
                lines.append(f"{changed.new_mode} {changed.new_blob}\t{changed.path}")
        # The files stager derives (an expand revision, a contract part, a partial
        # file) replace the branch's version, as split writes them; split builds
        # them only stacked (an expand revision's phase is a dependency).
        for derived in phase.derived if stacked else ():
            blob = git(path, "hash-object", "-w", "--stdin", stdin=derived.source.decode())
            lines.append(f"100644 {blob}\t{derived.path}")
        git(path, "update-index", "--index-info", env=env, stdin="\n".join(lines) + "\n")
        tree = git(path, "write-tree", env=env)
        commit = git(path, "commit-tree", tree, "-p", parent, "-m", f"phase {phase.number}")
        branch = pattern.format(number=phase.number, name=phase.name)
        git(path, "update-ref", f"refs/heads/{branch}", commit)
        branches[phase.number] = branch
        parent = commit
    index.unlink(missing_ok=True)
    return branches
