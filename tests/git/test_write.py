"""stager.git.write against real repositories: objects, packs, commits, the quarantine."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from stager.errors import StagerError
from stager.git.repository import Repository
from stager.git.write import Author, Writer, identity_problem
from stager.types import Sha
from tests.gitrepo import GitRepo


@pytest.mark.parametrize(
    ("config", "environ", "missing"),
    [
        ({"user.name": "A", "user.email": "a@x"}, {}, None),
        ({}, {"GIT_AUTHOR_NAME": "A", "GIT_AUTHOR_EMAIL": "a@x"}, "user.name and user.email"),
        (
            {},
            {
                "GIT_AUTHOR_NAME": "A",
                "GIT_AUTHOR_EMAIL": "a@x",
                "GIT_COMMITTER_NAME": "C",
                "GIT_COMMITTER_EMAIL": "c@x",
            },
            None,
        ),
        ({"user.name": "A"}, {"EMAIL": "a@x"}, None),
        ({"user.email": "a@x"}, {}, "user.name"),
        ({"author.name": "A", "committer.name": "C", "user.email": "a@x"}, {}, None),
    ],
)
def test_identity_problem(
    config: dict[str, str], environ: dict[str, str], missing: str | None
) -> None:
    assert identity_problem(config, environ) == missing


def test_dry_run_objects_stay_in_the_quarantine(repo: GitRepo) -> None:
    repo.commit("one", {"a": "1\n"})
    found = Repository(repo.path)
    before = repo.git("count-objects", "-v")
    with Writer(found, dry_run=True) as writer:
        blob = writer.add_object("blob", b"only in the quarantine\n")
        tree = writer.add_object("tree", b"100644 f\0" + bytes.fromhex(blob))
        commit = writer.commit(tree, [Sha(repo.head())], "dry\n")
        writer.flush()
        assert writer.tree_of(commit) == tree
        assert writer.read_blob(blob) == b"only in the quarantine\n"
        code, _out, _err = writer.call(["update-ref", "refs/heads/dry", commit])
        assert code != 0  # git refuses ref updates inside a quarantine
    assert repo.git("count-objects", "-v") == before
    assert repo.git("cat-file", "-t", blob, check=False) == ""  # not in the repository
    assert repo.git("branch", "--list", "dry") == ""


def test_a_run_that_stops_leaves_no_object(repo: GitRepo) -> None:
    repo.commit("one", {"a": "1\n"})
    before = repo.git("count-objects", "-v")
    with Writer(Repository(repo.path)) as writer:
        blob = writer.add_object("blob", b"written, never migrated\n")
        writer.flush()
        assert writer.read_blob(blob) == b"written, never migrated\n"
    assert repo.git("count-objects", "-v") == before


def test_a_view_reads_a_quarantines_objects_and_a_writer_on_it_stores_them_too(
    repo: GitRepo,
) -> None:
    """sync's merge revision: written in one quarantine, read by the rebuild through a view,
    stored only when the rebuild's own writer migrates (never by a dry run)."""
    repo.commit("one", {"a": "1\n"})
    found = Repository(repo.path)
    before = repo.git("count-objects", "-v")
    with Writer(found) as first:
        start = first.commit(Sha(repo.git("rev-parse", "HEAD^{tree}")), [Sha(repo.head())], "s\n")
        first.flush()
        view = found.with_objects(first.objects)
        assert view.run(["cat-file", "-t", start]) == b"commit\n"
        assert found.call(["cat-file", "-t", start])[0] != 0  # only the view reads it
        with Writer(view, dry_run=True) as dry:
            dry.commit(dry.tree_of(start), [start], "on top, dry\n")
            dry.flush()
        assert repo.git("count-objects", "-v") == before
        with Writer(view) as real:
            tip = real.commit(real.tree_of(start), [start], "on top\n")
            real.migrate()
    assert repo.git("rev-parse", f"{tip}^") == start  # both stored, in one pack


def test_a_repository_whose_path_holds_a_colon_is_read_from_the_quarantine(
    tmp_path: Path, git_env: dict[str, str]
) -> None:
    """git splits its alternates at ':': the repository's objects are named quoted."""
    repo = GitRepo.init(tmp_path / "a:b", git_env)
    repo.commit("one", {"a": "1\n"})
    with Writer(Repository(repo.path), dry_run=True) as writer:
        assert writer.run(["cat-file", "-t", repo.head()]) == b"commit\n"
        view = writer.repo.with_objects(writer.objects)
        assert view.run(["cat-file", "-t", repo.head()]) == b"commit\n"


