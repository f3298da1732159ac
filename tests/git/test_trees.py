"""Trees rebuilt from a diff equal the trees git lists (stager.git.repository.tree_before/after)."""

from __future__ import annotations

from pathlib import Path

from stager.git.repository import Repository, tree_after, tree_before
from stager.types import RepoPath, Sha
from tests.gitrepo import GitRepo


def test_trees_rebuilt_from_the_diff_match_git(repo: GitRepo, tmp_path: Path) -> None:
    body = "".join(f"line {n} of a file long enough to be detected as renamed\n" for n in range(40))
    old = repo.commit(
        "old",
        {
            "keep.txt": "same\n",
            "modify.py": "x = 1\n",
            "delete.py": "gone = True\n",
            "rename/from.py": body,
            "copy_source.py": body + "copy\n",
            "typechange": "target\n",
            "binary.bin": bytes(range(256)),
            "script.sh": "echo hi\n",
        },
    )
    repo.write("modify.py", "x = 2\n")
    repo.remove("delete.py")
    (repo.path / "renamed").mkdir()
    repo.git("mv", "rename/from.py", "renamed/to.py")
    repo.write("copied.py", body + "copy\n")
    (repo.path / "typechange").unlink()
    (repo.path / "typechange").symlink_to("keep.txt")
    repo.write("binary.bin", bytes(reversed(range(256))))
    (repo.path / "script.sh").chmod(0o755)
    repo.write("added/new file with spaces ü.py", "new = 1\n")
    new = repo.commit("new")

    git = Repository(repo.path)
    for find_copies in (False, True):
        changes = git.changed_files(Sha(old), Sha(new), find_copies=find_copies)
        assert tree_before(git.list_tree(Sha(new)), changes) == git.list_tree(Sha(old))
        assert tree_after(git.list_tree(Sha(old)), changes) == git.list_tree(Sha(new))
    statuses = {c.status.value for c in git.changed_files(Sha(old), Sha(new), find_copies=True)}
    assert statuses >= {"A", "M", "D", "R", "C", "T"}


def test_submodule_entries_round_trip(
    repo: GitRepo, tmp_path: Path, git_env: dict[str, str]
) -> None:
    library = GitRepo.init(tmp_path / "library", git_env)
    first = library.commit("v1", {"lib.py": "v = 1\n"})
    old = repo.commit("base", {"app.py": "a = 1\n"})
    repo.git("-c", "protocol.file.allow=always", "submodule", "add", "-q", str(library.path), "lib")
    new = repo.commit("add submodule")
    git = Repository(repo.path)
    changes = git.changed_files(Sha(old), Sha(new))
    after = git.list_tree(Sha(new))
    lib = after[RepoPath("lib")]
    assert lib.object_type == "commit" and lib.blob == first
    assert tree_before(after, changes) == git.list_tree(Sha(old))
    assert tree_after(git.list_tree(Sha(old)), changes) == after
