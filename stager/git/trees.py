"""Trees held in memory: change some paths, write only the trees that changed.

A phase commit changes a few hundred paths of a tree of tens of thousands.
Loading an index of the whole tree for every commit costs more than the rest
of the split; instead the merge base's trees are listed once (``ls-tree -r
-t``), each commit's new trees are serialized here exactly as git does and
queued on the ``Writer``, whose ``flush`` has git write those it lacks.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from stager.errors import StagerError
from stager.git.write import TREE_MODE, Writer
from stager.types import RepoPath, Sha

Node = tuple[str, Sha]
"""A tree entry: (mode, object id); mode 040000 for a tree."""

_Entry = tuple[str, Sha, bytes, bytes]
"""(mode, object id, git's sort key, the entry's bytes in a tree object)."""

_Listing = dict[bytes, _Entry]


@dataclass
class _Changes:
    """Changes under one folder: its own entries, and those of its subfolders."""

    files: dict[bytes, Node | None] = field(default_factory=dict)
    folders: dict[bytes, _Changes] = field(default_factory=dict)


def _group(changes: Mapping[RepoPath, Node | None]) -> _Changes:
    root = _Changes()
    for path, node in changes.items():
        parts = path.encode("utf-8", "surrogateescape").split(b"/")
        current = root
        for part in parts[:-1]:
            current = current.folders.setdefault(part, _Changes())
        current.files[parts[-1]] = node
    return root


def _entry(name: bytes, mode: str, sha: Sha) -> _Entry:
    raw_mode = b"40000" if mode == TREE_MODE else mode.encode()
    # git sorts a tree's entries by name, a folder as if its name ended in "/"
    order = name + b"/" if mode == TREE_MODE else name
    return (mode, sha, order, raw_mode + b" " + name + b"\0" + bytes.fromhex(sha))


class PathClash(StagerError):
    """A path would be a file and a folder at once in the tree being built.

    ``stager split`` catches it to name the phases that clash.
    """

    def __init__(self, path: str) -> None:
        super().__init__(
            f"{path} would be a file and a folder at once in the same tree",
            f"keep {path} and every path under it together",
        )
        self.path = path


def _clash(prefix: bytes, name: bytes) -> PathClash:
    return PathClash((prefix + name).decode("utf-8", "surrogateescape"))


def _order(item: tuple[bytes, _Entry]) -> bytes:
    return item[1][2]


def _parse_tree(body: bytes, digest: int) -> _Listing:
    """The listing of a tree object's ``body`` (object ids of ``digest`` bytes)."""
    listing: _Listing = {}
    start = 0
    while start < len(body):
        space = body.index(b" ", start)
        nul = body.index(b"\0", space)
        end = nul + 1 + digest
        mode = body[start:space].decode("ascii")
        name = body[space + 1 : nul]
        sha = Sha(body[nul + 1 : end].hex())
        listing[name] = _entry(name, TREE_MODE if mode == "40000" else mode, sha)
        start = end
    return listing


