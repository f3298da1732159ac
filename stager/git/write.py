"""Plumbing that writes objects: blobs, trees, commits, a temporary index, merges.

Everything ``stager split`` creates goes through here, and nothing here touches
the user's work tree, index, HEAD or stash:

* git writes every object: queued objects go to ``git hash-object -w`` (one
  process per kind and flush; git hashes and checks each one again, and its
  names must be the ones stager computed); a signed commit goes through
  ``git commit-tree -S``. No hook runs (:mod:`stager.git.process`);
* ``git apply --cached`` works on an index file of stager's own
  (``GIT_INDEX_FILE`` points at a file in the quarantine's folder);
* objects are written into a quarantine (:mod:`stager.git.quarantine`: a
  folder inside the repository's object store, set as ``GIT_OBJECT_DIRECTORY``
  with the repository's own objects as an alternate; git itself refuses ref
  updates while it is set): a dry run, or a run that stops on a conflict or a
  refused check, throws it away and leaves no object behind; a run that goes
  on ``migrate``s them, just before its refs move: ``git pack-objects`` packs
  the quarantine and ``git index-pack`` stores that pack in the repository, as
  a push does. git moves the objects, and fsyncs the pack as ``core.fsync``
  asks (by default it does) before the ref transaction starts: a power loss
  cannot leave a ref naming an object that never reached the disk. A writer
  on a view of the repository that reads another quarantine too
  (``Repository.with_objects``: the merge revision ``sync`` starts the phases
  from) stores that quarantine's objects in the same pack.

Refs move in :mod:`stager.git.refs`; the history is read in
:mod:`stager.git.history`. Every call runs through
:class:`stager.git.repository.Repository`, with its safe environment; ``Writer.env`` adds
the quarantine's variables.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from stager.errors import GitError, StagerError
from stager.git.diff import SUBMODULE_MODE, SYMLINK_MODE
from stager.git.objects import parse_batch
from stager.git.process import NO_RENAME_FLAGS, NO_USER_ATTRIBUTES
from stager.git.quarantine import Quarantine, remove_stale
from stager.git.repository import Repository, alternates
from stager.types import RepoPath, Sha

EMPTY_TREE = {
    "sha1": Sha("4b825dc642cb6eb9a060e54bf8d69288fbee4904"),
    "sha256": Sha("6ef19b41225c5369f1c104d45d8d85efa9b057b53b14b4b9b939dd74decc5321"),
}
TREE_MODE = "040000"
SUBMODULE_OR_LINK = frozenset({SUBMODULE_MODE, SYMLINK_MODE})
"""Modes whose "content" is not a file's: a submodule commit, a symlink target."""


def object_type(mode: str) -> str:
    """``tree``, ``commit`` (a submodule) or ``blob`` for a git file mode."""
    if mode in (TREE_MODE, "40000"):
        return "tree"
    return "commit" if mode == SUBMODULE_MODE else "blob"


# ---------------------------------------------------------------------------
# reading what a write needs


_CONFIG_KEYS = re.compile(
    r"^(user|author|committer)\.(name|email)$|^commit\.gpgsign$|^user\.signingkey$"
)


def read_config(repo: Repository) -> dict[str, str]:
    """The identity and signing settings of the repository's config (keys lower-case)."""
    code, out, err = repo.call(
        ["config", "-z", "--get-regexp", r"^(user|author|committer|commit)\."]
    )
    if code not in (0, 1):  # 1: no such key
        raise GitError(
            f"`git config` failed: {err.decode('utf-8', 'replace').strip()}",
            "fix the git configuration files (`git config --list --show-origin`)",
        )
    found: dict[str, str] = {}
    for record in out.decode("utf-8", "surrogateescape").split("\0"):
        key, _, value = record.partition("\n")
        key = key.lower()
        if _CONFIG_KEYS.match(key):
            found[key] = value
    return found


def identity_problem(config: Mapping[str, str], environ: Mapping[str, str]) -> str | None:
    """What is missing for git to name the author and committer of new commits, or None.

    git would guess an address from the host name; branches meant for pull
    requests must not carry ``root@localhost``, so a guess counts as missing.
    """
    missing: list[str] = []
    for role in ("author", "committer"):
        name = environ.get(f"GIT_{role.upper()}_NAME") or config.get(f"{role}.name")
        email = environ.get(f"GIT_{role.upper()}_EMAIL") or config.get(f"{role}.email")
        if not (name or config.get("user.name")):
            missing.append("user.name")
        if not (email or config.get("user.email") or environ.get("EMAIL")):
            missing.append("user.email")
    unique = list(dict.fromkeys(missing))
    return " and ".join(unique) if unique else None


