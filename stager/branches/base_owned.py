"""What a rebuild writes for revision files the base already ran part of: the record's version.

Once a phase is merged, the revision files it wrote (re-chained, or derived: the
expand revision R_e) are the base's. A rebuild of the phases left must never
write head's version over them, and must not undo what they settled: when the
base holds R_e, the expand part of head's mixed revision R, then R ships as the
contract part the split built for it, whatever the plan of head says now (with
the code that needed R_e early merged too, the planner has no reason to split R
again and would ship it whole: R_e's column added twice).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from stager.analysis import Analysis, MergedContent, MergedPhase
from stager.branches.merged import MERGED, base_owned_revisions, branch_records
from stager.branches.record import SplitRecord, record_name
from stager.branches.split_types import CONTRACT, EXPAND, Rewrite
from stager.branches.targets import PhaseTarget
from stager.errors import StagerError
from stager.git.repository import Repository
from stager.git.write import Writer
from stager.migrations.compare import MigrationReport
from stager.migrations.parse import parse_migration
from stager.migrations.rechain_file import RelinkError, relink
from stager.types import RepoPath, Revision, Sha


@dataclass(frozen=True)
class RecordedContract:
    """A mixed revision whose expand part the base holds: its contract part as split built it."""

    path: RepoPath
    revision: Revision
    expand: Revision  # R_e, merged with phase ``merged_phase``
    merged_phase: int
    at_split: Sha | None  # head's blob when the split built it
    blob: Sha  # the contract part the split wrote


def recorded_contracts(
    records: Sequence[SplitRecord], merged: Sequence[MergedPhase]
) -> tuple[RecordedContract, ...]:
    """The contract parts to ship again: of every split whose expand revision a merged
    phase put on the base, while the contract's own phase is not merged."""
    tips = {phase.commit for phase in merged if phase.state == MERGED}
    found: dict[RepoPath, RecordedContract] = {}
    for record in records:  # newest first: the newest split's contract wins
        expands = {
            rewrite.revision: phase.number
            for phase in record.phases
            if phase.commit in tips
            for rewrite in phase.rewrites
            if rewrite.reason == EXPAND
        }
        for phase in record.phases:
            if phase.commit in tips:
                continue
            for rewrite in phase.rewrites:
                expand = next((p for p in rewrite.new_parents if p in expands), None)
                if rewrite.reason != CONTRACT or expand is None or rewrite.path in found:
                    continue
                found[rewrite.path] = RecordedContract(
                    rewrite.path,
                    rewrite.revision,
                    expand,
                    expands[expand],
                    rewrite.old_blob,
                    rewrite.new_blob,
                )
    return tuple(found.values())


def with_recorded_contracts(
    writer: Writer,
    targets: Sequence[PhaseTarget],
    contracts: Sequence[RecordedContract],
    migrations: MigrationReport,
    head_ref: str,
) -> list[PhaseTarget]:
    """``targets`` shipping each recorded contract instead of head's mixed revision.

    The contract keeps the parents the rebuild gives the revision (re-chained onto
    the base's head, which holds R_e). A phase whose plan already reduces the file
    to its contract keeps the plan's. Head changed since the split: refused, since
    nothing tells which part of the edit is the expand part the base already ran.
    """
    by_path = {contract.path: contract for contract in contracts}
    sources = writer.repo.read_blobs([contract.blob for contract in contracts])
    result = []
    for planned in targets:
        target = planned
        wanted = [
            by_path[path]
            for path in sorted(target.head)
            if path in by_path
            and not any(rw.path == path and rw.reason == CONTRACT for rw in target.rewrites)
        ]
        for contract in wanted:
            head = target.head[contract.path]
            if head is None or head[1] != contract.at_split:
                raise StagerError(
                    f"{contract.path} changed on {head_ref} since the split that built its "
                    f"expand part {contract.expand}, which the base holds (phase "
                    f"{contract.merged_phase}, merged); nothing was written",
                    f"put the change in a new revision on top of {contract.revision}, or restore "
                    f"{contract.path} as it was at the split, then run the command again",
                )
            target = _contract(writer, target, contract, sources[contract.blob], migrations)
        result.append(target)
    return result


def _contract(
    writer: Writer,
    target: PhaseTarget,
    contract: RecordedContract,
    source: bytes,
    migrations: MigrationReport,
) -> PhaseTarget:
    path = contract.path
    rechained = next((rw for rw in target.rewrites if rw.path == path), None)
    head = migrations.by_path.get(path)
    parents = rechained.new_parents if rechained else head.down_revisions if head else ()
    try:
        written = relink(source, parents).source
    except RelinkError as error:
        raise StagerError(f"cannot re-chain {path}: {error.problem}", error.fix) from None
    blob = writer.add_object("blob", written)
    node = target.head[path]
    assert node is not None  # checked by the caller: head has the file
    rewrite = Rewrite(
        path=path,
        revision=contract.revision,
        old_parents=head.down_revisions if head else (),
        new_parents=tuple(parents),
        old_blob=node[1],
        new_blob=blob,
        reason=CONTRACT,
    )
    changes: dict[RepoPath, tuple[str, Sha] | None] = dict(target.changes)
    changes[path] = (node[0], blob)
    derived = dict(target.derived)
    derived[path] = parse_migration(path, blob, written)
    rewrites = (*(rw for rw in target.rewrites if rw.path != path), rewrite)
    return replace(target, changes=changes, rewrites=rewrites, derived=derived)


def owned_overwrites(
    owned: Mapping[RepoPath, Sha], targets: Sequence[PhaseTarget], head_ref: str
) -> None:
    """Refuse a rebuild that would write another version of a revision file the base owns."""
    found = sorted(
        path
        for target in targets
        for path, node in target.changes.items()
        if path in owned and (node is None or node[1] != owned[path])
    )
    if found:
        raise StagerError(
            f"{', '.join(found)}: a merged phase put {'it' if len(found) == 1 else 'them'} on "
            f"the base, and {head_ref} changed {'it' if len(found) == 1 else 'them'} since; "
            "a revision the base ran is never rewritten; nothing was written",
            "put the change in a new revision, or restore the file as the base has it "
            f"(`git checkout <base> -- {found[0]}` on {head_ref}), then run the command again",
        )


@dataclass(frozen=True)
class BaseOwned:
    """What the merged phases of the branch's splits settled for a rebuild."""

    contracts: tuple[RecordedContract, ...] = ()
    revisions: Mapping[RepoPath, Sha] = field(default_factory=dict)  # path → the base's blob

    def apply(
        self,
        writer: Writer,
        targets: Sequence[PhaseTarget],
        migrations: MigrationReport,
        head_ref: str,
    ) -> list[PhaseTarget]:
        """``targets`` with the recorded contracts, checked against the base's revisions."""
        if not self.contracts and not self.revisions:
            return list(targets)
        rebuilt = with_recorded_contracts(writer, targets, self.contracts, migrations, head_ref)
        owned_overwrites(self.revisions, rebuilt, head_ref)
        return rebuilt


def base_owned(repo: Repository, analysis: Analysis) -> BaseOwned:
    """What the merged phases of ``analysis`` (from every record of its branch) settled."""
    merged = [phase for phase in analysis.merged_phases if phase.state == MERGED]
    if not merged:
        return BaseOwned()
    records = branch_records(repo, record_name(repo, analysis.refs.head_ref))
    return BaseOwned(
        recorded_contracts(records, merged),
        base_owned_revisions(records, MergedContent(tuple(merged))),
    )