class TreeModel:
    """Builds trees from a base tree and path changes; ``flush`` writes them.

    The loaded trees' listings stay; of the trees built, only the most recent
    ``KEEP_BUILT`` listings do (a replay builds each commit on the last one).
    An older one is read back from the writer's queue, or from git once
    flushed: split's memory does not grow with its commits.
    """

    KEEP_BUILT = 1024

    def __init__(self, writer: Writer) -> None:
        self.writer = writer
        self._listings: dict[Sha, _Listing] = {}
        self._built: OrderedDict[Sha, _Listing] = OrderedDict()

    def _ls_tree(self, *args: str) -> Iterator[tuple[bytes, str, str, Sha]]:
        """``(path, mode, kind, object id)`` of each entry ``git ls-tree -z ARGS`` lists."""
        out = self.writer.run(["ls-tree", "-z", "--full-tree", *args])
        for record in filter(None, out.split(b"\0")):
            meta, _, path = record.partition(b"\t")
            mode, kind, sha = meta.decode("ascii").split(" ")
            yield path, mode, kind, Sha(sha)

    def load(self, root: Sha) -> None:
        """List every tree below ``root`` in one ``git ls-tree -r -t`` call."""
        folders: dict[bytes, _Listing] = {b"": {}}
        names: dict[bytes, Sha] = {b"": root}
        for path, mode, kind, sha in self._ls_tree("-r", "-t", "--end-of-options", root):
            parent, _, name = path.rpartition(b"/")
            folders.setdefault(parent, {})[name] = _entry(name, mode, sha)
            if kind == "tree":
                names[path] = sha
                folders.setdefault(path, {})
        for path, listing in folders.items():
            self._listings.setdefault(names[path], listing)

    def _listing(self, tree: Sha) -> _Listing:
        found = self._listings.get(tree)
        if found is not None:
            return found
        found = self._built.get(tree)
        if found is not None:
            self._built.move_to_end(tree)
            return found
        body = self.writer.queued("tree", tree)
        if body is not None:  # built, then let go: read back from the queue
            found = _parse_tree(body, len(bytes.fromhex(tree)))
        else:  # a tree git has, not below the loaded root: list it alone
            entries = self._ls_tree("--end-of-options", tree)
            found = {name: _entry(name, mode, sha) for name, mode, _kind, sha in entries}
        self._keep(tree, found)
        return found

    def _keep(self, tree: Sha, listing: _Listing) -> None:
        self._built[tree] = listing
        self._built.move_to_end(tree)
        if len(self._built) > self.KEEP_BUILT:
            self._built.popitem(last=False)

    def build(self, base: Sha, changes: Mapping[RepoPath, Node | None]) -> Sha:
        """The tree ``base`` with ``changes`` (None deletes a path) applied; not yet written."""
        if not changes:
            return base
        built = self._apply(base, _group(changes), b"")
        if built is None:  # every file deleted: git reads the empty tree, a commit needs it written
            return self.writer.add_object("tree", b"")
        return built

    def _apply(self, tree: Sha | None, changes: _Changes, prefix: bytes) -> Sha | None:
        """Raises ``PathClash`` rather than let a file and a folder replace each other.

        A name is one entry: a file deleted where a folder is (or a folder's
        files changed where a file is) would silently drop the other, with
        everything in it. Deletions go first, then folders, then files, so
        that one change set may replace a file by a folder or the reverse.
        """
        listing = dict(self._listing(tree)) if tree is not None else {}
        added: list[bytes] = []  # names new to the listing: the only entries out of order
        for name, node in changes.files.items():
            if node is None:
                current = listing.get(name)
                if current is not None and current[0] == TREE_MODE:
                    raise _clash(prefix, name)
                listing.pop(name, None)
        for name, sub in changes.folders.items():
            current = listing.get(name)
            if current is not None and current[0] != TREE_MODE:
                raise _clash(prefix, name)
            built = self._apply(current[1] if current else None, sub, prefix + name + b"/")
            if built is not None:
                if current is None:
                    added.append(name)
                listing[name] = _entry(name, TREE_MODE, built)
            elif current is not None:
                listing.pop(name)  # a folder left empty disappears, as in git
        for name, node in changes.files.items():
            if node is not None:
                current = listing.get(name)
                if current is not None and current[0] == TREE_MODE:
                    raise _clash(prefix, name)
                if current is None:
                    added.append(name)
                listing[name] = _entry(name, *node)
        if not listing:
            return None
        if added:
            # The listing keeps git's order but for the names added: only they are
            # sorted, and each goes in its place (a dict keeps replaced values in place).
            new = sorted(((name, listing.pop(name)) for name in added), key=_order)
            items = list(listing.items())
            if len(new) * 8 > len(items):
                items = sorted(items + new, key=_order)
            else:
                for item in reversed(new):
                    items.insert(bisect_left(items, item[1][2], key=_order), item)
            listing = dict(items)
        sha = self.writer.add_object("tree", b"".join([entry[3] for entry in listing.values()]))
        if sha not in self._listings:
            self._keep(sha, listing)
        return sha

    def flush(self) -> None:
        """Write every tree built so far (git needs them before reading them)."""
        self.writer.flush()
