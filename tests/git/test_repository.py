"""stager.git.repository against real repositories built in sealed temporary folders."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from stager.errors import GitError, GitTooOld, NoMergeBase, NotARepository, UnknownRef
from stager.git.diff import ChangedFile, Status
from stager.git.repository import (
    MIN_GIT_VERSION,
    Commit,
    Repository,
    TreeEntry,
    parse_git_version,
    require_git_version,
)
from stager.types import Sha
from tests.gitrepo import GitRepo


def by_path(changes: list[ChangedFile]) -> dict[str, ChangedFile]:
    return {change.path: change for change in changes}


def tree_of(found: Repository, commit: str) -> dict[str, TreeEntry]:
    return {str(path): entry for path, entry in found.list_tree(Sha(commit)).items()}


def lines(count: int, word: str) -> str:
    return "".join(f"{word} line {number}\n" for number in range(count))


@pytest.fixture(autouse=True)
def _no_parent_repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A folder of tmp_path must never be found inside some enclosing repository."""
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))


# -- git version ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("git version 2.39.5", (2, 39, 5)),
        ("git version 2.37.1 (Apple Git-137)", (2, 37, 1)),
        ("git version 2.45.0.windows.1", (2, 45, 0)),
        ("git version 2.44.0.rc1\n", (2, 44, 0)),
        ("git version 2.40", (2, 40, 0)),
    ],
)
def test_parse_git_version(text: str, expected: tuple[int, int, int]) -> None:
    assert parse_git_version(text) == expected


def test_parse_git_version_rejects_garbage() -> None:
    with pytest.raises(GitError, match="cannot read git's version"):
        parse_git_version("hub version unknown")


def test_git_below_minimum_names_both_versions_and_how_to_upgrade() -> None:
    with pytest.raises(GitTooOld) as caught:
        require_git_version((2, 37, 1))
    message = str(caught.value)
    assert "git 2.37.1 is too old" in message
    assert "2.38" in message
    assert "upgrade git" in message
    require_git_version((*MIN_GIT_VERSION, 0))
    require_git_version((3, 0, 0))


def test_installed_git_is_supported(repo: GitRepo) -> None:
    Repository(repo.path)  # would raise GitTooOld on this machine's git


