"""stager.git.history: first-parent history with blobs, diffs, ancestry."""

from __future__ import annotations

from stager.git.history import diff_entries, first_parent_history, is_ancestor
from stager.git.repository import Repository
from stager.types import RepoPath, Sha
from tests.gitrepo import GitRepo


def test_first_parent_history_with_a_merge(repo: GitRepo) -> None:
    base = Sha(repo.commit("base", {"a": "a\n", "b": "b\n"}))
    repo.git("checkout", "-q", "-b", "side")
    repo.commit("side", {"c": "c\n"})
    repo.checkout("main")
    repo.commit("first line\n\nbody", {"a": "a2\n"})
    repo.remove("b")
    repo.commit("delete b", {})
    repo.git("merge", "-q", "--no-ff", "--no-edit", "side")
    history = first_parent_history(Repository(repo.path), base, Sha(repo.head()))
    assert [commit.subject for commit in history] == [
        "first line",
        "delete b",
        "Merge branch 'side'",
    ]
    assert history[0].message == "first line\n\nbody\n"
    assert [(c.path, c.old_mode, c.new_mode) for c in history[1].changes] == [
        ("b", "100644", "000000")
    ]
    merge = history[2]
    assert merge.is_merge and [c.path for c in merge.changes] == ["c"]
    assert merge.changes[0].added and not merge.changes[0].deleted
    assert history[0].author_name == "Ada Author" and history[0].author_date.endswith("+0000")


def test_diff_entries_and_ancestry(repo: GitRepo) -> None:
    one = Sha(repo.commit("one", {"a": "1\n", "b": "b\n"}))
    repo.git("mv", "b", "c")
    two = Sha(repo.commit("two", {"a": "2\n"}))
    found = Repository(repo.path)
    entries = diff_entries(found, one, two)
    assert set(entries) == {"a", "b", "c"}  # a rename is a deletion and an addition
    assert entries[RepoPath("b")][1] is None and entries[RepoPath("c")][0] is None
    assert is_ancestor(found, one, two) and not is_ancestor(found, two, one)