def require_identity(repo: Repository) -> None:
    """Raise StagerError when commits would have no configured author or committer."""
    missing = identity_problem(read_config(repo), os.environ)
    if missing:
        raise StagerError(
            f"git has no {missing} configured, which the phase commits need",
            'set them with `git config --global user.name "Your Name"` and '
            "`git config --global user.email you@example.com`",
        )


def signs_by_default(repo: Repository) -> bool:
    """``commit.gpgsign`` (``git commit-tree`` itself ignores it, so stager reads it)."""
    value = read_config(repo).get("commit.gpgsign")
    # git's boolean spelling: true/yes/on/1 (empty counts as true, as git says)
    return value is not None and value.strip().lower() in ("", "true", "yes", "on", "1")


def set_config(repo: Repository, key: str, value: str) -> None:
    """``git config key value`` in the repository's own config file."""
    repo.run(["config", "--local", "--end-of-options", key, value])


# ---------------------------------------------------------------------------
# writing objects


@dataclass(frozen=True)
class Author:
    """Who wrote a commit, and when (git's raw or ISO date); None fields: git's default."""

    name: str
    email: str
    date: str | None = None


@dataclass(frozen=True)
class MergeConflict:
    """One path ``git merge-tree`` could not merge, with git's messages about it."""

    path: RepoPath
    messages: tuple[str, ...]


@dataclass(frozen=True)
class MergeOutcome:
    tree: Sha
    conflicts: tuple[MergeConflict, ...]


def _parse_merge_tree(data: bytes) -> MergeOutcome:
    """``git merge-tree --write-tree --messages --name-only -z``: tree, conflicts, messages."""
    tokens = data.split(b"\0")
    tree = Sha(tokens[0].decode("ascii").strip())
    i = 1
    paths: list[RepoPath] = []
    while i < len(tokens) and tokens[i]:
        paths.append(RepoPath(tokens[i].decode("utf-8", "surrogateescape")))
        i += 1
    i += 1  # the empty record that ends the conflicted paths
    messages: dict[RepoPath, list[str]] = {}
    # Each message: <count of paths> NUL <path>... NUL <type> NUL <text> NUL
    while i < len(tokens) and tokens[i].isdigit():
        count = int(tokens[i])
        named = [
            RepoPath(raw.decode("utf-8", "surrogateescape"))
            for raw in tokens[i + 1 : i + 1 + count]
        ]
        kind = tokens[i + 1 + count].decode("utf-8", "replace")
        text = tokens[i + 2 + count].decode("utf-8", "replace").strip()
        if kind.startswith("CONFLICT"):
            for path in named:
                messages.setdefault(path, []).append(text)
            if named and not set(named) & set(paths):
                # git calls a rename/add collision clean when the add/add of the rename's
                # conflicted content merge passes; the tree then has the inner conflict
                # markers, and only this message (about its first path) says so.
                paths.append(named[0])
        i += 3 + count
    conflicts = tuple(
        MergeConflict(path, tuple(messages.get(path, ()))) for path in dict.fromkeys(paths)
    )
    return MergeOutcome(tree, conflicts)


