"""The record of what ``stager split`` built, under ``refs/stager/record/<feature branch>``.

A commit whose tree holds one file, ``record.json``: the versioned JSON form
of ``SplitRecord``. It is written in the same ``update-ref`` transaction as
the phase branches, its parent is the branch's previous record (the history of
its splits), ``split --undo`` pops it, and ``open-pr`` pushes it with the
branches, so that any clone reads what was built instead of planning again.

The JSON keys are the dataclasses' field names. A field added later with a
default reads older records of the same version; an unknown version stops.
"""

from __future__ import annotations

import json
import shlex
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from stager.branches.split_types import KeptCommit, Layout, Rewrite, Strategy
from stager.errors import StagerError
from stager.findings import Finding
from stager.git.history import reachable
from stager.git.ref_files import broken_ref
from stager.git.refs import list_refs, read_refs
from stager.git.repository import Repository
from stager.git.trees import TreeModel
from stager.git.write import Writer
from stager.plain_data import from_plain, json_dumps, to_plain
from stager.plan.assessment import ChainLink, PhaseChain, plan_chains
from stager.plan.phase import Phase
from stager.types import RepoPath, Revision, Sha
from stager.wording import count

RECORD_PREFIX = "refs/stager/record/"
RECORD_FILE = RepoPath("record.json")
RECORD_VERSION = 1
DETACHED = "detached"  # the record name of a head that is no branch
_REPLACED_BY_THE_SPLIT = "SG008"  # "re-chain onto the base's head": what --onto does


@dataclass(frozen=True)
class RecordedMigration:
    """A revision the phase adds, with its parents as the phase's file writes them."""

    revision: Revision
    path: RepoPath
    parents: tuple[Revision, ...]  # down_revision as written in the phase
    original_parents: tuple[Revision, ...]  # down_revision on the feature branch

    @property
    def rechained(self) -> bool:
        return self.parents != self.original_parents


@dataclass(frozen=True)
class RecordedChain:
    """A phase's Alembic part as built: the heads it starts from and ends at, its revisions."""

    start_heads: tuple[Revision, ...]  # `alembic downgrade` of the phase goes back here
    end_heads: tuple[Revision, ...]  # `alembic current` prints these once it is deployed
    migrations: tuple[RecordedMigration, ...]  # upgrade order


@dataclass(frozen=True)
class RecordedPhase:
    number: int
    name: str
    title: str
    branch: str  # short name, e.g. stage/1-foundation
    commit: Sha  # the branch's tip as built
    parent: Sha  # what the phase starts from
    strategy: Strategy  # cherry-pick or patch: what was used
    files: tuple[RepoPath, ...]
    chain: RecordedChain
    rewrites: tuple[Rewrite, ...]  # every way a file differs from head's
    unchanged: bool = False  # the branch already was this phase: the run kept its commit
    # commits stager did not write (a reviewer's), replayed on the phase by sync
    kept: tuple[KeptCommit, ...] = ()


@dataclass(frozen=True)
class MovedRef:
    """A ref the run changed, for ``split --undo``."""

    ref: str
    old: Sha | None  # None: the run created it
    new: Sha
    backup: str | None  # refs/stager/backup/... holding ``old``


@dataclass(frozen=True)
class PushedTip:
    """A phase commit stager pushed: a database (a preview, a reviewer's) may have run it."""

    branch: str
    commit: Sha
    remote: str


@dataclass(frozen=True)
class SplitRecord:
    """What one ``stager split`` run built."""

    time: str
    head_ref: str  # the feature branch (full name), or the ref the run was given
    head: Sha
    base_ref: str
    base: Sha
    merge_base: Sha
    start: Sha  # where phase 1 starts: the merge base, or --onto REF's tip
    onto: str | None  # --onto REF as given
    layout: Layout
    strategy: Strategy  # as asked (auto, cherry-pick, patch)
    phases: tuple[RecordedPhase, ...]
    moved: tuple[MovedRef, ...]
    # The phase commits open-pr and sync pushed (older records have none).
    pushed: tuple[PushedTip, ...] = ()

    def to_json(self) -> dict[str, Any]:
        data = to_plain(self)
        assert isinstance(data, dict)
        return {"schema_version": RECORD_VERSION, **data}

    @classmethod
    def from_json(cls, data: object, where: str = "the record") -> SplitRecord:
        """The record from its JSON form; StagerError for another version or a damaged one."""
        version = data.get("schema_version") if isinstance(data, dict) else None
        if version != RECORD_VERSION:
            raise StagerError(
                f"{where} has schema version {version!r}; this stager reads version "
                f"{RECORD_VERSION}",
                "upgrade stager (`pip install -U stager`), or split again with this one "
                "(`stager split --all --force`)",
            )
        try:
            record = from_plain(cls, data)
        except ValueError as error:
            raise StagerError(
                f"{where} is damaged: {error}",
                "split again (`stager split --all --force`) to write a new one",
            ) from None
        assert isinstance(record, SplitRecord)
        return record


