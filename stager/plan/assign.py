"""The phase the rules ask for each changed file, before any dependency is considered.

Most specific first: the phase listing the file's revision id (``migrations``),
else the first phase whose ``paths`` select it (new path, then old path of a
rename), else the phase listing its category, else ``[stager] unassigned``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from stager.classify import FileClass
from stager.git.diff import ChangedFile
from stager.migrations.revision_files import MigrationFile
from stager.plan.phase import PlanError, first_few
from stager.rules.settings import UNASSIGNED_LAST, Rules
from stager.types import RepoPath
from stager.wording import count

_SHOWN = 20


@dataclass(frozen=True)
class Ask:
    """The phase the rules put a file in, and the rule that did."""

    phase: int
    reason: str  # the whole reason shown with the file
    note: str = ""  # the part about the phase ("" when its category's phase took it)


def ask_phases(
    files: Sequence[ChangedFile],
    classes: Sequence[FileClass],
    rules: Rules,
    migrations: Mapping[RepoPath, MigrationFile],
) -> tuple[dict[RepoPath, Ask], list[str]]:
    """Asked phase of every file (by its path), and warnings about the rules' phases.

    PlanError when ``unassigned = "error"`` and some file is taken by no phase.
    """
    by_revision = {revision: phase for phase in rules.phases for revision in phase.migrations}
    fallback = rules.unassigned_phase()
    asked: dict[RepoPath, Ask] = {}
    unassigned: list[str] = []
    seen_revisions: set[str] = set()
    for change, item in zip(files, classes, strict=True):
        migration = migrations.get(change.path)
        revision = migration.revision if migration is not None else None
        if revision is not None:
            seen_revisions.add(revision)
        phase = by_revision.get(revision) if revision is not None else None
        if phase is not None:
            note = f"revision {revision} is listed in [[phase]] {phase.name!r} ({phase.location})"
            asked[change.path] = Ask(phase.number, note, note)
            continue
        matched = next(
            (
                (phase, pattern)
                for path in (change.path, change.old_path)
                if path is not None
                for phase in rules.phases
                if (pattern := phase.match_path(path)) is not None
            ),
            None,
        )
        if matched is not None:
            phase, pattern = matched
            note = f"pattern '{pattern.text}' of [[phase]] {phase.name!r} ({phase.location})"
            asked[change.path] = Ask(phase.number, note, note)
            continue
        category_reason = item.reasons[0] if item.reasons else f"category {item.category!r}"
        phase = rules.phase_of_category(item.category)
        if phase is not None:
            asked[change.path] = Ask(phase.number, category_reason)
        elif fallback is not None:
            which = "last phase" if rules.unassigned == UNASSIGNED_LAST else "phase"
            note = (
                f"category {item.category!r} is in no [[phase]] "
                f"(unassigned → {which}: {fallback.label})"
            )
            asked[change.path] = Ask(fallback.number, f"{category_reason}; {note}", note)
        else:
            unassigned.append(f"{change.path} (category {item.category!r})")
    if unassigned:
        shown = first_few(unassigned, _SHOWN, "; ")
        raise PlanError(
            f'{rules.source}: unassigned = "error" and {count(len(unassigned), "changed file")} '
            f"{'is' if len(unassigned) == 1 else 'are'} in no phase: {shown}",
            "list their categories (or paths) in a [[phase]], "
            'or set unassigned = "last" under [stager]',
        )
    warnings = [
        f"[[phase]] {phase.name!r} ({phase.location}) lists revision {revision}, "
        "which this branch does not change"
        for phase in rules.phases
        for revision in phase.migrations
        if revision not in seen_revisions
    ]
    return asked, warnings
