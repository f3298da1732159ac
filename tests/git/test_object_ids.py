"""One ``cat-file --batch-check`` for many names: blobs at paths, commits, absent ones."""

from __future__ import annotations

from stager.git.object_ids import object_ids
from stager.git.repository import Repository
from tests.gitrepo import GitRepo


def test_each_name_gets_its_object_or_none(repo: GitRepo) -> None:
    odd = "odd\nname with spaces.txt"
    head = repo.commit("files", {"a.txt": "a\n", odd: "odd\n", "dir/b.txt": "b\n"})
    found = object_ids(
        Repository(repo.path),
        [f"{head}:a.txt", f"{head}:{odd}", f"{head}:gone.txt", f"{head}:dir", head, "f" * 40],
    )
    kinds = {name: found_id.kind if found_id else None for name, found_id in found.items()}
    assert kinds == {
        f"{head}:a.txt": "blob",
        f"{head}:{odd}": "blob",
        f"{head}:gone.txt": None,
        f"{head}:dir": "tree",
        head: "commit",
        "f" * 40: None,
    }
    a_blob = found[f"{head}:a.txt"]
    assert a_blob is not None and a_blob.sha == repo.git("rev-parse", f"{head}:a.txt")


def test_no_names_runs_nothing(repo: GitRepo) -> None:
    repo.commit("one", {"a": "a\n"})
    assert object_ids(Repository(repo.path), []) == {}
