"""A base with several Alembic heads, one of them a merged phase's: the next phase starts
with a merge revision of exactly those heads.

The merge revision is a commit of its own on the base's tip; the phases left are built
onto it (``split``'s ``--onto``), so their first migration is re-chained onto it and the
base plus the next phase has one head. The commit is deterministic: its id comes from
the heads, its dates and author from the base's tip, so a second sync builds the same.
It is written into a quarantine that the rebuild reads: it reaches the repository with
the phase branches, and a dry run (or a run that stops) stores nothing.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import PurePosixPath

from stager.analysis import Analysis, MergedPhase
from stager.branches.merged import MERGED
from stager.branches.record import SplitRecord
from stager.git.repository import Repository
from stager.git.trees import TreeModel
from stager.git.write import Writer
from stager.migrations.merge_revision import merge_command, merge_revision_source
from stager.types import RepoPath, Revision, Sha


@dataclass(frozen=True)
class HeadsMerge:
    """The base's heads to merge; ``commit``: the base's tip plus the merge revision."""

    heads: tuple[Revision, ...]
    revision: Revision
    path: RepoPath
    commit: Sha | None = None

    @property
    def note(self) -> str:
        joined = ", ".join(self.heads)
        if self.commit is None:
            return (
                f"the base has {len(self.heads)} Alembic heads ({joined}), one of them a merged "
                f"phase's: merge them on the base (`{merge_command(self.heads)}`)"
            )
        return (
            f"the base has {len(self.heads)} Alembic heads ({joined}), one of them a merged "
            f"phase's: the next phase starts with the merge revision {self.revision} of exactly "
            f"those heads ({self.path}, commit {self.commit[:12]})"
        )


def heads_to_merge(
    analysis: Analysis, records: Sequence[SplitRecord], merged: Collection[MergedPhase]
) -> HeadsMerge | None:
    """The base's Alembic heads when there are several and one is a merged phase's."""
    tip = analysis.migrations.tip
    if tip is None:
        return None
    heads = tuple(sorted(tip.heads()))
    tips = {phase.commit for phase in merged if phase.state == MERGED}
    own = {
        migration.revision
        for record in records
        for phase in record.phases
        if phase.commit in tips
        for migration in phase.chain.migrations
    }
    if len(heads) < 2 or not own.intersection(heads):
        return None
    revision, _source = merge_revision_source(heads)
    folder = PurePosixPath(tip.files[heads[0]].path).parent
    return HeadsMerge(heads, revision, RepoPath(f"{folder}/{revision}_merge_heads.py"))


def merge_commit(writer: Writer, base: Sha, merge: HeadsMerge) -> HeadsMerge:
    """``merge`` with its commit on ``base`` written by ``writer`` (into its quarantine: the
    rebuild reads it through ``Repository.with_objects`` and stores it with the phases)."""
    _revision, source = merge_revision_source(merge.heads)
    info = writer.repo.run(
        ["log", "-1", "--format=%an%x00%ae%x00%ad%x00%cn%x00%ce%x00%cd", "--date=raw", base]
    )
    an, ae, ad, cn, ce, cd = info.decode("utf-8", "surrogateescape").strip().split("\x00")
    blob = writer.add_object("blob", source)
    model = TreeModel(writer)
    base_tree = writer.tree_of(base)
    model.load(base_tree)
    tree = model.build(base_tree, {merge.path: ("100644", blob)})
    who = f"{an} <{ae}> {ad}"
    text = (
        f"tree {tree}\nparent {base}\nauthor {who}\ncommitter {cn} <{ce}> {cd}\n\n"
        f"Merge Alembic heads {', '.join(merge.heads)}\n\n"
        f"Written by stager sync: the base has several heads, one of them a merged "
        f"phase's.\n"
    )
    commit = writer.add_object("commit", text.encode("utf-8", "surrogateescape"))
    writer.flush()
    return HeadsMerge(merge.heads, merge.revision, merge.path, commit)


@contextmanager
def rebuild_view(
    repo: Repository, base: Sha, merge: HeadsMerge | None, *, dry_run: bool
) -> Iterator[tuple[Repository, HeadsMerge | None]]:
    """The repository as the rebuild reads it, and ``merge`` with its commit on ``base``.

    The commit waits in a quarantine that only the view reads: the rebuild's own writer
    stores it with the phase branches, so a dry run, or a run that stops, leaves no object.
    """
    with Writer(repo, dry_run=dry_run) as writer:
        if merge is not None:
            merge = merge_commit(writer, base, merge)
        yield repo.with_objects(writer.objects), merge