class Writer:
    """Has git write objects into a quarantine; ``migrate`` has git copy them into the repository.

    Use as a context manager: the quarantine (with whatever was not migrated)
    and the temporary index files are removed on exit. A ``dry_run`` writer
    never migrates.
    """

    def __init__(self, repo: Repository, *, dry_run: bool = False) -> None:
        self.repo = repo
        self.dry_run = dry_run
        # sha1 or sha256: the hash of the repository's object names; where they are stored
        args = ["rev-parse", "--show-object-format", "--path-format=absolute", "--git-path"]
        answer = repo.run([*args, "objects"]).decode("utf-8", "surrogateescape").splitlines()
        self.format = answer[0].strip() or "sha1"
        objects = Path(answer[1])
        remove_stale(objects)  # the quarantines of runs killed by SIGKILL
        self._quarantine = Quarantine(objects, elsewhere_ok=dry_run)
        self._folder = self._quarantine.folder
        self.env: dict[str, str] = {
            "GIT_OBJECT_DIRECTORY": str(self._quarantine.objects),
            # the repository's objects, and those of a view's quarantines (its added objects)
            "GIT_ALTERNATE_OBJECT_DIRECTORIES": alternates((objects, *repo.added_objects)),
            # git refuses every ref update while this is set: no ref can name a
            # quarantined object
            "GIT_QUARANTINE_PATH": str(self._quarantine.objects),
        }
        self._files = 0
        self._queued: dict[str, dict[Sha, bytes]] = {"blob": {}, "tree": {}, "commit": {}}
        self._written: set[Sha] = set()
        self._idents: dict[str, str] = {}

    def __enter__(self) -> Writer:
        return self

    def __exit__(self, *_exc: object) -> None:
        self._quarantine.close()

    @property
    def objects(self) -> Path:
        """The quarantine's object folder: :meth:`Repository.with_objects` reads it."""
        return self._quarantine.objects

    def migrate(self) -> None:
        """Store every object written so far in the repository, as one pack (not for a dry run).

        git lists the quarantine (without the repository's objects), packs what
        it lists and indexes the pack into the repository's own object folder.
        The objects a view of the repository added (``Repository.with_objects``:
        another quarantine, whose objects this run's stand on) are listed and
        stored with them: they reach the repository only with the refs that need them.
        """
        assert not self.dry_run, "a dry run's objects are never migrated"
        self.flush()
        listed = {
            "GIT_OBJECT_DIRECTORY": str(self._quarantine.objects),
            "GIT_ALTERNATE_OBJECT_DIRECTORIES": alternates(self.repo.added_objects),
        }
        names = self.repo.run(
            ["cat-file", "--batch-all-objects", "--batch-check=%(objectname)"], env=listed
        )
        if names:
            pack = self.run(["pack-objects", "--stdout", "-q", "--window=0"], stdin=names)
            self.repo.run(["index-pack", "--stdin"], stdin=pack)

    @property
    def empty_tree(self) -> Sha:
        return EMPTY_TREE[self.format]

    def run(
        self,
        args: Sequence[str],
        *,
        stdin: bytes | None = None,
        env: Mapping[str, str] | None = None,
    ) -> bytes:
        """``git ARGS`` seeing the objects written so far (the quarantine's too)."""
        return self.repo.run(args, stdin=stdin, env={**self.env, **(env or {})})

    def call(
        self,
        args: Sequence[str],
        *,
        stdin: bytes | None = None,
        env: Mapping[str, str] | None = None,
    ) -> tuple[int, bytes, bytes]:
        return self.repo.call(args, stdin=stdin, env={**self.env, **(env or {})})

    def _scratch(self, suffix: str) -> Path:
        self._files += 1
        return self._folder / f"{self._files}{suffix}"

    def tree_of(self, commit: Sha) -> Sha:
        """The tree of ``commit`` (one the run wrote, or any other)."""
        self.flush()
        out = self.run(["rev-parse", "--verify", "--end-of-options", f"{commit}^{{tree}}"])
        return Sha(out.decode("ascii").strip())

    def read_blobs(self, blobs: Iterable[Sha]) -> dict[Sha, bytes]:
        """Contents of objects (queued or quarantined too), in one ``cat-file --batch`` call."""
        self.flush()
        names = list(dict.fromkeys(blobs))
        if not names:
            return {}
        request = "".join(f"{name}\n" for name in names).encode("ascii")
        return parse_batch(names, False, self.run(["cat-file", "--batch"], stdin=request))

    def read_blob(self, blob: Sha) -> bytes:
        return self.read_blobs([blob])[blob]

    # -- objects ------------------------------------------------------------------

    def add_object(self, kind: str, body: bytes) -> Sha:
        """Queue an object for the next ``flush`` and return its name, computed as git does."""
        header = b"%s %d\0" % (kind.encode(), len(body))
        sha = Sha(hashlib.new(self.format, header + body).hexdigest())
        if sha not in self._written:
            self._queued[kind][sha] = body
        return sha

    def queued(self, kind: str, sha: Sha) -> bytes | None:
        """The body of an object queued for the next ``flush``; None once git has it."""
        return self._queued[kind].get(sha)

    def flush(self) -> None:
        """git writes every queued object it does not have yet: one ``hash-object -w`` per kind.

        Most trees a split builds exist already (the phases converge on the
        branch's own trees): one ``cat-file --batch-check`` finds them, so git
        writes only the new ones. git hashes each object again and checks its
        format: the names it gives must be the ones stager computed.
        """
        names = [sha for queued in self._queued.values() for sha in queued]
        if not names:
            return
        request = "".join(f"{sha}\n" for sha in names).encode("ascii")
        # a partial clone must not fetch what is simply new (git 2.44 reads this)
        answer = self.run(
            ["cat-file", "--batch-check=%(objectname)"],
            stdin=request,
            env={"GIT_NO_LAZY_FETCH": "1"},
        )
        missing = {line.split(" ")[0] for line in answer.decode().splitlines() if " " in line}
        for kind, queued in self._queued.items():
            new = {sha: body for sha, body in queued.items() if sha in missing}
            self._written.update(queued)
            queued.clear()
            if not new:
                continue
            paths = []  # hash-object reads files: one scratch file each
            for body in new.values():
                paths.append(self._scratch(f".{kind}"))
                paths[-1].write_bytes(body)
            args = ["hash-object", "-w", "-t", kind, "--no-filters", "--stdin-paths"]
            written = self.run(args, stdin=b"".join(bytes(path) + b"\n" for path in paths))
            for path in paths:
                path.unlink()
            if written.decode().split() != list(new):  # a bug: exit 3 with a log
                raise RuntimeError(f"git named {kind} objects differently from stager")

    def ident(self, role: str) -> str:
        """``Name <email> <epoch> <zone>`` of the user as ``role`` (AUTHOR or COMMITTER), now."""
        if role not in self._idents:
            out = self.run(["var", f"GIT_{role}_IDENT"])
            self._idents[role] = out.decode("utf-8", "surrogateescape").strip()
        return self._idents[role]

    def commit(
        self,
        tree: Sha,
        parents: Sequence[Sha],
        message: str,
        *,
        author: Author | None = None,
        sign: bool = False,
    ) -> Sha:
        """A commit object, exactly as ``git commit-tree`` writes it; no hook runs.

        Unsigned commits are queued with the trees (one process for all); a
        signed one goes through ``commit-tree -S``, which asks gpg.
        """
        raw_date = author is not None and author.date and _RAW_DATE.fullmatch(author.date)
        if (sign and not self.dry_run) or (author is not None and not raw_date):
            self.flush()
            return self.commit_tree(tree, parents, message, author=author, sign=sign)
        who = (
            f"{author.name} <{author.email}> {author.date}"
            if author is not None
            else self.ident("AUTHOR")
        )
        lines = [f"tree {tree}", *(f"parent {parent}" for parent in parents)]
        lines += [f"author {who}", f"committer {self.ident('COMMITTER')}", "", message]
        return self.add_object("commit", "\n".join(lines).encode("utf-8", "surrogateescape"))

    def commit_tree(
        self,
        tree: Sha,
        parents: Sequence[Sha],
        message: str,
        *,
        author: Author | None = None,
        sign: bool = False,
    ) -> Sha:
        """``git commit-tree`` (no hook runs); ``author`` None: the user's identity, now."""
        env: dict[str, str] = {}
        if author is not None:
            env["GIT_AUTHOR_NAME"] = author.name
            env["GIT_AUTHOR_EMAIL"] = author.email
            if author.date:
                env["GIT_AUTHOR_DATE"] = _git_date(author.date)
        args = ["commit-tree", "-F", "-"]
        for parent in parents:
            args += ["-p", parent]
        if sign and not self.dry_run:  # a dry run never asks gpg for a passphrase
            args.append("-S")
        args.append(tree)
        data = message.encode("utf-8")
        if "-S" not in args:
            return Sha(self.run(args, stdin=data, env=env).decode("ascii").strip())
        code, out, err = self.call(args, stdin=data, env=env)
        if code != 0:
            lines = [line for line in err.decode("utf-8", "replace").splitlines() if line.strip()]
            reason = next((line for line in lines if line.startswith(("fatal:", "error:"))), "")
            raise GitError(
                "git could not sign a commit (commit.gpgsign or --gpg-sign); nothing was "
                "changed" + (f": {reason.strip()}" if reason else ""),
                "check that gpg works (`echo test | gpg --clearsign`) and user.signingkey, "
                "or split with --no-gpg-sign",
            )
        return Sha(out.decode("ascii").strip())

    def merge_tree(self, ours: Sha, theirs: Sha) -> MergeOutcome:
        """git's own rename-aware 3-way merge of two commits, written as a tree (no checkout)."""
        # --messages: git prints them for a merge it calls clean too (see _parse_merge_tree)
        flags = ["--write-tree", "--messages", "--name-only", "-z", "--end-of-options"]
        code, out, err = self.call(["merge-tree", *flags, ours, theirs])
        if code not in (0, 1):
            message = err.decode("utf-8", "replace").strip().splitlines()
            raise GitError(
                f"`git merge-tree --write-tree {ours[:12]} {theirs[:12]}` failed: "
                + (message[-1] if message else f"exit {code}"),
                "git 2.38 or newer is needed; run the command yourself for git's full output",
            )
        return _parse_merge_tree(out)

    def diff_binary(self, old: Sha, new: Sha, paths: Iterable[RepoPath]) -> bytes:
        """``git diff --binary --full-index`` of ``paths`` only: a patch git apply takes back."""
        base = [
            *NO_USER_ATTRIBUTES,
            "diff",
            "--binary",
            "--full-index",
            "--no-renames",
            "--unified=3",  # the user's diff.context = 0 gives patches git apply refuses
            "--inter-hunk-context=0",
            "--src-prefix=a/",
            "--dst-prefix=b/",
            *NO_RENAME_FLAGS,
            "--end-of-options",
            old,
            new,
            "--",
        ]
        patch = b""
        # Several calls when the paths would not fit on one command line.
        for chunk in _chunks(sorted(paths), limit=60_000):
            patch += self.run([*base, *chunk])
        return patch

    def write_files(self, tree: Sha, folder: Path) -> None:
        """The files of ``tree`` (one the run wrote, or any other) written into ``folder``.

        For a tree no commit holds, which ``git worktree add`` cannot check out: git
        writes them from an index of stager's own with ``folder`` as the work tree, as a
        checkout would (attributes, filters); the user's work tree is never touched.
        """
        with self.temporary_index() as index:
            index.read_tree(tree)
            self.run(
                ["checkout-index", "--all", "--force"],
                env={**index.env, "GIT_WORK_TREE": str(folder)},
            )

    @contextmanager
    def temporary_index(self) -> Iterator[TemporaryIndex]:
        """An index file of stager's own (``GIT_INDEX_FILE``): the user's index is never read."""
        path = self._scratch(".index")
        try:
            yield TemporaryIndex(self, path)
        finally:
            path.unlink(missing_ok=True)


