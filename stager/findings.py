"""Findings: one observation about the branch, with where it is and what to do."""

from __future__ import annotations

from dataclasses import dataclass

from stager.types import RepoPath, Risk


@dataclass(frozen=True)
class Finding:
    """A risk a maintainer should see; ``rule`` is a stable id (e.g. ``SG006``)."""

    path: RepoPath | None
    line: int | None
    rule: str
    risk: Risk
    message: str
    hint: str
    # False: already on the merge base, shown for context; never counts toward --fail-on
    introduced: bool = True

    def location(self) -> str:
        if self.path is None:
            return "-"
        return f"{self.path}:{self.line}" if self.line else str(self.path)


def finding_order(finding: Finding) -> tuple[int, str, int, str]:
    """Highest risk first, then by place: the order people read findings in."""
    return (-finding.risk, finding.path or "", finding.line or 0, finding.rule)
