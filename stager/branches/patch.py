"""The patch strategy: the phase's part of merge-base..head as one ``git apply --cached``.

The seed's manual Step 3 (``git diff develop -- FILE > x.patch``, ``git
apply``), automated on a temporary index: git's own diff and apply handle
modes, binary files, CRLF and missing final newlines. Re-chained migrations
then get their rewritten blob, and files stager derived (expand, contract, partial)
their plan's source. The result must be the planned tree, computed
independently; anything else stops the split before a ref moves.
"""

from __future__ import annotations

from stager.branches.targets import PhaseTarget
from stager.errors import StagerError
from stager.git.write import Writer
from stager.types import Sha


def apply_phase(
    writer: Writer, parent_tree: Sha, target: PhaseTarget, merge_base: Sha, head: Sha
) -> Sha:
    """The tree of ``parent_tree`` + the phase's patch (+ re-chained migrations), written."""
    patch = writer.diff_binary(merge_base, head, target.paths)
    with writer.temporary_index() as index:
        index.read_tree(parent_tree)
        index.apply_cached(patch)
        rewritten = []
        for rewrite in target.rewrites:
            node = target.changes[rewrite.path]
            assert node is not None  # a rewrite writes a file
            rewritten.append((rewrite.path, node[0], rewrite.new_blob))
        index.update_entries(rewritten)
        return index.write_tree()


def check_planned(tree: Sha, planned: Sha, target: PhaseTarget) -> None:
    """git apply's tree must be the planned one: never write a phase that lost something."""
    if tree != planned:
        raise StagerError(
            f"phase {target.phase.number} ({target.phase.name}): `git apply --cached` gave "
            f"tree {tree[:12]}, not the planned {planned[:12]}; nothing was written",
            "try --strategy cherry-pick, and please report this as a stager bug",
        )