class TemporaryIndex:
    """read-tree / apply --cached / update-index / write-tree on a private index file."""

    def __init__(self, writer: Writer, path: Path) -> None:
        self.writer = writer
        self.env = {"GIT_INDEX_FILE": str(path)}

    def read_tree(self, tree: Sha) -> None:
        self.writer.run(["read-tree", "--end-of-options", tree], env=self.env)

    def apply_cached(self, patch: bytes) -> None:
        """``git apply --cached``: git applies modes, binary data, missing final newlines."""
        if not patch:
            return
        self.writer.run(
            ["apply", "--cached", "--whitespace=nowarn", "-"],
            stdin=patch,
            env=self.env,
        )

    def update_entries(self, entries: Iterable[tuple[RepoPath, str, Sha]]) -> None:
        """Set paths to (mode, object); mode ``000000`` removes the path."""
        lines = [
            f"{mode} {sha}\t".encode() + path.encode("utf-8", "surrogateescape") + b"\0"
            for path, mode, sha in entries
        ]
        if lines:
            self.writer.run(
                ["update-index", "-z", "--index-info"], stdin=b"".join(lines), env=self.env
            )

    def write_tree(self) -> Sha:
        return Sha(self.writer.run(["write-tree"], env=self.env).decode("ascii").strip())


_RAW_DATE = re.compile(r"\d+ [+-]\d{4}")


def _git_date(date: str) -> str:
    """git's raw "<epoch> <zone>" needs an @ to be read as such in GIT_AUTHOR_DATE."""
    return "@" + date if _RAW_DATE.fullmatch(date) else date


def _chunks(paths: Sequence[str], *, limit: int) -> Iterator[list[str]]:
    chunk: list[str] = []
    size = 0
    for path in paths:
        if chunk and size + len(path) > limit:
            yield chunk
            chunk, size = [], 0
        chunk.append(path)
        size += len(path) + 1
    if chunk:
        yield chunk