# -- where records live ----------------------------------------------------------------


def record_name(repo: Repository, head_ref: str) -> str:
    """The feature branch a record is kept under: ``feature/x`` for ``feature/x``,
    ``origin/feature/x`` or a checked-out ``feature/x``; ``detached`` for any other head."""
    full = repo.symbolic_full_name(head_ref) or ""
    if full.startswith("refs/heads/"):
        return full.removeprefix("refs/heads/")
    if full.startswith("refs/remotes/"):
        return full.removeprefix("refs/remotes/").partition("/")[2] or DETACHED
    return DETACHED


def timestamp() -> str:
    """Now, as a record's ``time`` and a backup's name write it (UTC)."""
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())


def record_ref(name: str) -> str:
    return f"{RECORD_PREFIX}{name}"


@dataclass(frozen=True)
class StoredRecord:
    """A record as a repository keeps it."""

    ref: str  # refs/stager/record/<branch>
    commit: Sha
    record: SplitRecord


def read_record(repo: Repository, name: str) -> StoredRecord | None:
    """The record of branch ``name`` (its latest split); None when there is none.

    A record that cannot be read is an error saying where it is and how to
    remove it: read as "no record", it would let ``--undo`` say there is
    nothing to undo.
    """
    ref = record_ref(name)
    commit = read_refs(repo, [ref]).get(ref)
    if commit is None:
        broken = broken_ref(repo, ref)
        if broken is not None:
            raise StagerError(
                f"the stager record {ref} is damaged: its file {broken} holds no object id",
                f"remove that file (`rm {shlex.quote(str(broken))}`: git cannot delete a broken "
                "ref), then run the command again",
            )
        return None
    remove = f"remove it (`git update-ref -d {ref}`)"
    data = repo.read_path(commit, RECORD_FILE)
    if data is None:
        missing = not repo.read_blobs([commit], missing_ok=True)
        raise StagerError(
            f"the stager record {ref} names {commit[:12]}, "
            + (
                "an object this repository does not have"
                if missing
                else f"which has no {RECORD_FILE}: it is not a stager record"
            ),
            f"{remove} and split again",
        )
    try:
        parsed = json.loads(data)
    except ValueError as error:
        raise StagerError(
            f"the stager record {ref} is damaged: its {RECORD_FILE} is not JSON ({error})",
            f"{remove} and split again",
        ) from None
    try:
        record = SplitRecord.from_json(parsed, f"the stager record {ref}")
    except StagerError as error:
        raise StagerError(error.problem, f"{error.fix}; or {remove}") from None
    return StoredRecord(ref, commit, record)


def recorded_branches(repo: Repository) -> frozenset[str]:
    """Every phase branch (full ref name) that a stager record of this repository lists.

    These are the branches stager wrote: the records of every feature branch
    count, with the earlier splits each one keeps. They are read leniently: a
    record of another version still names its branches, one that is not JSON
    names none.
    """
    commits = reachable(repo, list(list_refs(repo, RECORD_PREFIX).values()))
    names = [Sha(f"{commit}:{RECORD_FILE}") for commit in commits]
    contents = repo.read_blobs(names, missing_ok=True)
    branches: set[str] = set()
    for data in contents.values():
        try:
            parsed = json.loads(data)
        except ValueError:
            continue
        phases = parsed.get("phases") if isinstance(parsed, dict) else None
        for phase in phases if isinstance(phases, list) else []:
            branch = phase.get("branch") if isinstance(phase, dict) else None
            if isinstance(branch, str):
                branches.add(f"refs/heads/{branch}")
    return frozenset(branches)


def previous_record(repo: Repository, commit: Sha) -> Sha | None:
    """The record commit before ``commit`` (its parent), None for the branch's first one."""
    parent = f"{commit}^"
    return repo.resolve(parent) if repo.ref_exists(parent) else None


