"""TreeModel: the trees it computes are the trees git writes from an index."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stager.errors import StagerError
from stager.git.repository import Repository
from stager.git.trees import Node, PathClash, TreeModel
from stager.git.write import Writer
from stager.types import RepoPath, Sha
from tests.examples import examples
from tests.gitrepo import GitRepo

NAMES = [
    "a",
    "b.txt",
    "dir",
    "x y",
    'q"uote',
    "new\nline",
    "tab\there",
    "back\\slash",
    "é",
    "-dash",
]


def _hash(repo: GitRepo, content: str) -> str:
    path = repo.path.parent / "blob.tmp"
    path.write_text(content)
    return repo.git("hash-object", "-w", str(path))


def git_tree(repo: GitRepo, base: str, changes: dict[RepoPath, Node | None]) -> str:
    """The same change made the usual way: a temporary index, update-index, write-tree."""
    with tempfile.TemporaryDirectory() as folder:
        env = {**repo.env, "GIT_INDEX_FILE": str(Path(folder) / "index")}
        saved, repo.env = repo.env, env
        try:
            repo.git("read-tree", base)
            for path, node in changes.items():
                if node is None:
                    repo.git("update-index", "--force-remove", "--", path)
            lines = "".join(
                f"{node[0]} {node[1]}\t{path}\0"
                for path, node in changes.items()
                if node is not None
            )
            if lines:
                subprocess.run(
                    ["git", "update-index", "-z", "--index-info"],
                    input=lines.encode(),
                    cwd=repo.path,
                    env=env,
                    check=True,
                )
            return repo.git("write-tree")
        finally:
            repo.env = saved


@pytest.fixture
def seeded(repo: GitRepo) -> GitRepo:
    repo.commit(
        "base",
        {
            "a": "a\n",
            "dir/a": "da\n",
            "dir/sub/b.txt": "b\n",
            "dir/x y": "space\n",
            "other/é": "accent\n",
            "gone/only": "only\n",
        },
    )
    return repo


def test_changes_deletions_and_folders_left_empty(seeded: GitRepo) -> None:
    base = seeded.git("rev-parse", "HEAD^{tree}")
    new = _hash(seeded, "new\n")
    changes: dict[RepoPath, Node | None] = {
        RepoPath("dir/sub/b.txt"): ("100755", Sha(new)),
        RepoPath("gone/only"): None,  # the folder disappears
        RepoPath("fresh/deep/er/file"): ("100644", Sha(new)),
        RepoPath('q"uote'): ("100644", Sha(new)),
        RepoPath("new\nline"): ("100644", Sha(new)),
        RepoPath("link"): ("120000", Sha(new)),
    }
    with Writer(Repository(seeded.path)) as writer:
        model = TreeModel(writer)
        model.load(Sha(base))
        built = model.build(Sha(base), changes)
        model.flush()
    assert built == git_tree(seeded, base, changes)
    assert seeded.git("cat-file", "-t", built) == "tree"


def test_a_file_becomes_a_folder_and_back(seeded: GitRepo) -> None:
    base = seeded.git("rev-parse", "HEAD^{tree}")
    new = Sha(_hash(seeded, "n\n"))
    to_folder: dict[RepoPath, Node | None] = {
        RepoPath("a"): None,
        RepoPath("a/inner"): ("100644", new),
    }
    with Writer(Repository(seeded.path)) as writer:
        model = TreeModel(writer)
        model.load(Sha(base))
        folder = model.build(Sha(base), to_folder)
        back: dict[RepoPath, Node | None] = {
            RepoPath("a/inner"): None,
            RepoPath("a"): ("100644", new),
        }
        file_again = model.build(folder, back)
        model.flush()
    assert folder == git_tree(seeded, base, to_folder)
    assert file_again == git_tree(seeded, folder, back)


def test_everything_deleted_gives_the_empty_tree(seeded: GitRepo) -> None:
    base = Sha(seeded.git("rev-parse", "HEAD^{tree}"))
    paths = [p for p in seeded.git("ls-tree", "-r", "--name-only", "-z", "HEAD").split("\0") if p]
    with Writer(Repository(seeded.path)) as writer:
        model = TreeModel(writer)
        model.load(base)
        empty = model.build(base, {RepoPath(path): None for path in paths})
    assert empty == writer.empty_tree
    assert seeded.git("cat-file", "-t", empty) == "tree"


@settings(
    max_examples=examples(25),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    st.lists(
        st.tuples(
            st.lists(st.sampled_from(NAMES), min_size=1, max_size=3).map("/".join),
            st.sampled_from([None, "100644", "100755"]),
            st.sampled_from(["one\n", "two\n", ""]),
        ),
        max_size=8,
    )
)
def test_random_changes_match_git(
    seeded: GitRepo, edits: list[tuple[str, str | None, str]]
) -> None:
    base = Sha(seeded.git("rev-parse", "HEAD^{tree}"))
    changes: dict[RepoPath, Node | None] = {}
    for path, mode, content in edits:
        # A path cannot be a file and a folder at once: keep the first claim.
        clash = any(
            other.startswith(path + "/") or path.startswith(other + "/") for other in changes
        )
        if clash or path in changes:
            continue
        changes[RepoPath(path)] = None if mode is None else (mode, Sha(_hash(seeded, content)))
    # A file of the base cannot have a folder put on it while it stays: git would refuse too.
    existing = set(seeded.git("ls-tree", "-r", "--name-only", "-z", "HEAD").split("\0"))
    changes = {
        path: node
        for path, node in changes.items()
        if not any(path.startswith(f + "/") for f in existing)
        and not any(f.startswith(path + "/") for f in existing)
    }
    with Writer(Repository(seeded.path)) as writer:
        model = TreeModel(writer)
        model.load(base)
        built = model.build(base, changes)
        model.flush()
    assert built == git_tree(seeded, base, changes)


@pytest.mark.parametrize(
    ("changes", "clash"),
    [
        # a file deleted where a folder is: popping the name would drop the folder
        ({"dir": None}, "dir"),
        # files added under a path that is still a file: the file would vanish
        ({"a/inner": "100644"}, "a"),
        # a file added where a folder still is: the folder's files would vanish
        ({"dir/sub": "100644"}, "dir/sub"),
    ],
)
def test_a_file_and_a_folder_of_one_name_clash(
    seeded: GitRepo, changes: dict[str, str | None], clash: str
) -> None:
    base = Sha(seeded.git("rev-parse", "HEAD^{tree}"))
    new = Sha(_hash(seeded, "n\n"))
    with Writer(Repository(seeded.path)) as writer:
        model = TreeModel(writer)
        model.load(base)
        with pytest.raises(PathClash) as raised:
            model.build(
                base,
                {
                    RepoPath(path): None if mode is None else (mode, new)
                    for path, mode in changes.items()
                },
            )
    assert raised.value.path == clash
    assert isinstance(raised.value, StagerError)  # a clear message even if uncaught


def test_a_long_replay_keeps_few_listings_and_still_matches_git(
    seeded: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each build on the last, as split's replay does: listings let go are read back."""
    monkeypatch.setattr(TreeModel, "KEEP_BUILT", 2)
    blobs = [Sha(_hash(seeded, f"version {n}\n")) for n in range(4)]
    steps: list[dict[RepoPath, Node | None]] = []
    for n in range(24):
        step: dict[RepoPath, Node | None] = {
            RepoPath(f"dir/sub/f{n % 5}"): ("100644", blobs[n % 4]),
            RepoPath(f"other/n{n:02}"): ("100644", blobs[0]),
            RepoPath("dir/a"): ("100644", blobs[n % 3]),
        }
        if n % 4 == 3:
            step[RepoPath(f"other/n{n - 2:02}")] = None
        steps.append(step)
    with Writer(Repository(seeded.path)) as writer:
        model = TreeModel(writer)
        tree = Sha(seeded.git("rev-parse", "HEAD^{tree}"))
        model.load(tree)
        built: list[tuple[Sha, dict[RepoPath, Node | None], Sha]] = []
        for n, step in enumerate(steps):
            if n == 12:
                model.flush()  # the listings let go before are now git's to list
            new = model.build(tree, step)
            built.append((tree, step, new))
            tree = new
            assert len(model._built) <= 2
        model.flush()
    for before, step, after in built:
        assert after == git_tree(seeded, before, step)
