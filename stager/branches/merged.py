"""Which phases of the branch's splits the base holds, whatever the merge method.

A merge commit leaves the phase's tip in the base's history (merged by ancestry).
A squash or rebase merge leaves only its content: the phase is merged when every
path it changes has, on the base's tip, the blob split built for it (a deleted
path is absent). The comparison is with the BUILT phase, read from its recorded
tip, never with head: after an expand/contract split or a re-chaining, head's
version of a file differs from the phase's by design.

Only the phases' own paths are looked up, in one ``cat-file --batch-check``,
whatever the size of the repository.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from stager.analysis import MergedContent, MergedPhase
from stager.branches.record import (
    RECORD_FILE,
    RecordedPhase,
    SplitRecord,
    read_record,
    record_name,
)
from stager.branches.split_types import PARTIAL as PARTIAL_FILE
from stager.branches.split_types import SplitResult
from stager.errors import StagerError
from stager.findings import Finding
from stager.git.history import is_ancestor, reachable
from stager.git.object_ids import object_ids
from stager.git.repository import BranchRefs, Repository, TreeEntry
from stager.rules.catalogue import RULES
from stager.types import RepoPath, Sha

MERGED, PARTIAL, REVERTED = "merged", "partially merged", "merged and reverted"
BY_ANCESTRY, BY_CONTENT = "merge commit", "squash or rebase"
BY_PULL_REQUEST = "its pull request's merge commit"

Confirm = Callable[[RecordedPhase, MergedPhase | None], MergedPhase | None]
"""A second opinion on git's verdict of a phase (GitHub's, through :func:`confirmed_by_pull`)."""


@dataclass(frozen=True)
class PhaseContent:
    """A phase's paths: the blob split built for each, and the one before it (None: absent)."""

    phase: RecordedPhase
    built: Mapping[RepoPath, Sha | None]
    before: Mapping[RepoPath, Sha | None]  # in the commit the phase starts from
    on_base: Mapping[RepoPath, Sha | None]  # on the base's tip
    at_split: Mapping[RepoPath, Sha | None]  # in the head the split was made from
    tip_known: bool  # the repository has the phase's tip (a commit)

    @property
    def changed(self) -> tuple[RepoPath, ...]:
        """The paths the phase changes: only they say whether it is merged."""
        return tuple(path for path in self.built if self.built[path] != self.before[path])


def merged_content(
    repo: Repository,
    refs: BranchRefs,
    head_tree: Mapping[RepoPath, TreeEntry],
    confirm: Confirm | None = None,
) -> MergedContent:
    """What the base (``refs.base``) holds of the splits of ``refs.head_ref``, and the
    changed paths of merged phases that no longer count as the branch's."""
    records = branch_records(repo, record_name(repo, refs.head_ref))
    content = judge(repo, records, refs.base, head_tree, confirm)
    edits = edited_base_revisions(repo, records, content, head_tree, refs.base_ref)
    return replace(content, findings=tuple(edits)) if edits else content


def branch_records(repo: Repository, name: str) -> list[SplitRecord]:
    """The records of branch ``name``, newest first: its last split, then the ones before.

    The earlier splits count too: once phase 1 is squash-merged, the next split builds
    only the phases left, and its record no longer names phase 1. An earlier record of
    another version, or damaged, is skipped (the latest one is read strictly).
    """
    found = read_record(repo, name)
    if found is None:
        return []
    older = [sha for sha in reachable(repo, [found.commit]) if sha != found.commit]
    texts = repo.read_blobs([Sha(f"{sha}:{RECORD_FILE}") for sha in older], missing_ok=True)
    records = [found.record]
    for sha in older:
        try:
            records.append(SplitRecord.from_json(json.loads(texts[Sha(f"{sha}:{RECORD_FILE}")])))
        except (KeyError, ValueError, StagerError):
            continue
    return records


def judge(
    repo: Repository,
    records: Sequence[SplitRecord],
    base: Sha,
    head_tree: Mapping[RepoPath, TreeEntry],
    confirm: Confirm | None = None,
) -> MergedContent:
    """:func:`merged_content` of records already read (newest first).

    A phase is told once, from the newest record that lists its built tip; each
    record settles paths by its own phases. ``confirm`` (GitHub's word) may settle a
    phase git alone is unsure of.
    """
    by_record = phase_contents(repo, records, base)
    phases: dict[Sha, MergedPhase] = {}
    settled: set[RepoPath] = set()
    for contents in by_record:
        verdicts = [
            _verdict(repo, content, _later(contents[at + 1 :]), base)
            for at, content in enumerate(contents)
        ]
        if confirm is not None:
            verdicts = [confirm(c.phase, v) for c, v in zip(contents, verdicts, strict=True)]
        told = [verdict for verdict in verdicts if verdict is not None]
        merged = {p.number for p in told if p.state == MERGED}
        settled |= _settled(contents, merged, head_tree)
        for verdict in told:
            phases.setdefault(verdict.commit, verdict)
    return MergedContent(tuple(phases.values()), frozenset(settled))


