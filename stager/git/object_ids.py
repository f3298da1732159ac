"""Which object each of many names is, in ONE ``git cat-file --batch-check``: a blob at a
path of a commit (``<commit>:<path>``) or a commit, without reading any content."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from stager.errors import GitError
from stager.git.repository import Repository
from stager.types import Sha

_ABSENT = (b" missing\n", b" ambiguous\n")


@dataclass(frozen=True)
class ObjectId:
    sha: Sha
    kind: str  # blob, tree, commit, tag


def object_ids(repo: Repository, names: Iterable[str]) -> Mapping[str, ObjectId | None]:
    """Each name's object, None when it names none (an absent path, an unknown commit).

    Names go in NUL-separated, so a path may hold any character but NUL.
    """
    wanted = list(dict.fromkeys(names))
    if not wanted:
        return {}
    requests = [name.encode("utf-8", "surrogateescape") for name in wanted]
    out = repo.run(
        ["cat-file", "--batch-check=%(objectname) %(objecttype)", "-z"],
        stdin=b"".join(request + b"\0" for request in requests),
    )
    found: dict[str, ObjectId | None] = {}
    at = 0
    for name, request in zip(wanted, requests, strict=True):
        # An answer is "<id> <type>\n", or the request itself (which may hold a newline)
        # followed by " missing" or " ambiguous".
        absent = next((a for a in _ABSENT if out.startswith(request + a, at)), None)
        if absent is not None:
            found[name] = None
            at += len(request) + len(absent)
            continue
        end = out.find(b"\n", at)
        fields = out[at:end].decode("ascii", "replace").split(" ")
        if end < 0 or len(fields) != 2:
            raise GitError(
                f"`git cat-file --batch-check` gave an answer stager cannot read for {name!r}",
                "run `git fsck` to check the repository",
            )
        found[name] = ObjectId(Sha(fields[0]), fields[1])
        at = end + 1
    return found
