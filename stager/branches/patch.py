"""The patch strategy: the phase's part of merge-base..head as one ``git apply --cached``.

The seed's manual Step 3 (``git diff develop -- FILE > x.patch``, ``git
apply``), automated on a temporary index: git's own diff and apply handle
modes, binary files, CRLF and missing final newlines. Re-chained migrations
then get their rewritten blob, and files stager derived (expand, contract, partial)
their plan's source. The result must be the planned tree, computed
independently; anything else stops the split before a ref moves.
"""

from __future__ import annotations

from collections.abc import Collection

from stager.branches.targets import PhaseTarget
from stager.errors import StagerError
from stager.git.write import Writer
from stager.types import RepoPath, Sha


def apply_phase(
    writer: Writer,
    parent_tree: Sha,
    target: PhaseTarget,
    merge_base: Sha,
    head: Sha,
    derived_before: Collection[RepoPath] = (),
) -> Sha:
    """The tree of ``parent_tree`` + the phase's patch (+ re-chained migrations), written.

    ``derived_before``: paths an earlier phase wrote as stager derived them (a
    partial file): the merge base's version is not in ``parent_tree`` there, so
    no patch from it applies; the phase writes its planned blob instead.
    """
    carried = sorted(path for path in target.paths if path in derived_before)
    patched = target.paths.difference(carried)
    with writer.temporary_index() as index:
        index.read_tree(parent_tree)
        if patched:  # an empty path list would be the whole diff
            index.apply_cached(writer.diff_binary(merge_base, head, patched))
        rewritten = []
        for path in carried:
            node = target.changes[path]
            assert node is not None  # a derived file is never one head deletes
            rewritten.append((path, node[0], node[1]))
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
