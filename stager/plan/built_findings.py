"""The findings a phase ships: a split revision's migration rules read from the files stager wrote.

``analyze`` reports the branch as written, so a mixed migration's findings sit
on head's file, at head's lines. A phase ships what the split built instead:
the expand revision R_e (a new file) in one phase, R reduced to its contract
in another. Their pull requests and the staging document must show each
part's own findings at the lines of the file the reviewer opens, and drop
what the split settled (SM003, "adds and drops in one migration").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from stager.findings import Finding, finding_order
from stager.migrations.lint.engine import file_findings
from stager.migrations.lint.envpy import EnvSettings
from stager.migrations.parse import parse_migration
from stager.plan.phase import DerivedKind, Phase
from stager.rules.settings import Rules, apply_settings
from stager.types import RepoPath, Sha

_REVISIONS = frozenset({DerivedKind.EXPAND_REVISION, DerivedKind.CONTRACT_REVISION})
_MIGRATION_RULES = "SM"  # the per-file migration rules, which the parts are linted for again


def phase_findings(
    findings: Sequence[Finding],
    phase: Phase,
    envs: Mapping[RepoPath, EnvSettings],
    rules: Rules,
) -> list[Finding]:
    """The findings on ``phase``'s files, as built, highest risk first.

    ``envs``: the env.py settings of each split revision's path (what runs it).
    A contract part replaces head's file at its path: head's migration rules
    there give way to the part's own.
    """
    split_paths = {
        derived.path for derived in phase.derived if derived.kind is DerivedKind.CONTRACT_REVISION
    }
    own = set(phase.paths)
    shipped = [
        finding
        for finding in findings
        if finding.path in own
        and not (finding.path in split_paths and finding.rule.startswith(_MIGRATION_RULES))
    ]
    for derived in phase.derived:
        if derived.kind not in _REVISIONS:
            continue
        migration = parse_migration(derived.path, Sha("0" * 40), derived.source)
        env = envs.get(derived.origin, EnvSettings())
        linted = file_findings(migration, derived.source, env, rules.postgres_version)
        shipped.extend(apply_settings(linted, rules))
    return sorted(shipped, key=finding_order)
