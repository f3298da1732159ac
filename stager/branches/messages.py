"""Commit messages of phase commits: the original's where it is whole, else labelled parts."""

from __future__ import annotations

from collections.abc import Sequence

from stager.branches.split_types import Rewrite
from stager.errors import StagerError
from stager.git.history import HistoryCommit
from stager.plan.phase import Phase
from stager.types import Sha
from stager.wording import count


def stage_label(phase: Phase, total: int) -> str:
    return f"stage {phase.number} of {total}"


def _trailer(rewrite: Rewrite) -> str:
    """One trailer line; an id that would break the line never reaches a message."""
    line = rewrite.trailer()
    if not line.isprintable():
        raise StagerError(
            f"cannot record the re-chaining of {rewrite.path}: a revision id in it "
            "contains control characters",
            "rename the revision to letters, digits and underscores",
        )
    return line


SPLIT_FROM = "Stager-Split-From"
"""The trailer naming the branch commit a part was cut from (``git log --format=%(trailers)``)."""


def _with_trailers(message: str, rewrites: Sequence[Rewrite], first: Sequence[str] = ()) -> str:
    message = message.rstrip("\n")
    lines = [*first, *(_trailer(rewrite) for rewrite in rewrites)]
    if not lines:
        return message + "\n"
    return f"{message}\n\n" + "\n".join(lines) + "\n"


def replay_message(
    commit: HistoryCommit,
    phase: Phase,
    total: int,
    *,
    whole: bool,
    rewrites: Sequence[Rewrite],
) -> str:
    """A commit wholly inside the phase keeps its message; a part says what it is part of."""
    if whole and not commit.is_merge:
        return _with_trailers(commit.message, rewrites)
    _, _, body = commit.message.partition("\n")
    body = body.strip("\n")
    if commit.is_merge:
        note = (
            f"The changes merge commit {commit.sha} made against its first parent, "
            f"limited to phase {phase.number} ({phase.name}): stager applies a merge's "
            "own changes as a patch, never replays it as a merge."
        )
        subject = f"{commit.subject} ({stage_label(phase, total)})"
        trailers: tuple[str, ...] = ()
    else:
        # Its own title would claim the whole change in a phase that holds only a part.
        note = (
            f"Part of commit {commit.sha}: the files of phase {phase.number} ({phase.name}); "
            "its other files are in their own phases."
        )
        subject = f"{commit.subject} (part of {commit.sha[:12]}, {stage_label(phase, total)})"
        trailers = (f"{SPLIT_FROM}: {commit.sha}",)
    parts = [subject]
    if body:
        parts.append(body)
    parts.append(note)
    return _with_trailers("\n\n".join(parts), rewrites, trailers)


def patch_message(
    phase: Phase,
    total: int,
    *,
    files: int,
    head: Sha,
    merge_base: Sha,
    rewrites: Sequence[Rewrite],
) -> str:
    """The single commit of a phase built with the patch strategy."""
    body = (
        f"{count(files, 'file')} of {head[:12]} (compared with the merge base {merge_base[:12]}), "
        f"applied as one patch by `stager split`."
    )
    return _with_trailers(f"{phase.title} ({stage_label(phase, total)})\n\n{body}", rewrites)


def derived_message(phase: Phase, total: int, rewrites: Sequence[Rewrite]) -> str:
    """The commit that writes the files stager derived for a replayed phase (issue 12)."""
    lines = "\n".join(f"- {rewrite.describe()}" for rewrite in rewrites)
    body = (
        "Files `stager split` derived from the branch for this phase, which no branch "
        f"commit holds:\n\n{lines}"
    )
    return _with_trailers(
        f"{phase.title}: derived files ({stage_label(phase, total)})\n\n{body}", rewrites
    )