def phase_contents(
    repo: Repository, records: Sequence[SplitRecord], base: Sha
) -> list[list[PhaseContent]]:
    """Each record's phases: their paths as built, before, on ``base`` and in the split's
    head, all looked up in one ``cat-file --batch-check``."""

    def sides(record: SplitRecord, phase: RecordedPhase) -> tuple[Sha, Sha, Sha, Sha]:
        return phase.commit, phase.parent, base, record.head

    names = [
        name
        for record in records
        for phase in record.phases
        for name in (
            phase.commit,
            *(
                f"{commit}:{path}"
                for commit in set(sides(record, phase))
                for path in phase_paths(phase)
            ),
        )
    ]
    found = object_ids(repo, names)

    def blobs(commit: Sha, paths: Sequence[RepoPath]) -> dict[RepoPath, Sha | None]:
        entries = {path: found[f"{commit}:{path}"] for path in paths}
        return {
            path: entry.sha if entry is not None and entry.kind == "blob" else None
            for path, entry in entries.items()
        }

    by_record = []
    for record in records:
        contents = []
        for phase in record.phases:
            tip = found[phase.commit]
            paths = phase_paths(phase)
            built, before, on_base, at_split = (blobs(side, paths) for side in sides(record, phase))
            known = tip is not None and tip.kind == "commit"
            contents.append(PhaseContent(phase, built, before, on_base, at_split, known))
        by_record.append(contents)
    return by_record


def phase_paths(phase: RecordedPhase) -> tuple[RepoPath, ...]:
    """Every path the phase writes: its files, and the files stager derived for it (an
    expand revision, a file with only its early hunks), which only its rewrites name."""
    return tuple(dict.fromkeys([*phase.files, *(rewrite.path for rewrite in phase.rewrites)]))


def _later(contents: Sequence[PhaseContent]) -> dict[RepoPath, set[Sha | None]]:
    """Each path's blobs as the later phases build it."""
    blobs: dict[RepoPath, set[Sha | None]] = {}
    for content in contents:
        for path in content.changed:
            blobs.setdefault(path, set()).add(content.built[path])
    return blobs


def _verdict(
    repo: Repository,
    content: PhaseContent,
    later: Mapping[RepoPath, set[Sha | None]],
    base: Sha,
) -> MergedPhase | None:
    """The phase's merge state, None when the base holds none of it.

    A path a later phase changes again counts with the later phase's blob too: phase
    3 merged after phase 1 leaves phase 3's model on the base, which holds phase 1's.
    """
    changed = content.changed
    if not changed:
        return None  # a phase that changes nothing cannot tell
    phase = content.phase
    on_base = tuple(
        p
        for p in changed
        if content.on_base[p] == content.built[p] or content.on_base[p] in later.get(p, ())
    )
    missing = tuple(p for p in changed if p not in on_base)
    if content.tip_known and is_ancestor(repo, phase.commit, base):
        # Merged by a merge commit. A path the base has since put back as it was before
        # the phase is reverted; one the base changed again afterwards is just newer.
        gone = tuple(p for p in missing if content.on_base[p] == content.before[p])
        state = REVERTED if gone else MERGED
        return MergedPhase(
            phase.number, phase.branch, phase.commit, state, BY_ANCESTRY, on_base, gone
        )
    if not on_base:
        return None
    state = PARTIAL if missing else MERGED
    return MergedPhase(
        phase.number, phase.branch, phase.commit, state, BY_CONTENT, on_base, missing
    )


def _settled(
    contents: Sequence[PhaseContent],
    merged: set[int],
    head_tree: Mapping[RepoPath, TreeEntry],
) -> frozenset[RepoPath]:
    """The changed paths of merged phases that are the base's now.

    A path whose blob on the base is head's. Or one the base holds as its phase
    built it, when head differs only by design (head has it as the split saw it)
    and no phase still to merge ships another part of it (an expand/contract file).
    """
    remaining = {
        path
        for content in contents
        if content.phase.number not in merged
        for path in content.changed
    }
    settled = set()
    for content in contents:
        if content.phase.number not in merged:
            continue
        for path in content.changed:
            entry = head_tree.get(path)
            head = entry.blob if entry is not None else None
            base = content.on_base[path]
            as_built = base == content.built[path] and head == content.at_split[path]
            if base == head or (as_built and path not in remaining):
                settled.add(path)
    return frozenset(settled)