def test_migrate_lets_git_copy_the_objects_across_filesystems(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """stager moves no object file itself: a quarantine on another filesystem works."""
    repo.commit("one", {"a": "1\n"})

    def cross_device(*_args: object, **_kwargs: object) -> None:
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    with Writer(Repository(repo.path)) as writer:
        blob = writer.add_object("blob", b"from another filesystem\n")
        monkeypatch.setattr(os, "link", cross_device)
        monkeypatch.setattr(os, "rename", cross_device)
        monkeypatch.setattr(os, "replace", cross_device)
        writer.migrate()
    assert repo.git("cat-file", "-p", blob) == "from another filesystem"


def test_objects_the_repository_has_are_not_written_again(repo: GitRepo) -> None:
    repo.commit("one", {"a": "1\n"})
    found = Repository(repo.path)
    with Writer(found) as writer:
        tree = writer.add_object(
            "tree", b"100644 a\0" + bytes.fromhex(repo.git("rev-parse", "HEAD:a"))
        )
        assert tree == repo.git("rev-parse", "HEAD^{tree}")
        writer.flush()
        quarantine = {"GIT_OBJECT_DIRECTORY": writer.env["GIT_OBJECT_DIRECTORY"]}
        listed = found.run(["cat-file", "--batch-all-objects", "--batch-check"], env=quarantine)
        assert listed == b""


def test_queued_objects_are_written_as_one_pack_with_gits_names(repo: GitRepo) -> None:
    repo.commit("one", {"a": "1\n"})
    with Writer(Repository(repo.path)) as writer:
        big = bytes(range(256)) * 300  # a size header of several bytes
        blobs = [writer.add_object("blob", data) for data in (b"crlf\r\nkept\r\n", big, b"")]
        writer.flush()
        writer.flush()  # nothing queued: no pack
        assert repo.git("cat-file", "-t", blobs[0], check=False) == ""  # still quarantined
        writer.migrate()
    assert repo.git("cat-file", "-p", blobs[0]) == "crlf\r\nkept"
    assert repo.git("cat-file", "-s", blobs[1]) == str(len(big))
    assert repo.git("cat-file", "-t", blobs[2]) == "blob"
    assert len(list((repo.path / ".git/objects/pack").glob("*.pack"))) == 1


def test_commits_are_what_commit_tree_writes(repo: GitRepo) -> None:
    repo.commit("one", {"a": "1\n"})
    head = Sha(repo.head())
    with Writer(Repository(repo.path)) as writer:
        tree = writer.tree_of(head)
        author = Author("Mei Tanaka", "mei@example.com", "1700000000 -0700")
        queued = writer.commit(tree, [head], "subject\n\nbody\n", author=author)
        direct = writer.commit_tree(tree, [head], "subject\n\nbody\n", author=author)
        mine = writer.commit(tree, [head], "by the user\n")
        by_git = writer.commit_tree(tree, [head], "by the user\n")
        writer.migrate()  # the loose objects commit-tree wrote, and the pack
    assert queued == direct and mine == by_git
    shown = repo.git("log", "-1", "--format=%an|%ae|%ad|%cn|%B", "--date=raw", queued)
    assert shown == "Mei Tanaka|mei@example.com|1700000000 -0700|Cy Committer|subject\n\nbody"


def test_a_signing_failure_says_no_gpg_sign(repo: GitRepo, tmp_path: Path) -> None:
    repo.commit("one", {"a": "1\n"})
    failing = tmp_path / "failing-gpg"
    failing.write_text("#!/bin/sh\necho 'gpg: no secret key' >&2\nexit 2\n")
    failing.chmod(0o755)
    repo.git("config", "gpg.program", str(failing))
    found = Repository(repo.path)
    with Writer(found) as writer, pytest.raises(StagerError) as error:
        writer.commit(Sha(repo.git("rev-parse", "HEAD^{tree}")), [], "signed\n", sign=True)
    assert "could not sign" in str(error.value) and "--no-gpg-sign" in str(error.value)


def test_merge_tree_reports_a_conflict_git_only_says_in_words(repo: GitRepo) -> None:
    # ours renamed f to g; theirs changed f's same line and added ours' g. git calls the
    # merge clean (exit 0, no conflicted path) but g holds the rename's conflict markers.
    repo.commit("base", {"f": "one\ntwo\nthree\n"})
    repo.git("checkout", "-q", "-b", "theirs")
    theirs = repo.commit("theirs", {"f": "one\nTWO\nthree\n", "g": "one\nzwei\nthree\n"})
    repo.checkout("main")
    repo.remove("f")
    ours = repo.commit("ours", {"g": "one\nzwei\nthree\n"})
    with Writer(Repository(repo.path)) as writer:
        outcome = writer.merge_tree(Sha(ours), Sha(theirs))
        assert b"<<<<<<<" in writer.run(["cat-file", "-p", f"{outcome.tree}:g"])
    assert [conflict.path for conflict in outcome.conflicts] == ["g"]
    assert "CONFLICT (rename involved in collision)" in outcome.conflicts[0].messages[0]
