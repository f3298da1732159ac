"""The record of what split built: refs/stager/record/<branch>, its JSON, its history, --undo."""

from __future__ import annotations

import json
import subprocess

import pytest

from stager.branches.record import (
    RECORD_VERSION,
    SplitRecord,
    StoredRecord,
    open_findings,
    phase_chains,
    read_record,
    record_name,
)
from stager.branches.refs import undo_last_split
from stager.branches.split_types import BuildStatus, Strategy
from stager.errors import StagerError
from stager.findings import Finding
from stager.git.repository import Repository
from stager.rules.sections import SplitRules
from stager.types import RepoPath, Risk, Sha
from tests.branches.helpers import VERSIONS, feature_repo, migration
from tests.branches.test_split import split
from tests.gitrepo import GitRepo

RECORD = "refs/stager/record/feature"


@pytest.fixture
def feature(repo: GitRepo) -> GitRepo:
    feature_repo(repo)
    return repo


def stored(repo: GitRepo) -> StoredRecord:
    found = read_record(Repository(repo.path), "feature")
    assert found is not None
    return found


def rev(repo: GitRepo, ref: str) -> str:
    return repo.git("rev-parse", ref)


def onto_main(feature: GitRepo) -> None:
    """main gains a migration of its own after the branch point."""
    feature.checkout("main")
    feature.commit("main migration", {f"{VERSIONS}/0003_main.py": migration("m3", "base2", "main")})
    feature.checkout("feature")


def test_split_records_what_it_built_in_a_commit_under_the_feature_branch(
    feature: GitRepo,
) -> None:
    onto_main(feature)
    result = split(feature, onto="main")
    found = stored(feature)
    record = found.record
    assert found.ref == RECORD and feature.git("rev-parse", RECORD) == found.commit
    assert feature.git("ls-tree", "--name-only", RECORD) == "record.json"
    data = json.loads(feature.git("show", f"{RECORD}:record.json"))
    assert data["schema_version"] == RECORD_VERSION
    assert (record.head_ref, record.head) == ("refs/heads/feature", rev(feature, "feature"))
    assert (record.base_ref, record.base) == ("main", rev(feature, "main"))
    assert (record.start, record.onto) == (rev(feature, "main"), "main")
    assert record.merge_base == result.merge_base != record.start
    assert [(p.number, p.branch, p.commit, p.parent) for p in record.phases] == [
        (b.phase.number, b.branch, b.commit, b.parent) for b in result.phases
    ]
    one = record.phases[0]
    assert (one.title, one.strategy) == ("Part 1", result.phases[0].strategy)
    assert one.files == ("app/models.py", f"{VERSIONS}/0003_widget.py")
    assert [(m.revision, m.parents, m.original_parents) for m in one.chain.migrations] == [
        ("w1", ("m3",), ("base2",))
    ]
    # the heads each phase starts from and ends at: m3 (main's), then the branch's
    chains = phase_chains(record)
    assert [(c.start, c.end) for c in chains.values()] == [
        (("m3",), ("w1",)),
        (("w1",), ("w1",)),
        (("w1",), ("w2",)),
    ]
    assert [(r.revision, r.old_parents, r.new_parents, r.reason) for r in one.rewrites] == [
        ("w1", ("base2",), ("m3",), "onto")
    ]
    assert [moved.ref for moved in record.moved] == [
        "refs/heads/stage/1-part1",
        "refs/heads/stage/2-part2",
        "refs/heads/stage/3-part3",
    ]
    assert SplitRecord.from_json(json.loads(json.dumps(record.to_json()))) == record


def test_each_record_commit_is_on_the_previous_one_and_undo_pops_it(feature: GitRepo) -> None:
    split(feature, strategy=Strategy.PATCH)
    first = stored(feature).commit
    tips = feature.git("for-each-ref", "refs/heads/stage/")
    assert [b.status for b in split(feature, force=True).phases] == [BuildStatus.UPDATED] * 3
    second = stored(feature)
    assert feature.git("rev-parse", f"{second.commit}^") == first
    assert second.record.strategy is Strategy.AUTO
    undo_last_split(Repository(feature.path), "feature", split=SplitRules())
    assert feature.git("rev-parse", RECORD) == first
    assert feature.git("for-each-ref", "refs/heads/stage/") == tips
    undo_last_split(Repository(feature.path), "feature", split=SplitRules())
    assert feature.git("for-each-ref", "refs/heads/stage/", "refs/stager/") == ""