def test_git_not_installed(repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    with pytest.raises(GitError, match="git is not installed or not on PATH"):
        Repository(repo.path)


# -- finding the repository -------------------------------------------------------


def test_not_a_repository(tmp_path: Path, git_env: dict[str, str]) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(NotARepository) as caught:
        Repository(plain)
    assert str(caught.value) == (
        f"{plain} is not inside a git repository — run stager inside your project or pass -C PATH"
    )
    with pytest.raises(NotARepository, match="does not exist"):
        Repository(tmp_path / "missing")


def test_found_from_subfolder_and_from_git_dir(repo: GitRepo) -> None:
    head = repo.commit("one", {"pkg/module.py": "x = 1\n"})
    top = repo.path.resolve()
    for start in (repo.path, repo.path / "pkg", repo.path / ".git"):
        found = Repository(start)
        assert found.git_dir == top / ".git"
        assert found.work_tree == top
        assert not found.is_bare
        assert found.resolve("HEAD") == head


def test_dirty_work_tree_and_detached_head(repo: GitRepo) -> None:
    base = repo.commit("base", {"app.py": "a\n"})
    head = repo.commit("head", {"app.py": "a\nb\n"})
    repo.checkout("--detach", head)
    repo.write("app.py", "dirty, unstaged\n")
    repo.write("staged.py", "staged\n")
    repo.git("add", "staged.py")
    repo.write("untracked.py", "untracked\n")
    found = Repository(repo.path)
    assert found.resolve("HEAD") == head
    assert found.symbolic_full_name("HEAD") is None  # detached
    (changed,) = found.changed_files(Sha(base), Sha(head))
    assert (changed.path, changed.additions, changed.deletions) == ("app.py", 1, 0)
    assert found.read_path(Sha(head), "app.py") == b"a\nb\n"  # from git objects, not disk


def test_linked_worktree(repo: GitRepo, tmp_path: Path, git_env: dict[str, str]) -> None:
    base = repo.commit("base", {"app.py": "a\n"})
    repo.git("worktree", "add", "-q", "-b", "feature", str(tmp_path / "wt"))
    worktree = GitRepo(tmp_path / "wt", git_env)
    feature = worktree.commit("feature", {"feature.py": "f\n"})
    found = Repository(tmp_path / "wt")
    assert found.work_tree == (tmp_path / "wt").resolve()
    assert found.git_dir == (repo.path / ".git" / "worktrees" / "wt").resolve()
    assert found.resolve("HEAD") == feature
    assert found.merge_base("main", "HEAD") == base
    assert [f.path for f in found.changed_files(Sha(base), Sha(feature))] == ["feature.py"]
    assert Repository(repo.path).resolve("feature") == feature


def test_bare_clone(repo: GitRepo, tmp_path: Path) -> None:
    base = repo.commit("base", {"app.py": "a\n"})
    head = repo.commit("head", {".stager/rules.toml": "extends = 'default'\n", "app.py": "b\n"})
    bare_path = tmp_path / "bare.git"
    repo.git("clone", "-q", "--bare", str(repo.path), str(bare_path))
    bare = Repository(bare_path)
    assert bare.is_bare
    assert bare.work_tree is None
    assert bare.git_dir == bare_path.resolve()
    assert bare.resolve("main") == head
    assert bare.merge_base(base, "main") == base
    assert {f.path for f in bare.changed_files(Sha(base), Sha(head))} == {
        ".stager/rules.toml",
        "app.py",
    }
    assert bare.read_path(Sha(head), ".stager/rules.toml") == b"extends = 'default'\n"
    assert bare.read_path(Sha(head), ".stager/missing.toml") is None
    assert bare.read_path(Sha(head), ".stager") is None  # a folder is not a file
    assert [c.subject for c in bare.commits(Sha(base), Sha(head))] == ["head"]


# -- refs ------------------------------------------------------------------------


def test_resolve_every_kind_of_ref(repo: GitRepo) -> None:
    first = repo.commit("first", {"a.txt": "1\n"})
    second = repo.commit("second", {"a.txt": "2\n"})
    repo.git("tag", "-a", "v1.0", "-m", "release", first)
    repo.git("tag", "light", second)
    repo.git("update-ref", "refs/remotes/origin/main", first)
    found = Repository(repo.path)
    assert found.resolve("main") == second
    assert found.resolve("refs/heads/main") == second
    assert found.resolve("origin/main") == first
    assert found.resolve("v1.0") == first  # annotated tag peeled to its commit
    assert found.resolve("light") == second
    assert found.resolve(second) == second
    assert found.resolve(second[:10]) == second
    assert found.resolve("HEAD~1") == first
    assert found.resolve("main^") == first
    assert found.resolve(":/fir") == first  # the youngest commit whose message matches
    assert found.resolve(":/^sec") == second
    assert found.ref_exists(":/first") and not found.ref_exists(":/third")


def test_unknown_ref_names_the_ref_and_the_fix(repo: GitRepo) -> None:
    repo.commit("first", {"a.txt": "1\n"})
    found = Repository(repo.path)
    with pytest.raises(UnknownRef) as caught:
        found.resolve("mian")
    message = str(caught.value)
    assert "'mian'" in message
    assert "git fetch" in message
    assert "git branch -a" in message
    for bad in ("", "HEAD~5", "HEAD:a.txt", "main..HEAD"):
        with pytest.raises(UnknownRef):
            found.resolve(bad)


def test_head_of_an_empty_repository_says_there_are_no_commits(repo: GitRepo) -> None:
    found = Repository(repo.path)
    for ref in ("HEAD", "main"):
        with pytest.raises(UnknownRef) as caught:
            found.resolve(ref)
        message = str(caught.value)
        assert "has no commits yet" in message
        assert "'main' is unborn" in message
        assert "git fetch" not in message
    with pytest.raises(UnknownRef, match="git fetch"):
        found.resolve("develop")


def test_unknown_local_branch_suggests_the_remote_one(repo: GitRepo) -> None:
    head = repo.commit("first", {"a.txt": "1\n"})
    repo.git("update-ref", "refs/remotes/origin/develop", head)
    with pytest.raises(UnknownRef) as caught:
        Repository(repo.path).resolve("develop")
    assert "'origin/develop' exists" in str(caught.value)
    assert "--base origin/develop" in str(caught.value)


def test_not_a_repository_names_the_absolute_folder(
    tmp_path: Path, git_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    monkeypatch.chdir(plain)
    with pytest.raises(NotARepository, match=f"^{re.escape(str(plain))} is not inside"):
        Repository(Path())


def test_ref_that_looks_like_an_option_is_a_ref(repo: GitRepo, tmp_path: Path) -> None:
    head = repo.commit("first", {"a.txt": "1\n"})
    repo.git("update-ref", "refs/tags/--foo", head)
    found = Repository(repo.path)
    assert found.resolve("--foo") == head
    assert found.symbolic_full_name("--foo") == "refs/tags/--foo"
    for option in ("--all", "--git-dir", f"--output={tmp_path / 'written'}"):
        assert not found.ref_exists(option)
        assert found.symbolic_full_name(option) is None
        with pytest.raises(UnknownRef):
            found.resolve(option)
    assert not (tmp_path / "written").exists()


def test_ref_exists_symbolic_full_name_first_existing(repo: GitRepo) -> None:
    head = repo.commit("first", {"a.txt": "1\n"})
    repo.git("update-ref", "refs/remotes/origin/develop", head)
    repo.git("tag", "v1", head)
    found = Repository(repo.path)
    assert found.ref_exists("main")
    assert not found.ref_exists("master")
    assert not found.ref_exists("")
    assert found.symbolic_full_name("main") == "refs/heads/main"
    assert found.symbolic_full_name("HEAD") == "refs/heads/main"
    assert found.symbolic_full_name("origin/develop") == "refs/remotes/origin/develop"
    assert found.symbolic_full_name("v1") == "refs/tags/v1"
    assert found.symbolic_full_name(head) is None
    assert found.symbolic_full_name("HEAD~0") is None
    assert found.symbolic_full_name("nope") is None
    assert found.first_existing(["origin/HEAD", "master", "origin/develop", "main"]) == (
        "origin/develop"
    )
    assert found.first_existing(["master", "develop"]) is None


# -- merge base ---------------------------------------------------------------------


def test_merge_base(repo: GitRepo) -> None:
    base = repo.commit("base", {"a.txt": "1\n"})
    repo.git("branch", "feature")
    repo.commit("main moves on", {"a.txt": "2\n"})
    repo.checkout("feature")
    head = repo.commit("feature work", {"b.txt": "1\n"})
    found = Repository(repo.path)
    assert found.merge_base(found.resolve("main"), Sha(head)) == base
    assert found.merge_base("main", "feature") == base


def test_unrelated_histories(repo: GitRepo) -> None:
    repo.commit("main root", {"a.txt": "1\n"})
    repo.checkout("--orphan", "other")
    repo.commit("other root", {"b.txt": "1\n"})
    found = Repository(repo.path)
    with pytest.raises(NoMergeBase) as caught:
        found.merge_base("main", "other")
    message = str(caught.value)
    assert "no common history (unrelated histories)" in message
    assert "'main'" in message
    assert "--base" in message


def test_criss_cross_merge_bases(repo: GitRepo) -> None:
    repo.commit("root", {"f.txt": "0\n"})
    repo.git("branch", "b")
    a1 = repo.commit("a1", {"a.txt": "1\n"})
    repo.checkout("b")
    b1 = repo.commit("b1", {"b.txt": "1\n"})
    repo.checkout("main")
    repo.git("merge", "-q", "--no-edit", "b")
    repo.checkout("b")
    repo.git("merge", "-q", "--no-edit", a1)
    found = Repository(repo.path)
    with pytest.raises(NoMergeBase) as caught:
        found.merge_base("main", "b")
    message = str(caught.value)
    with pytest.raises(NoMergeBase) as named:
        found.merge_base(found.resolve("main"), found.resolve("b"), names=("main", "b"))
    assert str(named.value).startswith(f"'main' ({found.resolve('main')[:12]}) and 'b' (")
    assert "2 merge bases" in message
    assert a1[:12] in message
    assert b1[:12] in message
    assert "pass one of them explicitly with --base" in message


def test_shallow_clone_without_merge_base_says_unshallow(
    repo: GitRepo, tmp_path: Path, git_env: dict[str, str]
) -> None:
    repo.commit("base", {"a.txt": "1\n"})
    repo.git("branch", "feature")
    repo.commit("main 2", {"a.txt": "2\n"})
    repo.checkout("feature")
    repo.commit("feature", {"b.txt": "1\n"})
    shallow = tmp_path / "shallow"
    repo.git(
        "clone", "-q", "--depth", "1", "--no-single-branch", f"file://{repo.path}", str(shallow)
    )
    with pytest.raises(NoMergeBase, match="git fetch --unshallow"):
        Repository(shallow).merge_base("origin/main", "origin/feature")


# -- upstream ------------------------------------------------------------------------


def test_upstream_warning(repo: GitRepo, tmp_path: Path, git_env: dict[str, str]) -> None:
    repo.commit("one", {"a.txt": "1\n"})
    repo.git("branch", "dev")
    clone = GitRepo(tmp_path / "clone", git_env)
    repo.git("clone", "-q", str(repo.path), str(clone.path))
    found = Repository(clone.path)
    assert found.upstream_warning("main") is None  # up to date
    for number in range(3):
        repo.commit(f"upstream {number}", {"a.txt": f"{number}\n"})
    repo.checkout("dev")
    repo.commit("dev upstream", {"d.txt": "1\n"})
    clone.git("fetch", "-q")
    expected = (
        "base 'main' is 3 commits behind 'origin/main' — pass --base origin/main "
        "to compare against the fresher base (or git pull)"
    )
    assert found.upstream_warning("main") == expected
    assert found.upstream_warning("refs/heads/main") == expected.replace(
        "'main'", "'refs/heads/main'", 1
    )
    assert found.upstream_warning("origin/main") is None  # already the fresh one
    assert found.upstream_warning(found.resolve("main")) is None  # a sha is no branch
    # No tracking configured: refs/remotes/origin/<name> is the upstream.
    clone.git("branch", "--no-track", "dev", "origin/dev~1")
    assert found.upstream_warning("dev") == (
        "base 'dev' is 1 commit behind 'origin/dev' — pass --base origin/dev "
        "to compare against the fresher base (or git pull)"
    )
    # A configured upstream that was never fetched: origin/<name> still counts.
    clone.git("config", "branch.dev.remote", "origin")
    clone.git("config", "branch.dev.merge", "refs/heads/ghost")
    assert found.upstream_warning("dev") is not None
    assert "'origin/dev'" in (found.upstream_warning("dev") or "")
    clone.git("branch", "--no-track", "local-only", "main")
    assert found.upstream_warning("local-only") is None


# -- changed files -------------------------------------------------------------------


ODD_PATHS = ("dir with space/new file.txt", "quote \"double\" 'single'.txt", "naïve/ünï😀.txt")


def test_changed_files_every_status(repo: GitRepo) -> None:
    base = repo.commit(
        "base",
        {
            "keep.txt": "keep\n",
            "modify.py": "a\nb\n",
            "delete.py": "gone\n",
            "rename me.py": lines(40, "rename"),
            "typechange": "was a file\n",
            "run.sh": "echo hi\n",
            "image.bin": b"\x00\x01\x02\x00",
        },
    )
    repo.write("modify.py", "a\nB\nc\n")
    repo.remove("delete.py")
    repo.git("mv", "rename me.py", 'renamed "q" é.py')
    repo.write('renamed "q" é.py', lines(40, "rename") + "one more\n")
    (repo.path / "typechange").unlink()
    (repo.path / "typechange").symlink_to("keep.txt")
    (repo.path / "run.sh").chmod(0o755)
    repo.write("image.bin", b"\x00\x01\x03\x00")
    for path in ODD_PATHS:
        repo.write(path, "new\n")
    repo.write("new\nline.txt", "n\n")
    head = repo.commit("head")

    changes = Repository(repo.path).changed_files(Sha(base), Sha(head))
    paths = [c.path for c in changes]
    assert paths == sorted(paths, key=lambda p: p.encode())
    files = by_path(changes)
    assert set(files) == {
        "modify.py",
        "delete.py",
        'renamed "q" é.py',
        "typechange",
        "run.sh",
        "image.bin",
        "new\nline.txt",
        *ODD_PATHS,
    }
    assert files["modify.py"].status is Status.MODIFIED
    assert (files["modify.py"].additions, files["modify.py"].deletions) == (2, 1)
    assert files["delete.py"].status is Status.DELETED
    assert files["delete.py"].new_mode == "000000"
    renamed = files['renamed "q" é.py']
    assert renamed.status is Status.RENAMED
    assert renamed.old_path == "rename me.py"
    assert renamed.similarity is not None and 50 < renamed.similarity < 100
    assert (renamed.additions, renamed.deletions) == (1, 0)
    assert renamed.paths == ("rename me.py", 'renamed "q" é.py')
    assert files["typechange"].status is Status.TYPE_CHANGED
    assert (files["typechange"].old_mode, files["typechange"].new_mode) == ("100644", "120000")
    script = files["run.sh"]
    assert script.mode_changed
    assert (script.old_mode, script.new_mode, script.additions) == ("100644", "100755", 0)
    assert script.old_blob == script.new_blob
    assert files["image.bin"].binary
    for path in (*ODD_PATHS, "new\nline.txt"):
        assert files[path].status is Status.ADDED
        assert files[path].old_blob == "0" * 40
        assert files[path].additions == 1


def test_copies_only_when_asked(repo: GitRepo) -> None:
    base = repo.commit("base", {"source.py": lines(30, "source")})
    repo.write("source.py", lines(30, "source") + "changed\n")
    repo.write("copy.py", lines(30, "source"))
    head = repo.commit("copy")
    found = Repository(repo.path)
    plain = by_path(found.changed_files(Sha(base), Sha(head)))
    assert plain["copy.py"].status is Status.ADDED
    assert plain["copy.py"].old_path is None
    copies = by_path(found.changed_files(Sha(base), Sha(head), find_copies=True))
    copy = copies["copy.py"]
    assert (copy.status, copy.old_path, copy.similarity) == (Status.COPIED, "source.py", 100)
    assert copies["source.py"].status is Status.MODIFIED


def test_submodule_add_and_update(repo: GitRepo, tmp_path: Path, git_env: dict[str, str]) -> None:
    library = GitRepo.init(tmp_path / "library", git_env)
    first = library.commit("lib 1", {"lib.py": "1\n"})
    base = repo.commit("base", {"app.py": "x\n"})
    allow = ("-c", "protocol.file.allow=always")
    repo.git(*allow, "submodule", "add", "-q", str(library.path), "vendor/lib")
    added = repo.commit("add submodule")
    second = library.commit("lib 2", {"lib.py": "2\n"})
    checkout = GitRepo(repo.path / "vendor" / "lib", git_env)
    checkout.git(*allow, "fetch", "-q", "origin")
    checkout.git("checkout", "-q", second)
    updated = repo.commit("update submodule")

    found = Repository(repo.path)
    files = by_path(found.changed_files(Sha(base), Sha(added)))
    assert set(files) == {".gitmodules", "vendor/lib"}
    sub = files["vendor/lib"]
    assert sub.status is Status.ADDED
    assert (sub.new_mode, sub.new_blob) == ("160000", first)
    assert sub.submodule and not sub.binary
    (update,) = found.changed_files(Sha(added), Sha(updated))
    assert (update.path, update.status) == ("vendor/lib", Status.MODIFIED)
    assert (update.old_blob, update.new_blob) == (first, second)
    assert update.submodule and not update.mode_changed
    entry = tree_of(found, updated)["vendor/lib"]
    assert (entry.mode, entry.object_type, entry.blob) == ("160000", "commit", second)


def test_user_config_cannot_change_the_result(repo: GitRepo, tmp_path: Path) -> None:
    base = repo.commit(
        "base",
        {"a.py": lines(30, "a"), "b.py": lines(30, "b"), "doc.txt": "x\n", "sub/z.txt": "z\n"},
    )
    repo.git("mv", "a.py", "a2.py")
    repo.git("mv", "b.py", "b2.py")
    repo.write("a2.py", lines(30, "a") + "extra\n")
    repo.write("b2.py", lines(30, "b") + "extra\n")
    repo.write("doc.txt", "x\ny\n")
    repo.write("sub/z.txt", "z\nz\n")
    head = repo.commit("héllo: two inexact renames")
    found = Repository(repo.path / "sub")

    def everything() -> tuple[Any, ...]:
        return (
            found.changed_files(Sha(base), Sha(head)),
            found.commits(Sha(base), Sha(head)),
            found.list_tree(Sha(head)),
        )

    expected = everything()
    assert {c.status for c in expected[0]} == {Status.RENAMED, Status.MODIFIED}

    marker = tmp_path / "external-diff-ran"
    tool = tmp_path / "tool.sh"
    tool.write_text(f"#!/bin/sh\ntouch '{marker}'\necho hijacked\n")
    tool.chmod(0o755)
    attributes = tmp_path / "attributes"
    attributes.write_text("* binary\n")
    order = tmp_path / "order"
    order.write_text("sub/*\ndoc.txt\n")
    hostile = {
        "diff.renameLimit": "1",
        "diff.external": str(tool),
        "diff.algorithm": "patience",
        "diff.relative": "true",
        "diff.orderFile": str(order),
        "diff.ignoreSubmodules": "all",
        "diff.mnemonicPrefix": "true",
        "color.ui": "always",
        "color.diff": "always",
        "core.quotePath": "true",
        "core.attributesFile": str(attributes),
        "log.showSignature": "true",
        "log.showRoot": "false",
        "i18n.logOutputEncoding": "ISO-8859-1",
        "core.abbrev": "7",
    }
    for key, value in hostile.items():
        repo.git("config", key, value)

    # The hostile config is live: plain git now misses the inexact renames.
    assert "\0R" not in repo.git("diff", "--raw", "-z", base, head)
    assert everything() == expected
    assert not marker.exists()
    repo.git("diff", base, head)
    assert marker.exists()  # ... and the external tool would have run


def test_list_tree(repo: GitRepo) -> None:
    head = repo.commit(
        "tree",
        {
            "top.txt": "t\n",
            "dir with space/a.txt": "a\n",
            "dir with space/deeper/b.txt": "b\n",
            "other/[ab].txt": "glob\n",
            "other/a.txt": "a\n",
        },
    )
    (repo.path / "run.sh").write_text("#!/bin/sh\n")
    (repo.path / "run.sh").chmod(0o755)
    head = repo.commit("exec")
    found = Repository(repo.path)
    everything = tree_of(found, head)
    assert set(everything) == {
        "top.txt",
        "run.sh",
        "dir with space/a.txt",
        "dir with space/deeper/b.txt",
        "other/[ab].txt",
        "other/a.txt",
    }
    assert everything["run.sh"].mode == "100755"
    assert everything["top.txt"].blob == repo.git("rev-parse", f"{head}:top.txt")
    assert set(found.list_tree(Sha(head), ["dir with space"])) == {
        "dir with space/a.txt",
        "dir with space/deeper/b.txt",
    }
    assert set(found.list_tree(Sha(head), ["other/[ab].txt", "top.txt"])) == {
        "other/[ab].txt",
        "top.txt",
    }
    assert found.list_tree(Sha(head), ["nothing/here"]) == {}


# -- objects ----------------------------------------------------------------------------


def test_read_blobs_uses_one_process(repo: GitRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    files: dict[str, str | bytes] = {f"file{n}.txt": f"content {n}\n" for n in range(60)}
    files["big.bin"] = bytes(range(256)) * 8192  # 2 MiB: far more than a pipe buffer
    files["same-as-file0.txt"] = "content 0\n"
    head = repo.commit("many", files)
    found = Repository(repo.path)
    tree = tree_of(found, head)

    launched: list[list[str]] = []
    real_popen = subprocess.Popen

    def counting_popen(args: list[str], *rest: Any, **options: Any) -> Any:
        launched.append(list(args))
        return real_popen(args, *rest, **options)

    monkeypatch.setattr(subprocess, "Popen", counting_popen)
    wanted = [entry.blob for entry in tree.values()] * 2
    blobs = found.read_blobs(wanted)
    assert len(launched) == 1
    assert launched[0][1:3] == ["cat-file", "--batch"]
    assert len(blobs) == 61  # 62 files, two of them identical
    for path, content in files.items():
        expected = content if isinstance(content, bytes) else content.encode()
        assert blobs[tree[path].blob] == expected
    launched.clear()
    assert found.read_blobs([]) == {}
    assert launched == []


def test_read_blobs_missing(repo: GitRepo) -> None:
    head = repo.commit("one", {"a.txt": "a\n"})
    found = Repository(repo.path)
    blob = tree_of(found, head)["a.txt"].blob
    absent = Sha("0123456789" * 4)
    with pytest.raises(GitError, match="1 object missing from the repository: 012345678901"):
        found.read_blobs([blob, absent])
    assert found.read_blobs([absent, blob], missing_ok=True) == {blob: b"a\n"}


def test_read_path(repo: GitRepo) -> None:
    head = repo.commit("one", {".stager/rules.toml": "x = 1\n", "odd\nname ü.txt": "odd\n"})
    found = Repository(repo.path)
    assert found.read_path(Sha(head), ".stager/rules.toml") == b"x = 1\n"
    assert found.read_path("main", "odd\nname ü.txt") == b"odd\n"
    assert found.read_path(Sha(head), "absent.toml") is None


# -- history ----------------------------------------------------------------------------


def test_commits_with_files_and_first_parent_merge_diff(repo: GitRepo) -> None:
    base = repo.commit("base", {"a.txt": lines(20, "a"), "b.txt": "b\n"})
    repo.git("branch", "side")
    c1 = repo.commit("feat: tab\there | pipes ü \x01 :colon\n\nbody line", {"c.txt": "c\n"})
    repo.git("mv", "a.txt", "moved a.txt")
    c2 = repo.commit("rename")
    empty = repo.commit("empty")
    repo.checkout("side")
    s1 = repo.commit("side work", {"side.txt": "s\n", "b.txt": "b2\n"})
    repo.checkout("main")
    repo.git("merge", "-q", "--no-ff", "-m", "merge side", "side")
    merge = repo.head()

    commits = Repository(repo.path).commits(Sha(base), Sha(merge))
    order = [c.sha for c in commits]
    assert set(order) == {c1, c2, empty, s1, merge}
    assert order[-1] == merge
    for commit in commits:  # oldest first: parents before children
        for parent in commit.parents:
            if parent in order:
                assert order.index(parent) < order.index(commit.sha)
    by_sha: dict[str, Commit] = {c.sha: c for c in commits}
    first = by_sha[c1]
    assert first.subject == "feat: tab\there | pipes ü \x01 :colon"
    assert first.files == ("c.txt",)
    assert first.parents == (base,)
    assert (first.author_name, first.author_email) == ("Ada Author", "ada@example.com")
    assert (first.committer_name, first.committer_email) == ("Cy Committer", "cy@example.com")
    assert first.author_date.startswith("2024-01-01T12:")
    assert first.committer_date == first.author_date
    assert by_sha[c2].files == ("a.txt", "moved a.txt")
    assert by_sha[empty].files == ()
    merged = by_sha[merge]
    assert merged.is_merge
    assert merged.parents == (empty, s1)
    assert merged.files == ("b.txt", "side.txt")  # what the merge brought, vs its first parent
    assert not by_sha[s1].is_merge
    assert Repository(repo.path).commits(Sha(merge), Sha(merge)) == []


# -- errors -----------------------------------------------------------------


def test_failing_command_raises_git_error_with_stderr(repo: GitRepo) -> None:
    repo.commit("one", {"a.txt": "a\n"})
    found = Repository(repo.path)
    with pytest.raises(GitError) as caught:
        found.run(["cat-file", "-p", "f" * 40])
    message = str(caught.value)
    assert message.startswith(f"`git cat-file -p {'f' * 40}` failed (exit 128): fatal: ")
    assert " — " in message
    with pytest.raises(GitError, match=r"`git diff --raw --numstat -z --no-abbrev f+ HEAD --`"):
        found.changed_files(Sha("f" * 40), Sha("HEAD"))


# -- the repository is never modified ---------------------------------------------------------


def _snapshot(repo: GitRepo) -> dict[str, bytes]:
    state: dict[str, bytes] = {}
    for path in sorted(repo.path.rglob("*")):
        relative = path.relative_to(repo.path).as_posix()
        if path.is_symlink():
            state[relative] = b"symlink:" + str(path.readlink()).encode()
        elif path.is_file() and (
            not relative.startswith(".git/") or relative in (".git/index", ".git/HEAD")
        ):
            state[relative] = path.read_bytes()
        elif relative.startswith(".git/"):
            state[relative] = b"exists"
    state["index mtime"] = str((repo.path / ".git" / "index").stat().st_mtime_ns).encode()
    return state


def test_read_methods_leave_the_repository_untouched(repo: GitRepo) -> None:
    base = repo.commit("base", {"a.txt": "a\n", "b.txt": "b\n", "c.txt": "c\n"})
    repo.git("branch", "side")
    head = repo.commit("head", {"a.txt": "a2\n", "d.txt": "d\n"})
    # A dirty work tree with stale stat data: anything refreshing the index would rewrite it.
    repo.write("b.txt", "dirty\n")
    repo.write("staged.txt", "staged\n")
    repo.git("add", "staged.txt")
    repo.write("untracked.txt", "untracked\n")
    stamp = 1_600_000_000
    os.utime(repo.path / "c.txt", (stamp, stamp))
    before = _snapshot(repo)

    found = Repository(repo.path)
    found.resolve("HEAD")
    found.ref_exists("side")
    found.symbolic_full_name("main")
    found.first_existing(["master", "main"])
    found.merge_base("main", "side")
    found.upstream_warning("main")
    found.changed_files(Sha(base), Sha(head), find_copies=True)
    tree = found.list_tree(Sha(head))
    found.read_blobs([entry.blob for entry in tree.values()])
    found.read_path(Sha(head), "a.txt")
    found.commits(Sha(base), Sha(head))
    found.run(["rev-parse", "HEAD"])

    assert _snapshot(repo) == before


def test_a_branch_wins_over_a_tag_of_the_same_name_and_the_analysis_says_so(repo: GitRepo) -> None:
    from click.testing import CliRunner

    from stager.cli import cli

    first = repo.commit("base", {"a.txt": "a\n"})
    repo.git("tag", "main", first)  # the tag stays behind; the branch main moves on
    main = repo.commit("main moves", {"b.txt": "b\n"})
    repo.checkout("-q", "-b", "feature")
    repo.commit("feature", {"c.txt": "c\n"})
    assert Repository(repo.path).resolve("main") == main
    result = CliRunner().invoke(cli, ["-C", str(repo.path), "analyze", "--base", "main"])
    assert result.exit_code == 0, result.output
    assert "main names both a branch and a tag: stager uses the branch" in result.output
    assert f"against merge base {main[:10]} of main" in result.output  # the branch's tip


def test_the_users_diff_context_cannot_break_the_patch_strategy(repo: GitRepo) -> None:
    from click.testing import CliRunner

    from stager.cli import cli

    lines = "".join(f"line {n}\n" for n in range(20))
    repo.commit("base", {"a.txt": lines, "b.txt": lines})
    repo.checkout("-q", "-b", "feature")
    repo.commit("change", {"a.txt": lines.replace("line 9", "nine"), "b.txt": lines + "end\n"})
    repo.git("config", "diff.context", "0")
    args = ["-C", str(repo.path), "split", "--all", "--base", "main", "--strategy", "patch"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    verify = CliRunner().invoke(cli, ["-C", str(repo.path), "verify", "--base", "main"])
    assert verify.exit_code == 0, verify.output