def write_record(writer: Writer, record: SplitRecord, previous: Sha | None) -> Sha:
    """The record's commit (on ``previous``), written by ``writer`` with the phases' objects."""
    # A path that is not UTF-8 holds surrogates: json_dumps escapes them as JSON does.
    text = json_dumps(record.to_json(), indent=2) + "\n"
    blob = writer.add_object("blob", text.encode("utf-8"))
    tree = TreeModel(writer).build(writer.empty_tree, {RECORD_FILE: ("100644", blob)})
    branch = record.head_ref.removeprefix("refs/heads/")
    message = f"stager split of {branch}: {count(len(record.phases), 'phase')}\n"
    return writer.commit(tree, [previous] if previous else [], message)


def noted_pushes(
    repo: Repository, stored: StoredRecord, remote: str, tips: Sequence[tuple[str, Sha]]
) -> Sha | None:
    """A record commit saying what ``stored`` says, and that ``tips`` (branch, commit) are
    pushed to ``remote``; None when it says so already.

    It takes the place of ``stored`` (same parent), so ``split --undo`` still pops the
    split; the caller pushes it with the branches and moves the ref once they are pushed.
    """
    known = set(stored.record.pushed)
    new = [PushedTip(branch, sha, remote) for branch, sha in tips]
    added = [tip for tip in dict.fromkeys(new) if tip not in known]
    if not added:
        return None
    record = replace(stored.record, pushed=(*stored.record.pushed, *added))
    with Writer(repo) as writer:
        commit = write_record(writer, record, previous_record(repo, stored.commit))
        writer.migrate()
    return commit


def pushed_commits(records: Sequence[SplitRecord]) -> frozenset[Sha]:
    """Every phase commit the records say stager pushed."""
    return frozenset(tip.commit for record in records for tip in record.pushed)


# -- what readers ask ------------------------------------------------------------------


def built_record(
    repo: Repository, head_ref: str, head: Sha, tips: Mapping[str, Sha] | None = None
) -> StoredRecord | None:
    """The record of ``head_ref`` when it describes ``head`` (and ``tips``: branch → its tip).

    None when there is no record, or the branch or a phase branch moved since:
    the record then describes something else, and readers fall back.
    """
    found = read_record(repo, record_name(repo, head_ref))
    if found is None or found.record.head != head:
        return None
    if tips is not None and any(
        tips.get(phase.branch, phase.commit) != phase.commit for phase in found.record.phases
    ):
        return None
    return found


def phase_chains(record: SplitRecord) -> dict[int, PhaseChain]:
    """Each built phase's chain, as the phase assessment reads it: the heads it starts from
    and its revisions with their parents as written (what its rollback commands must name)."""
    return {
        phase.number: PhaseChain(
            phase.chain.start_heads,
            tuple(
                ChainLink(m.revision, m.parents, m.original_parents, m.path)
                for m in phase.chain.migrations
            ),
        )
        for phase in record.phases
    }


def built_chains(
    stored: StoredRecord | None, phases: Sequence[Phase], base_heads: Sequence[Revision]
) -> dict[int, PhaseChain]:
    """Each phase's chain: as split built it, where the record holds that phase with the same
    files; else as the plan re-chains it from the merge base's heads."""
    return recorded_chains(stored.record if stored else None, phases, base_heads)


def recorded_chains(
    record: SplitRecord | None, phases: Sequence[Phase], base_heads: Sequence[Revision]
) -> dict[int, PhaseChain]:
    """:func:`built_chains` of a record already read (None: the plan's chains)."""
    chains = plan_chains(phases, base_heads)
    if record is None:
        return chains
    planned = {phase.number: set(phase.paths) for phase in phases}
    built = phase_chains(record)
    for phase in record.phases:
        if planned.get(phase.number) == set(phase.files):
            chains[phase.number] = built[phase.number]
    return chains


def open_findings(
    record: SplitRecord | None, findings: Sequence[Finding], base: Sha
) -> list[Finding]:
    """``findings`` without those the built branches already settle.

    SG008 asks to re-chain the branch's first revision onto the base's new
    head: a split ``--onto`` the base's tip ``base`` (the Alembic check of every
    phase passed) whose phase re-chained that revision has done exactly that.
    """
    if record is None or record.start != base or record.onto is None:
        return list(findings)
    rechained = {
        migration.path
        for phase in record.phases
        for migration in phase.chain.migrations
        if migration.rechained
    }
    return [
        finding
        for finding in findings
        if not (finding.rule == _REPLACED_BY_THE_SPLIT and finding.path in rechained)
    ]