def merged_notes(result: SplitResult, phases: Sequence[MergedPhase]) -> SplitResult:
    """``result`` with a note for each phase of an earlier split that the base holds."""
    notes = [
        f"phase {phase.number} ({phase.branch}, built at {phase.commit[:12]}) is "
        f"{phase.state} on the base ({phase.how})"
        + (
            ": its files are left out"
            if phase.state == MERGED
            else "; `stager analyze` lists its paths"
        )
        for phase in phases
    ]
    return replace(result, notes=(*notes, *result.notes)) if notes else result


def base_owned_revisions(
    records: Sequence[SplitRecord], merged: MergedContent
) -> dict[RepoPath, Sha]:
    """The revision files the merged phases rewrote (re-chained or derived), each with the
    blob the base holds: from the merge on they are the base's, never head's again."""
    tips = {phase.commit for phase in merged.phases if phase.state == MERGED}
    return {
        rewrite.path: rewrite.new_blob
        for record in reversed(records)  # oldest first: a later merge's blob wins
        for phase in record.phases
        if phase.commit in tips
        for rewrite in phase.rewrites
        if rewrite.reason != PARTIAL_FILE  # not a revision: a later phase ships the rest
    }


def overwritten_on_base(
    owned: Mapping[RepoPath, Sha], tree: Mapping[RepoPath, TreeEntry]
) -> list[RepoPath]:
    """The base-owned revision files that ``tree`` (a phase about to be built) holds with
    another blob than the base's, head's version among them: a rebuild must not write it."""
    return sorted(path for path, blob in owned.items() if path in tree and tree[path].blob != blob)


def edited_base_revisions(
    repo: Repository,
    records: Sequence[SplitRecord],
    merged: MergedContent,
    head_tree: Mapping[RepoPath, TreeEntry],
    base_ref: str,
) -> list[Finding]:
    """SG012: each base-owned revision file that head changed after the split that built it.

    Head's version of a re-chained or derived revision differs from the base's by
    design; only a blob that differs from head's at that split too is an edit.
    """
    tips = {phase.commit for phase in merged.phases if phase.state == MERGED}
    owners: dict[RepoPath, tuple[SplitRecord, RecordedPhase]] = {
        rewrite.path: (record, phase)
        for record in reversed(records)  # oldest first, as base_owned_revisions reads them
        for phase in record.phases
        if phase.commit in tips
        for rewrite in phase.rewrites
    }
    edited = overwritten_on_base(base_owned_revisions(records, merged), head_tree)
    if not edited:
        return []
    at_split = object_ids(repo, [f"{owners[path][0].head}:{path}" for path in edited])
    findings = []
    for path in edited:
        record, phase = owners[path]
        entry = at_split[f"{record.head}:{path}"]
        if entry is not None and entry.sha == head_tree[path].blob:
            continue  # head's version as split saw it: different from the base's by design
        findings.append(
            RULES["SG012"].finding(
                path,
                None,
                f"{path} was edited on the branch after the split of {record.head[:12]}, but "
                f"phase {phase.number} ({phase.branch}) is merged and gave the base its own "
                "version of this revision: the edit reaches no database that deployed the base, "
                "and stager never writes the branch's version over the base's",
                phase=f"phase {phase.number}, {phase.branch}",
                base=base_ref,
                file=shlex.quote(path),
            )
        )
    return findings


def confirmed_by_pull(
    repo: Repository,
    phase: RecordedPhase,
    verdict: MergedPhase | None,
    merge_commit: Sha,
    base: Sha,
) -> MergedPhase | None:
    """The phase's verdict once GitHub says its pull request was merged as ``merge_commit``.

    git's verdict stands when it is sure (merged, or merged and reverted). When it is
    not (nothing, or only some paths, found on the base: the base changed them again
    since), the merge commit in the base's history settles it: merged. A merge commit
    the base lacks (not fetched yet) changes nothing.
    """
    if verdict is not None and verdict.state in (MERGED, REVERTED):
        return verdict
    try:
        in_base = bool(merge_commit) and is_ancestor(repo, merge_commit, base)
    except StagerError:  # a commit this clone never fetched
        in_base = False
    if not in_base:
        return verdict
    on_base = verdict.on_base if verdict is not None else ()
    return MergedPhase(
        phase.number, phase.branch, phase.commit, MERGED, BY_PULL_REQUEST, on_base, ()
    )