def test_a_run_that_changes_nothing_writes_no_record(feature: GitRepo) -> None:
    split(feature)
    first = stored(feature).commit
    assert [b.status for b in split(feature).phases] == [BuildStatus.UNCHANGED] * 3
    assert stored(feature).commit == first


@pytest.mark.parametrize("locked", ["refs/heads/stage/2-part2", RECORD])
def test_the_record_and_the_branches_move_in_one_transaction(feature: GitRepo, locked: str) -> None:
    """A transaction git refuses (a stale lock here) writes neither the record nor a branch."""
    lock = feature.path / ".git" / f"{locked}.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_text("")
    with pytest.raises(StagerError, match="no branch was changed"):
        split(feature)
    assert feature.git("for-each-ref", "refs/heads/stage/", "refs/stager/") == ""
    lock.unlink()
    split(feature)
    assert stored(feature).record.phases[1].branch == "stage/2-part2"


def test_undo_of_a_branch_without_a_record_names_the_branches_that_have_one(
    feature: GitRepo,
) -> None:
    split(feature)
    with pytest.raises(StagerError, match="no stager split to undo for main") as error:
        undo_last_split(Repository(feature.path), "main", split=SplitRules())
    assert "splits are recorded for feature: pass --head BRANCH" in str(error.value)
    assert record_name(Repository(feature.path), "HEAD") == "feature"


def test_a_record_of_another_version_or_damaged_is_a_clear_error(feature: GitRepo) -> None:
    split(feature)
    data = stored(feature).record.to_json()
    with pytest.raises(StagerError, match="schema version 99; this stager reads version 1"):
        SplitRecord.from_json({**data, "schema_version": 99})
    with pytest.raises(StagerError, match="damaged: head is missing"):
        SplitRecord.from_json({key: value for key, value in data.items() if key != "head"})
    broken = {**data, "phases": [{**data["phases"][0], "commit": 7}]}
    with pytest.raises(StagerError, match=r"damaged: phases\[0\]\.commit: str expected, found 7"):
        SplitRecord.from_json(broken)
    feature.write("record.json", "{}")
    blob = feature.git("hash-object", "-w", "record.json")
    (feature.path / "record.json").unlink()
    tree = subprocess.run(
        ["git", "mktree"],
        cwd=feature.path,
        env=feature.env,
        input=f"100644 blob {blob}\trecord.json\n",
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    commit = feature.git("commit-tree", tree, "-m", "from another stager")
    feature.git("update-ref", RECORD, commit)
    with pytest.raises(StagerError, match=rf"record {RECORD} has schema version None") as error:
        read_record(Repository(feature.path), "feature")
    assert "upgrade stager" in (error.value.fix or "")
    assert f"`git update-ref -d {RECORD}`" in (error.value.fix or "")


def test_findings_the_built_branches_settle(feature: GitRepo) -> None:
    """SG008 (re-chain onto the base's head) is settled by a split --onto that tip."""
    onto_main(feature)
    split(feature, onto="main")
    record = stored(feature).record
    path = RepoPath(f"{VERSIONS}/0003_widget.py")
    sg008 = Finding(path, 3, "SG008", Risk.HIGH, "re-chain w1 onto the base's head m3", "")
    other = Finding(path, 3, "SM025", Risk.MEDIUM, "lock timeout", "")
    elsewhere = Finding(RepoPath("app/a.py"), 1, "SG008", Risk.HIGH, "re-chain", "")
    findings = [sg008, other, elsewhere]
    assert open_findings(record, findings, record.start) == [other, elsewhere]
    # the base moved on since the split: the finding may be true again
    assert open_findings(record, findings, Sha("0" * 40)) == findings
    assert open_findings(None, findings, record.start) == findings
