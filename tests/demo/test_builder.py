"""The demo repository: deterministic, sealed, and shaped like the real case."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from stager.demo import DemoRepository, build_demo_repository
from stager.errors import StagerError
from stager.git import process
from tests.gitrepo import GitRepo

VERSIONS = "backend/migrations/versions"
BASE_BRANCH = "main"
HEAD_BRANCH = "feature/fuel-credits-overhaul"
TRANSFER_SERVICE = "backend/app/services/transfer_service.py"


def _build(path: Path, env: dict[str, str]) -> tuple[DemoRepository, GitRepo]:
    demo = build_demo_repository(path)
    return demo, GitRepo(demo.path, env)


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line]


def _versions(git: GitRepo, commit: str) -> list[str]:
    return _lines(git.git("ls-tree", "--name-only", f"{commit}:{VERSIONS}"))


def _changed(git: GitRepo, old: str, new: str, *paths: str) -> set[str]:
    return set(_lines(git.git("diff", "--name-only", old, new, "--", *paths)))


def test_the_commit_ids_are_pinned(tmp_path: Path, git_env: dict[str, str]) -> None:
    # Every byte of fuel-credits/ and of the replay counts: change these on purpose only.
    demo = build_demo_repository(tmp_path / "demo")
    assert (demo.base, demo.merge_base, demo.head) == (
        "80c8095ab2d685d7952fe4849fa95973f805c1b1",
        "df3a4edbc6f4701715230853caa57ef80d7009e9",
        "04f8af9b157dc9e7460713a1a3eea076f9c32839",
    )


def test_two_builds_write_the_same_commits(tmp_path: Path, git_env: dict[str, str]) -> None:
    first, first_git = _build(tmp_path / "one", git_env)
    second, second_git = _build(tmp_path / "two", git_env)

    assert (first.base, first.merge_base, first.head) == (
        second.base,
        second.merge_base,
        second.head,
    )
    refs = "--format=%(objectname) %(refname)"
    assert first_git.git("for-each-ref", refs) == second_git.git("for-each-ref", refs)


def test_user_git_config_and_environment_do_not_leak_in(
    tmp_path: Path, git_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    reference, _ = _build(tmp_path / "reference", git_env)

    # Everything a user's setup could use to change object ids or the layout.
    Path(git_env["GIT_CONFIG_GLOBAL"]).write_text(
        "[init]\n\tdefaultBranch = trunk\n\tdefaultObjectFormat = sha256\n"
        "[core]\n\tautocrlf = true\n[user]\n\tname = Someone Else\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Intruder")
    monkeypatch.setenv("GIT_COMMITTER_DATE", "2030-01-01T00:00:00+00:00")
    monkeypatch.setenv("GIT_DEFAULT_HASH", "sha256")
    other, _ = _build(tmp_path / "other", git_env)

    assert (other.base, other.merge_base, other.head) == (
        reference.base,
        reference.merge_base,
        reference.head,
    )


def test_refuses_a_folder_that_is_not_empty(tmp_path: Path) -> None:
    target = tmp_path / "busy"
    target.mkdir()
    (target / "notes.txt").write_text("keep me", encoding="utf-8")

    with pytest.raises(StagerError) as raised:
        build_demo_repository(target)

    assert "not empty" in str(raised.value)
    assert raised.value.fix is not None and "empty" in raised.value.fix
    assert sorted(p.name for p in target.iterdir()) == ["notes.txt"]


def test_refuses_a_file(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("", encoding="utf-8")

    with pytest.raises(StagerError, match="not a folder"):
        build_demo_repository(target)


def test_accepts_an_empty_folder_and_creates_missing_ones(
    tmp_path: Path, git_env: dict[str, str]
) -> None:
    (tmp_path / "empty").mkdir()
    assert build_demo_repository(tmp_path / "empty").path == tmp_path / "empty"
    assert not (tmp_path / "new").exists()
    demo = build_demo_repository(tmp_path / "new" / "nested")
    assert (demo.path / "backend" / "alembic.ini").is_file()


def test_checked_out_on_the_feature_branch_with_a_clean_work_tree(
    tmp_path: Path, git_env: dict[str, str]
) -> None:
    demo, git = _build(tmp_path / "demo", git_env)

    assert (demo.base_branch, demo.head_branch) == (BASE_BRANCH, HEAD_BRANCH)
    assert git.git("symbolic-ref", "HEAD") == f"refs/heads/{HEAD_BRANCH}"
    assert git.git("rev-parse", "HEAD") == demo.head
    assert git.git("rev-parse", BASE_BRANCH) == demo.base
    assert git.git("merge-base", "--all", BASE_BRANCH, HEAD_BRANCH) == demo.merge_base
    assert git.git("status", "--porcelain", "--untracked-files=all") == ""
    assert _lines(git.git("branch", "--format=%(refname:short)")) == [HEAD_BRANCH, BASE_BRANCH]
    git.git("fsck", "--strict", "--no-progress")


def test_migration_counts_and_the_edited_base_migration(
    tmp_path: Path, git_env: dict[str, str]
) -> None:
    demo, git = _build(tmp_path / "demo", git_env)

    assert len(_versions(git, demo.merge_base)) == 12
    assert len(_versions(git, demo.head)) == 20
    assert len(_versions(git, demo.base)) == 13

    status = _lines(
        git.git("diff", "--name-status", "--no-renames", demo.merge_base, demo.head, "--", VERSIONS)
    )
    added = [line for line in status if line.startswith("A\t")]
    modified = [line.split("\t")[1] for line in status if line.startswith("M\t")]
    assert len(added) == 8
    assert len(status) == 9
    assert modified == [f"{VERSIONS}/2024_02_12_1000-c2d4e6f8a0b1_create_transfer.py"]
    patch = git.git("diff", demo.merge_base, demo.head, "--", modified[0])
    assert '+op.create_index("ix_transfer_agreement_date"' in patch.replace("    ", "")


def test_base_drift_touches_a_file_the_branch_also_changes(
    tmp_path: Path, git_env: dict[str, str]
) -> None:
    demo, git = _build(tmp_path / "demo", git_env)

    drift_commits = _lines(git.git("rev-list", f"{demo.merge_base}..{demo.base}"))
    assert len(drift_commits) == 2
    on_base = _changed(git, demo.merge_base, demo.base)
    on_branch = _changed(git, demo.merge_base, demo.head)
    assert on_base & on_branch == {TRANSFER_SERVICE}

    # main's new migration revises the merge base's head, like the branch's first one
    (new_migration,) = (path for path in on_base if path.startswith(VERSIONS))
    assert "0c2e4a6c8e0f" in new_migration
    assert "down_revision: Union[str, None] = 'd1f3b5d7f9b1'" in git.git(
        "show", f"{demo.base}:{new_migration}"
    )

    # Copying the branch's file onto main would revert main's fix; a 3-way merge keeps both.
    fix = "cannot transfer credits to itself"
    assert fix in git.git("show", f"{demo.base}:{TRANSFER_SERVICE}")
    assert fix not in git.git("show", f"{demo.head}:{TRANSFER_SERVICE}")
    merged_tree = git.git("merge-tree", "--write-tree", demo.base, demo.head)
    merged = git.git("show", f"{merged_tree}:{TRANSFER_SERVICE}")
    assert fix in merged
    assert "def transfers_agreed_between" in merged


def test_branch_commits_mix_categories_and_fix_the_migration_order(
    tmp_path: Path, git_env: dict[str, str]
) -> None:
    demo, git = _build(tmp_path / "demo", git_env)

    commits = _lines(git.git("rev-list", "--reverse", f"{demo.merge_base}..{demo.head}"))
    assert len(commits) == 13
    touched = [
        set(_lines(git.git("diff-tree", "-r", "--name-only", "--no-commit-id", c))) for c in commits
    ]
    mixed = [
        files
        for files in touched
        if any(p.startswith(VERSIONS) for p in files)
        and any(p.startswith("backend/app/models/") for p in files)
        and any(p.startswith("frontend/") for p in files)
    ]
    assert len(mixed) >= 2
    assert any(p.startswith("etl/python_migration/core/") for files in touched for p in files)

    subjects = _lines(git.git("log", "--format=%s", f"{demo.merge_base}..{demo.head}"))
    assert "wip" in subjects
    fix_commit = git.git(
        "log", "--format=%H", "--grep=^fix migration order$", f"{demo.merge_base}..{demo.head}"
    )
    changes = [
        line
        for line in git.git("show", "-U0", "--format=", fix_commit).splitlines()
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    assert changes == [
        "-Revises: d1f3b5d7f9b1",
        "+Revises: a3c5e7f9b1d3",
        "-down_revision: Union[str, None] = 'd1f3b5d7f9b1'",
        "+down_revision: Union[str, None] = 'a3c5e7f9b1d3'",
    ]


def test_fixed_authors_and_dates(tmp_path: Path, git_env: dict[str, str]) -> None:
    _, git = _build(tmp_path / "demo", git_env)

    log = _lines(git.git("log", "--all", "--format=%an|%ae|%aI|%cI"))
    assert len(log) == 23
    authors = {line.split("|")[0] for line in log}
    assert authors == {"Alex Rivera", "Priya Natarajan", "Sam Okafor", "Mei Tanaka"}
    assert all(line.split("|")[2] == line.split("|")[3] for line in log)
    assert log[-1].endswith("|2024-01-08T09:05:00-07:00|2024-01-08T09:05:00-07:00")


def test_every_python_file_compiles(tmp_path: Path, git_env: dict[str, str]) -> None:
    demo, _ = _build(tmp_path / "demo", git_env)

    sources = sorted(demo.path.rglob("*.py"))
    assert len(sources) > 40
    for source in sources:
        compile(source.read_text(encoding="utf-8"), str(source), "exec")


def test_old_git_is_refused_before_anything_is_written(
    tmp_path: Path, git_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The real git, except that it says it is 2.30 (no git that old is at hand).
    real_git = shutil.which("git")
    assert real_git is not None
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "git"
    wrapper.write_text(
        '#!/bin/sh\nif [ "$1" = version ] || [ "$1" = --version ]; then\n'
        '  echo "git version 2.30.0"; exit 0\nfi\n'
        f'exec {real_git} "$@"\n'
    )
    wrapper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(process, "_version_checked", False)  # once per process: this one asks
    target = tmp_path / "demo"
    with pytest.raises(StagerError, match=r"git 2\.30\.0 is too old"):
        build_demo_repository(target)
    assert not target.exists()
