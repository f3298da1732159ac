"""The snapshot helper: it fails on a missing or changed file and writes only when asked."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.snapshot_files import SNAPSHOTS, UPDATE, check_snapshot


def test_a_missing_snapshot_fails_and_is_not_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(UPDATE, raising=False)
    with pytest.raises(AssertionError, match=r"snapshot new\.md is missing"):
        check_snapshot("new.md", "text\n", tmp_path)
    assert not (tmp_path / "new.md").exists()


def test_a_changed_snapshot_fails_and_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(UPDATE, raising=False)
    (tmp_path / "old.md").write_text("before\n", encoding="utf-8")
    with pytest.raises(AssertionError, match=r"old\.md changed"):
        check_snapshot("old.md", "after\n", tmp_path)
    assert (tmp_path / "old.md").read_text(encoding="utf-8") == "before\n"


def test_an_equal_snapshot_passes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(UPDATE, raising=False)
    (tmp_path / "same.md").write_text("same\n", encoding="utf-8")
    check_snapshot("same.md", "same\n", tmp_path)


@pytest.mark.parametrize("value", ["", "0", "yes"])
def test_only_update_1_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(UPDATE, value)
    with pytest.raises(AssertionError):
        check_snapshot("new.md", "text\n", tmp_path)
    assert not (tmp_path / "new.md").exists()


def test_update_writes_new_and_changed_snapshots(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(UPDATE, "1")
    (tmp_path / "old.md").write_text("before\n", encoding="utf-8")
    check_snapshot("new.md", "text\n", tmp_path)
    check_snapshot("old.md", "after\n", tmp_path)
    assert (tmp_path / "new.md").read_text(encoding="utf-8") == "text\n"
    assert (tmp_path / "old.md").read_text(encoding="utf-8") == "after\n"


def test_the_snapshots_folder_holds_the_snapshots() -> None:
    assert sorted(path.name for path in SNAPSHOTS.glob("*.md"))
