"""The record's fields sync added read older records: a record without them still reads."""

from __future__ import annotations

import json

from stager.branches.record import SplitRecord
from tests.branches.test_merged import split
from tests.commands.test_expand_contract import seed
from tests.gitrepo import GitRepo

__all__ = ["seed", "split"]  # the fixtures, imported for pytest


def test_a_record_written_before_pushes_and_kept_commits_were_noted_still_reads(
    split: GitRepo,
) -> None:
    data = json.loads(split.git("show", "refs/stager/record/feature:record.json"))
    assert data.get("pushed", []) == []
    assert all(phase.get("kept", []) == [] for phase in data["phases"])
    data.pop("pushed", None)
    for phase in data["phases"]:
        phase.pop("kept", None)
    record = SplitRecord.from_json(data)
    assert record.pushed == () and all(phase.kept == () for phase in record.phases)
