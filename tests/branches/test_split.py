"""stager.branches.split_branch on real repositories: strategies, layouts, safety, --onto."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from stager.branches.record import read_record
from stager.branches.refs import undo_last_split
from stager.branches.split import split_branch
from stager.branches.split_types import BuildStatus, Layout, SplitOptions, SplitResult, Strategy
from stager.branches.verify import verify_split
from stager.errors import StagerError
from stager.git.repository import Repository
from stager.rules.sections import SplitRules
from stager.types import Sha
from tests.branches.helpers import (
    FEATURE_PHASES,
    README,
    VERSIONS,
    Checkout,
    analyze,
    feature_repo,
    make_dirty,
    make_phases,
    migration,
    module,
    with_phases,
)
from tests.gitrepo import GitRepo

TEMPLATE = "stage/{number}-{name}"


@pytest.fixture
def feature(repo: GitRepo) -> GitRepo:
    feature_repo(repo)
    return repo


def split(repo: GitRepo, phase_of: dict[str, int] | None = None, **options: Any) -> SplitResult:
    """split_branch with the feature's phases (or ``phase_of``), re-chained linearly."""
    analysis = analyze(repo)
    independent = options.get("layout") is Layout.INDEPENDENT
    phases = make_phases(analysis, phase_of or FEATURE_PHASES, independent=independent)
    return split_branch(
        Repository(repo.path), with_phases(analysis, phases), SplitOptions(**options), phases
    )


def tree(repo: GitRepo, ref: str) -> str:
    return repo.git("rev-parse", f"{ref}^{{tree}}")


def log(repo: GitRepo, rev_range: str, fmt: str = "%s") -> list[str]:
    return repo.git("log", "--reverse", f"--format={fmt}", rev_range).splitlines()


# -- the checkout is never touched ------------------------------------------------


@pytest.mark.parametrize("strategy", list(Strategy))
def test_dirty_checkout_is_byte_identical_and_the_last_phase_is_head(
    feature: GitRepo, strategy: Strategy
) -> None:
    make_dirty(feature)
    before = Checkout.of(feature)
    result = split(feature, strategy=strategy)
    assert Checkout.of(feature) == before
    assert [built.branch for built in result.phases] == [
        "stage/1-part1",
        "stage/2-part2",
        "stage/3-part3",
    ]
    assert tree(feature, "stage/3-part3") == tree(feature, "feature")
    assert all(built.status is BuildStatus.CREATED for built in result.phases)
    assert feature.git("rev-parse", "stage/1-part1~0") == result.phases[0].commit
    files = feature.git("diff", "--name-only", "main", "stage/1-part1").splitlines()
    assert files == ["app/models.py", f"{VERSIONS}/0003_widget.py"]


def test_bare_repository(tmp_path: Path, git_env: dict[str, str], feature: GitRepo) -> None:
    bare = tmp_path / "bare.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(feature.path), str(bare)], check=True)
    bare_repo = GitRepo(bare, git_env)
    before = Checkout.of(bare_repo, bare=True)
    analysis = analyze(bare_repo)
    phases = make_phases(analysis, FEATURE_PHASES)
    result = split_branch(Repository(bare), with_phases(analysis, phases), SplitOptions(), phases)
    assert Checkout.of(bare_repo, bare=True) == before
    assert bare_repo.git("rev-parse", "stage/3-part3^{tree}") == bare_repo.git(
        "rev-parse", "feature^{tree}"
    )
    assert len(result.phases) == 3


# -- strategies ---------------------------------------------------------------------


def test_cherry_pick_keeps_whole_commits_and_labels_parts(feature: GitRepo) -> None:
    result = split(feature, strategy=Strategy.CHERRY_PICK)
    assert {built.strategy for built in result.phases} == {Strategy.CHERRY_PICK}
    # "Add the widget table" is wholly in phase 1: message, author and date kept.
    original = feature.git("log", "-1", "--format=%B%x00%an%x00%ae%x00%ad", "feature~3")
    kept = feature.git("log", "-1", "--format=%B%x00%an%x00%ae%x00%ad", "stage/1-part1")
    assert kept == original and original.startswith("Add the widget table\n\nWith its model.")
    assert log(feature, "main..stage/1-part1") == ["Add the widget table"]
    # "Backfill widgets" is split across phases 2 and 3: each part says what it is part of,
    # keeps the author, and names its source in a trailer (git interpret-trailers reads it).
    source = feature.git("rev-parse", "feature")
    assert log(feature, "stage/1-part1..stage/2-part2") == [
        "Widget service",
        f"Backfill widgets (part of {source[:12]}, stage 2 of 4)",
    ]
    mixed = feature.git("log", "-1", "--format=%B", "stage/2-part2")
    assert "Part of commit " in mixed
    trailers = feature.git("log", "-1", "--format=%(trailers:only,unfold)", "stage/2-part2")
    assert f"Stager-Split-From: {source}" in trailers.splitlines()
    authors = feature.git("log", "-1", "--format=%an <%ae> %ad", "stage/2-part2")
    assert authors == feature.git("log", "-1", "--format=%an <%ae> %ad", "feature")
    assert log(feature, "stage/2-part2..stage/3-part3") == [
        "Docs, a rename, a binary file",
        f"Backfill widgets (part of {source[:12]}, stage 3 of 4)",
    ]
    assert result.phases[0].commits[0].source == feature.git("rev-parse", "feature~3")


def test_patch_is_one_commit_per_phase_by_the_user(feature: GitRepo) -> None:
    result = split(feature, strategy=Strategy.PATCH)
    assert [len(built.commits) for built in result.phases] == [1, 1, 1]
    assert log(feature, "main..stage/3-part3", "%s%x00%an") == [
        "Part 1 (stage 1 of 4)\x00Ada Author",
        "Part 2 (stage 2 of 4)\x00Ada Author",
        "Part 3 (stage 3 of 4)\x00Ada Author",
    ]
    assert feature.git("ls-tree", "stage/2-part2", "app/run.sh").startswith("100755")
    assert feature.git("cat-file", "-p", "stage/3-part3:crlf.txt") == "one\r\ntwo\r\nthree"


def test_auto_uses_patch_where_a_merge_of_the_base_stops_the_replay(feature: GitRepo) -> None:
    feature.checkout("main")
    feature.commit("fix on main", {"docs/readme.md": README.replace("end\n", "the end\n")})
    feature.checkout("feature")
    feature.git("merge", "-q", "--no-edit", "main")
    feature.commit("after the merge", {"app/b.py": module("b", 2)})
    result = split(feature, {**FEATURE_PHASES, "app/b.py": 2})
    strategies = {built.phase.number: built.strategy for built in result.phases}
    assert strategies[3] is Strategy.PATCH  # readme: the merge base already has main's fix
    assert "cherry-pick would stop at commit" in result.phases[2].strategy_note
    assert tree(feature, "stage/3-part3") == tree(feature, "feature")
    with pytest.raises(StagerError, match="cannot be cherry-picked"):
        split(feature, {**FEATURE_PHASES, "app/b.py": 2}, strategy=Strategy.CHERRY_PICK, force=True)


def test_merge_commits_are_replayed_as_their_own_changes(repo: GitRepo) -> None:
    repo.commit("base", {"a.txt": "a\n", "b.txt": "b\n"})
    repo.git("checkout", "-q", "-b", "feature")
    repo.commit("topic start", {"a.txt": "a2\n"})
    repo.git("checkout", "-q", "-b", "side")
    repo.commit("side work", {"c.txt": "c\n"})
    repo.checkout("feature")
    repo.git("merge", "-q", "--no-ff", "--no-edit", "side")
    analysis = analyze(repo)
    phases = make_phases(analysis, {"a.txt": 1, "c.txt": 2})
    result = split_branch(
        Repository(repo.path),
        with_phases(analysis, phases),
        SplitOptions(strategy=Strategy.CHERRY_PICK),
        phases,
    )
    assert [c.subject for c in result.phases[1].commits] == [
        "Merge branch 'side' into feature (stage 2 of 4)"
    ]
    assert "as a patch, never replays it as a merge" in repo.git(
        "log", "-1", "--format=%B", "stage/2-part2"
    )
    assert repo.git("rev-list", "--merges", "main..stage/2-part2") == ""


# -- re-chaining --------------------------------------------------------------------


def test_migrations_are_rechained_in_the_files_and_recorded(feature: GitRepo) -> None:
    # Phase 1 takes the backfill (w2, child of w1): it is chained onto the base head,
    # and w1 in phase 2 onto w2. Later phases never restore the original parents.
    phase_of = {
        **FEATURE_PHASES,
        f"{VERSIONS}/0004_backfill.py": 1,
        f"{VERSIONS}/0003_widget.py": 2,
    }
    result = split(feature, phase_of)
    rewrites = {
        r.revision: (r.old_parents, r.new_parents) for b in result.phases for r in b.rewrites
    }
    assert rewrites == {"w2": (("w1",), ("base2",)), "w1": (("base2",), ("w2",))}
    backfill = feature.git("show", f"stage/1-part1:{VERSIONS}/0004_backfill.py")
    assert 'down_revision: Union[str, None] = "base2"' in backfill and "Revises: base2" in backfill
    widget = feature.git("show", f"stage/3-part3:{VERSIONS}/0003_widget.py")
    assert 'down_revision: Union[str, None] = "w2"' in widget
    assert "Stager-Rechain: w2 w1 -> base2" in feature.git(
        "log", "--format=%B", "main..stage/1-part1"
    )
    head_diff = feature.git("diff", "feature", "stage/3-part3", "--stat").splitlines()
    assert len(head_diff) == 3  # the two re-chained files, and the summary line
    analysis = analyze(feature)
    phases = make_phases(analysis, phase_of)
    verification = verify_split(
        Repository(feature.path), analysis, phases, branch_template=TEMPLATE
    )
    assert verification.ok, verification


def test_a_phase_that_would_break_the_alembic_graph_is_refused(feature: GitRepo) -> None:
    phase_of = {
        **FEATURE_PHASES,
        f"{VERSIONS}/0004_backfill.py": 1,
        f"{VERSIONS}/0003_widget.py": 2,
    }
    analysis = analyze(feature)
    phases = make_phases(analysis, phase_of, chain=False)  # w2 before its parent w1
    before = Checkout.of(feature)
    with pytest.raises(StagerError, match="would break the Alembic history") as error:
        split_branch(
            Repository(feature.path), with_phases(analysis, phases), SplitOptions(), phases
        )
    assert "w1 is not in this phase" in str(error.value)
    assert Checkout.of(feature) == before and feature.git("branch", "--list", "stage/*") == ""


# -- existing branches, --force, --undo, --dry-run ---------------------------------------


def test_rerun_keeps_unchanged_branches_and_refuses_to_overwrite(feature: GitRepo) -> None:
    first = split(feature)
    again = split(feature)
    assert [b.status for b in again.phases] == [BuildStatus.UNCHANGED] * 3
    assert [b.commit for b in again.phases] == [b.commit for b in first.phases]
    # the same trees built with another strategy are other commits: not kept silently
    with pytest.raises(StagerError, match="already exist"):
        split(feature, strategy=Strategy.PATCH)
    patched = split(feature, strategy=Strategy.PATCH, force=True)
    assert [b.status for b in patched.phases] == [BuildStatus.UPDATED] * 3
    assert all(len(b.commits) == 1 and b.strategy is Strategy.PATCH for b in patched.phases)
    assert [b.status for b in split(feature, strategy=Strategy.PATCH).phases] == [
        BuildStatus.UNCHANGED
    ] * 3
    split(feature, force=True)
    feature.git("branch", "-f", "stage/2-part2", "main")
    tips = feature.git("for-each-ref", "refs/heads/stage/")
    with pytest.raises(StagerError, match=r"stage/2-part2 \(at .*already exist.*--force"):
        split(feature)
    assert feature.git("for-each-ref", "refs/heads/stage/") == tips


def test_force_keeps_a_backup_and_undo_restores_every_branch(feature: GitRepo) -> None:
    split(feature)
    built = {
        ref: sha
        for sha, ref in map(
            str.split,
            feature.git(
                "for-each-ref", "--format=%(objectname) %(refname:short)", "refs/heads/stage/"
            ).splitlines(),
        )
    }
    feature.git("branch", "-f", "stage/2-part2", "main")  # moved by hand: stager's branch still
    main = feature.git("rev-parse", "main")
    result = split(feature, force=True)
    statuses = [b.status for b in result.phases]
    assert statuses == [BuildStatus.UNCHANGED, BuildStatus.UPDATED, BuildStatus.UPDATED]
    backup = result.phases[1].backup
    assert backup is not None and backup.startswith("refs/stager/backup/stage/2-part2/")
    assert feature.git("rev-parse", backup) == main
    found = read_record(Repository(feature.path), "feature")
    assert found is not None and found.record.head == feature.git("rev-parse", "feature")
    undone = undo_last_split(Repository(feature.path), split=SplitRules())
    assert [item.now for item in undone.restored] == [main, built["stage/3-part3"]]
    assert feature.git("rev-parse", "stage/2-part2") == main
    assert feature.git("for-each-ref", "refs/stager/backup/") == ""
    with pytest.raises(StagerError, match="changed since the split: stage/2-part2"):
        undo_last_split(Repository(feature.path), split=SplitRules())


def test_undo_refuses_a_branch_that_moved_unless_forced(feature: GitRepo) -> None:
    split(feature)
    feature.git("branch", "-f", "stage/1-part1", "main")
    with pytest.raises(StagerError, match="changed since the split"):
        undo_last_split(Repository(feature.path), split=SplitRules())
    assert feature.git("branch", "--list", "stage/*").split() == [
        "stage/1-part1",
        "stage/2-part2",
        "stage/3-part3",
    ]
    undone = undo_last_split(Repository(feature.path), split=SplitRules(), force=True)
    assert feature.git("branch", "--list", "stage/*") == ""
    kept = undone.restored[0].kept  # the moved tip stays reachable, not only in a reflog
    assert kept is not None and kept.startswith("refs/stager/backup/stage/1-part1/")
    assert feature.git("rev-parse", kept) == feature.git("rev-parse", "main")


def test_dry_run_writes_no_ref_and_no_object(feature: GitRepo) -> None:
    make_dirty(feature)
    before = Checkout.of(feature)
    objects = feature.git("count-objects", "-v")
    result = split(feature, dry_run=True, strategy=Strategy.CHERRY_PICK)
    assert result.dry_run and len(result.phases) == 3
    assert Checkout.of(feature) == before
    assert feature.git("count-objects", "-v") == objects
    assert feature.git("for-each-ref", "refs/heads/stage/", "refs/stager/") == ""
    real = split(feature, strategy=Strategy.CHERRY_PICK)
    assert [b.tree for b in real.phases] == [b.tree for b in result.phases]


def test_a_failing_transaction_leaves_no_branch(feature: GitRepo) -> None:
    # "stage/3-part3/x" exists: git cannot create "stage/3-part3" next to it.
    feature.git("branch", "stage/3-part3/x", "main")
    with pytest.raises(StagerError, match="no branch was changed"):
        split(feature)
    assert feature.git("branch", "--list", "stage/*").split() == ["stage/3-part3/x"]
    assert feature.git("for-each-ref", "refs/stager/") == ""


def test_a_checked_out_phase_branch_is_never_moved(feature: GitRepo) -> None:
    split(feature)
    feature.checkout("stage/2-part2")
    with pytest.raises(StagerError, match="is checked out in"):
        split(feature, force=True, strategy=Strategy.PATCH)


# -- selection, layouts ---------------------------------------------------------------


def test_one_phase_builds_the_missing_earlier_ones_first(feature: GitRepo) -> None:
    result = split(feature, phase=2)
    assert [(b.branch, b.prerequisite) for b in result.phases] == [
        ("stage/1-part1", True),
        ("stage/2-part2", False),
    ]
    assert "building phase 1 (part1) first" in result.notes[0]
    again = split(feature, phase=3)
    assert [b.status for b in again.phases] == [
        BuildStatus.UNCHANGED,
        BuildStatus.UNCHANGED,
        BuildStatus.CREATED,
    ]
    assert again.notes == ()


@pytest.mark.parametrize("strategy", list(Strategy))
@pytest.mark.parametrize("layout", list(Layout))
def test_a_file_replaced_by_a_folder_split_across_phases_is_refused(
    repo: GitRepo, strategy: Strategy, layout: Layout
) -> None:
    """Deleting file ``x`` in phase 2 must not take ``x/y.txt`` (added in phase 1) with it."""
    repo.commit("base", {"x": "file\n", "a.txt": "a\n"})
    repo.git("checkout", "-q", "-b", "feature")
    repo.git("rm", "-q", "x")
    repo.commit("file to folder", {"x/y.txt": "y\n", "a.txt": "b\n"})
    before = Checkout.of(repo)
    with pytest.raises(StagerError, match=r"x would be a file and a folder at once") as raised:
        split(repo, {"x/y.txt": 1, "a.txt": 1, "x": 2}, strategy=strategy, layout=layout)
    assert "x/y.txt (phase 1 (part1))" in str(raised.value)
    assert repo.git("for-each-ref", "refs/heads/stage", "refs/stager") == ""
    assert Checkout.of(repo) == before
    # Both sides of the change in one phase: it builds, and nothing is lost.
    split(repo, {"x/y.txt": 2, "a.txt": 1, "x": 2}, strategy=strategy, layout=layout)
    if layout is Layout.STACKED:
        assert tree(repo, "stage/2-part2") == tree(repo, "feature")
    assert repo.git("ls-tree", "-r", "--name-only", "stage/2-part2") == "a.txt\nx/y.txt"


def test_a_folder_replaced_by_a_file_split_across_phases_is_refused(repo: GitRepo) -> None:
    repo.commit("base", {"d/a.txt": "a\n", "b.txt": "b\n"})
    repo.git("checkout", "-q", "-b", "feature")
    repo.git("rm", "-q", "d/a.txt")
    repo.commit("folder to file", {"d": "now a file\n", "b.txt": "c\n"})
    with pytest.raises(StagerError, match=r"d would be a file and a folder at once"):
        split(repo, {"d": 1, "b.txt": 1, "d/a.txt": 2})
    split(repo, {"d": 2, "b.txt": 1, "d/a.txt": 1})  # the folder goes first: fine
    assert tree(repo, "stage/2-part2") == tree(repo, "feature")


def test_unknown_phase(feature: GitRepo) -> None:
    with pytest.raises(
        StagerError, match=r"no phase 7 in the plan; its phases are phase 1 \(part1\)"
    ):
        split(feature, phase=7)


def test_independent_layout(feature: GitRepo) -> None:
    phase_of = {**FEATURE_PHASES, f"{VERSIONS}/0004_backfill.py": 1}
    result = split(feature, phase_of, layout=Layout.INDEPENDENT)
    merge_base = feature.git("merge-base", "main", "feature")
    assert {b.parent for b in result.phases} == {merge_base}
    for built in result.phases:
        assert built.commits[0].parent == merge_base
        assert feature.git("merge-base", "main", built.branch) == merge_base
    analysis = analyze(feature)
    phases = make_phases(analysis, phase_of, independent=True)
    assert verify_split(Repository(feature.path), analysis, phases, branch_template=TEMPLATE).ok


def test_independent_layout_is_refused_with_the_reason(feature: GitRepo) -> None:
    analysis = analyze(feature)
    dependent = make_phases(analysis, FEATURE_PHASES)
    with pytest.raises(StagerError, match=r"phase 2 \(part2\) depends on phase 1"):
        split_branch(
            Repository(feature.path),
            with_phases(analysis, dependent),
            SplitOptions(layout=Layout.INDEPENDENT),
            dependent,
        )
    two_with_migrations = make_phases(analysis, FEATURE_PHASES, independent=True)
    with pytest.raises(StagerError, match="both add migrations"):
        split_branch(
            Repository(feature.path),
            with_phases(analysis, two_with_migrations),
            SplitOptions(layout=Layout.INDEPENDENT),
            two_with_migrations,
        )


def test_a_plan_that_misses_a_file_is_refused(feature: GitRepo) -> None:
    analysis = analyze(feature)
    phases = make_phases(analysis, FEATURE_PHASES)
    partial = (phases[0], phases[1])
    with pytest.raises(StagerError, match=r"changed file.* in no phase"):
        split_branch(Repository(feature.path), analysis, SplitOptions(), partial)


# -- identity and signing ------------------------------------------------------------------


def test_missing_identity_is_a_clear_error(
    feature: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in (
        "GIT_AUTHOR_NAME",
        "GIT_AUTHOR_EMAIL",
        "GIT_COMMITTER_NAME",
        "GIT_COMMITTER_EMAIL",
        "EMAIL",
    ):
        monkeypatch.delenv(key, raising=False)
    with pytest.raises(StagerError, match=r"no user\.name and user\.email configured"):
        split(feature)
    feature.git("config", "user.name", "Cy")
    feature.git("config", "user.email", "cy@example.com")
    assert len(split(feature).phases) == 3


FAKE_GPG = """#!/bin/sh
cat > /dev/null
echo "[GNUPG:] SIG_CREATED D 1 8 00 1700000000 FAKE" >&2
echo "-----BEGIN PGP SIGNATURE-----"
echo "ZmFrZQ=="
echo "-----END PGP SIGNATURE-----"
"""


def test_commit_gpgsign_and_no_gpg_sign(feature: GitRepo, tmp_path: Path) -> None:
    program = tmp_path / "fake-gpg"
    program.write_text(FAKE_GPG)
    program.chmod(0o755)
    feature.git("config", "gpg.program", str(program))
    feature.git("config", "commit.gpgsign", "true")
    result = split(feature, strategy=Strategy.PATCH)
    assert "gpgsig -----BEGIN PGP SIGNATURE-----" in feature.git(
        "cat-file", "-p", result.phases[0].commit
    )
    unsigned = split(feature, strategy=Strategy.PATCH, sign=False, force=True)
    assert "gpgsig" not in feature.git("cat-file", "-p", unsigned.phases[0].commit)


# -- --onto ------------------------------------------------------------------------------


def test_onto_keeps_the_bases_change_in_every_phase(feature: GitRepo) -> None:
    feature.checkout("main")
    feature.commit(
        "fix b on main",
        {"app/b.py": module("b", 5), "docs/readme.md": README.replace("end\n", "the end\n")},
    )
    feature.checkout("feature")
    result = split(feature, onto="main")
    main = feature.git("rev-parse", "main")
    assert result.start == main and result.phases[0].parent == main
    for built in result.phases:
        assert feature.git("show", f"{built.branch}:app/b.py") == module("b", 5).strip()
        feature.git("merge-base", "--is-ancestor", "main", built.branch)  # raises when not
    readme = feature.git("show", "stage/3-part3:docs/readme.md") + "\n"
    assert readme == README.replace("line\n", "line\nmore\n").replace("end\n", "the end\n")
    readme_2 = feature.git("show", "stage/2-part2:docs/readme.md") + "\n"
    assert readme_2 == README.replace("end\n", "the end\n")  # phase 3's change is not here
    analysis = analyze(feature)
    phases = make_phases(analysis, FEATURE_PHASES)
    assert verify_split(Repository(feature.path), analysis, phases, branch_template=TEMPLATE).ok


def test_onto_rechains_onto_the_refs_new_alembic_head(feature: GitRepo) -> None:
    feature.checkout("main")
    feature.commit("main migration", {f"{VERSIONS}/0003_main.py": migration("m3", "base2", "main")})
    feature.checkout("feature")
    result = split(feature, onto="main")
    rewrites = [(r.revision, r.new_parents, r.reason) for b in result.phases for r in b.rewrites]
    assert rewrites == [("w1", ("m3",), "onto")]
    assert any("w1 re-chained onto main's Alembic head m3" in note for note in result.notes)
    widget = feature.git("show", f"stage/1-part1:{VERSIONS}/0003_widget.py")
    assert 'down_revision: Union[str, None] = "m3"' in widget


def test_onto_rechains_the_first_migration_in_whatever_phase_it_sits(feature: GitRepo) -> None:
    # Phase 1 has no migration: the one on the merge base's head is in phase 2.
    feature.checkout("main")
    feature.commit("main migration", {f"{VERSIONS}/0003_main.py": migration("m3", "base2", "main")})
    feature.checkout("feature")
    later = {path: {1: 2, 2: 1}.get(number, number) for path, number in FEATURE_PHASES.items()}
    result = split(feature, later, onto="main")
    rewrites = [
        (b.phase.number, r.revision, r.new_parents, r.reason)
        for b in result.phases
        for r in b.rewrites
    ]
    assert rewrites == [(2, "w1", ("m3",), "onto")]
    widget = feature.git("show", f"stage/2-part2:{VERSIONS}/0003_widget.py")
    assert 'down_revision: Union[str, None] = "m3"' in widget
    assert feature.git("ls-tree", "stage/1-part1", f"{VERSIONS}/0003_widget.py") == ""


def test_onto_conflicts_are_listed_and_nothing_is_written(feature: GitRepo) -> None:
    feature.checkout("main")
    fix = feature.commit("conflicting fix", {"app/a.py": module("a", 7)})
    feature.checkout("feature")
    objects = feature.git("count-objects", "-v")
    with pytest.raises(StagerError) as error:
        split(feature, onto="main")
    message = str(error.value)
    assert "phase 2 (part2): app/a.py" in message and "CONFLICT" in message
    assert feature.git("count-objects", "-v") == objects  # "nothing was written": not one
    assert f"changed on main by {fix[:10]}" in message
    assert f"on the branch by {feature.git('rev-parse', 'feature~2')[:10]}" in message
    assert feature.git("for-each-ref", "refs/heads/stage/", "refs/stager/") == ""


def test_result_phase_commits_are_real_and_reachable(feature: GitRepo) -> None:
    result = split(feature, strategy=Strategy.CHERRY_PICK)
    for built in result.phases:
        shas = [commit.sha for commit in built.commits]
        chain = feature.git("rev-list", "--reverse", f"{built.parent}..{built.branch}").split()
        assert chain == shas
        assert all(Sha(sha) for sha in shas)


@pytest.mark.parametrize("strategy", list(Strategy))
def test_submodules_and_symlinks(repo: GitRepo, strategy: Strategy) -> None:
    repo.commit("base", {"a.txt": "a\n"})
    repo.git("update-index", "--add", "--cacheinfo", f"160000,{'1' * 40},sub")
    repo.git("commit", "-q", "-m", "a submodule")
    repo.git("checkout", "-q", "-b", "feature")
    repo.git("update-index", "--cacheinfo", f"160000,{'2' * 40},sub")
    (repo.path / "link").symlink_to("a.txt")
    repo.git("add", "link")
    repo.git("commit", "-q", "-m", "bump the submodule, add a link")
    analysis = analyze(repo)
    phases = make_phases(analysis, {"sub": 1, "link": 2})
    options = SplitOptions(strategy=strategy)
    split_branch(Repository(repo.path), with_phases(analysis, phases), options, phases)
    assert tree(repo, "stage/2-part2") == tree(repo, "feature")
    assert repo.git("ls-tree", "stage/1-part1", "sub").startswith(f"160000 commit {'2' * 40}")
    assert repo.git("ls-tree", "stage/1-part1", "link") == ""


@pytest.mark.parametrize("merge", ["fast-forward", "squash"])
def test_onto_the_base_after_phase_1_merged(feature: GitRepo, merge: str) -> None:
    # The normal workflow once the first PR merges: its migration is on main now and
    # must be left alone (not re-chained onto itself), phase 1 has nothing left to add.
    split(feature, onto="main")
    if merge == "fast-forward":
        feature.git("update-ref", "refs/heads/main", "stage/1-part1")
    else:
        squashed = feature.git(
            "commit-tree", "-p", "main", "-m", "Part 1 (#1)", tree(feature, "stage/1-part1")
        )
        feature.git("update-ref", "refs/heads/main", squashed)
    result = split(feature, onto="main", force=True)
    main = feature.git("rev-parse", "main")
    first = result.phases[0]
    assert first.commits == () and first.commit == main and first.rewrites == ()
    assert "already" in first.strategy_note
    assert [r.revision for b in result.phases for r in b.rewrites if r.reason == "onto"] == []
    assert tree(feature, "stage/3-part3") == tree(feature, "feature")
    analysis = analyze(feature)
    phases = make_phases(analysis, FEATURE_PHASES)
    verified = verify_split(Repository(feature.path), analysis, phases, branch_template=TEMPLATE)
    assert verified.ok, verified


@pytest.mark.parametrize("merge", ["fast-forward", "squash"])
def test_onto_again_after_a_rechained_phase_1_merged(feature: GitRepo, merge: str) -> None:
    # main has a migration of its own: the first --onto split re-chains w1 onto it. Once
    # phase 1 merged, main has that re-chained w1: the next --onto split leaves it as main
    # has it (no add/add conflict, no second Alembic head) and phase 1 comes out empty.
    feature.checkout("main")
    feature.commit("main migration", {f"{VERSIONS}/0003_main.py": migration("m3", "base2")})
    feature.checkout("feature")
    split(feature, onto="main")
    if merge == "fast-forward":
        feature.git("update-ref", "refs/heads/main", "stage/1-part1")
    else:
        squashed = feature.git(
            "commit-tree", "-p", "main", "-m", "Part 1 (#1)", tree(feature, "stage/1-part1")
        )
        feature.git("update-ref", "refs/heads/main", squashed)
    before = Checkout.of(feature)
    result = split(feature, onto="main", force=True)
    first = result.phases[0]
    assert first.commits == () and first.commit == feature.git("rev-parse", "main")
    widget = feature.git("show", f"stage/3-part3:{VERSIONS}/0003_widget.py")
    assert 'down_revision: Union[str, None] = "m3"' in widget
    backfill = feature.git("show", f"stage/3-part3:{VERSIONS}/0004_backfill.py")
    assert 'down_revision: Union[str, None] = "w1"' in backfill
    assert feature.git("show", "stage/3-part3:app/a.py") == module("a", 1).rstrip("\n")
    analysis = analyze(feature)
    phases = make_phases(analysis, FEATURE_PHASES)
    verified = verify_split(Repository(feature.path), analysis, phases, branch_template=TEMPLATE)
    assert verified.ok, verified
    assert Checkout.of(feature) == before


LINES = "".join(f"line {n}\n" for n in range(10))


def converging_repo(repo: GitRepo) -> None:
    """The branch changes line 2 twice (x → y → z); main made the same final change."""
    repo.commit("base", {"l.txt": LINES, "b.txt": LINES})
    repo.git("checkout", "-q", "-b", "feature")
    repo.commit("y", {"l.txt": LINES.replace("line 2", "y"), "new.txt": "new\n"})
    repo.commit("z", {"l.txt": LINES.replace("line 2", "z")})
    repo.commit("b", {"b.txt": LINES.replace("line 5", "b")})
    repo.checkout("main")
    repo.commit("main", {"l.txt": LINES.replace("line 2", "z").replace("line 9", "main")})
    repo.checkout("feature")


def test_auto_onto_retries_a_conflicting_replay_as_one_patch(repo: GitRepo) -> None:
    converging_repo(repo)
    phase_of = {"l.txt": 1, "new.txt": 1, "b.txt": 2}
    # the net change merges cleanly (`git merge-tree main feature` agrees)
    assert Repository(repo.path).run(["merge-tree", "--write-tree", "main", "feature"])
    with pytest.raises(StagerError, match=r"l\.txt"):
        split(repo, phase_of, onto="main", strategy=Strategy.CHERRY_PICK)
    result = split(repo, phase_of, onto="main")
    first = result.phases[0]
    assert first.strategy is Strategy.PATCH and len(first.commits) == 1
    assert "the phase as one patch does" in first.strategy_note
    assert result.phases[1].strategy is Strategy.CHERRY_PICK
    main_l = LINES.replace("line 2", "z").replace("line 9", "main")
    assert repo.git("show", "stage/2-part2:l.txt") + "\n" == main_l
    assert repo.git("show", "stage/2-part2:b.txt") + "\n" == LINES.replace("line 5", "b")


def test_onto_never_writes_conflict_markers_git_calls_clean(repo: GitRepo) -> None:
    # main renamed f to g; the branch edits f (as main did, otherwise), adds main's g, then
    # drops f. Replaying the first commit onto main, git's merge-tree pairs f with g, its
    # content merge conflicts, and the add/add of that result with the branch's identical
    # g passes: git calls the merge clean, says "CONFLICT (rename involved in collision)"
    # only in words, and its tree has conflict markers in g. The phase as one patch merges.
    g = "one\nzwei\nthree\n"
    repo.commit("base", {"f.txt": "one\ntwo\nthree\n"})
    repo.git("checkout", "-q", "-b", "feature")
    repo.commit("edit f, add g", {"f.txt": "one\nTWO\nthree\n", "g.txt": g})
    repo.remove("f.txt")
    repo.commit("drop f")
    repo.checkout("main")
    repo.remove("f.txt")
    repo.commit("f becomes g", {"g.txt": g})
    repo.checkout("feature")
    phase_of = dict.fromkeys(("f.txt", "g.txt"), 1)
    with pytest.raises(StagerError, match=r"g\.txt \(CONFLICT \(rename involved in collision\)"):
        split(repo, phase_of, onto="main", strategy=Strategy.CHERRY_PICK)
    result = split(repo, phase_of, onto="main")
    assert result.phases[0].strategy is Strategy.PATCH
    assert tree(repo, "stage/1-part1") == tree(repo, "main")
    assert repo.git("show", "stage/1-part1:g.txt") + "\n" == g


def test_onto_conflicts_of_every_phase_are_listed(repo: GitRepo) -> None:
    repo.commit("base", {"a.txt": LINES, "b.txt": LINES})
    repo.git("checkout", "-q", "-b", "feature")
    repo.commit("a", {"a.txt": LINES.replace("line 1", "branch")})
    repo.commit("b", {"b.txt": LINES.replace("line 1", "branch")})
    repo.checkout("main")
    repo.commit(
        "main",
        {"a.txt": LINES.replace("line 1", "main"), "b.txt": LINES.replace("line 1", "main")},
    )
    repo.checkout("feature")
    for strategy in Strategy:
        with pytest.raises(StagerError) as error:
            split(repo, {"a.txt": 1, "b.txt": 2}, onto="main", strategy=strategy)
        message = str(error.value)
        assert "phase 1 (part1): a.txt" in message and "phase 2 (part2): b.txt" in message
    assert repo.git("for-each-ref", "refs/heads/stage/", "refs/stager/") == ""


def test_independent_onto_verifies_against_the_merge_of_ref_and_head(feature: GitRepo) -> None:
    feature.checkout("main")
    feature.commit("fix on main", {"docs/readme.md": README.replace("end\n", "the end\n")})
    feature.checkout("feature")
    phase_of = {**FEATURE_PHASES, f"{VERSIONS}/0004_backfill.py": 1}
    split(feature, phase_of, layout=Layout.INDEPENDENT, onto="main")
    analysis = analyze(feature)
    phases = make_phases(analysis, phase_of, independent=True)
    verified = verify_split(Repository(feature.path), analysis, phases, branch_template=TEMPLATE)
    assert verified.lossless.ok, verified.lossless
    assert verified.ok
    # and a phase that lost the base's change is caught
    feature.git("update-ref", "refs/heads/stage/3-part3", "stage/3-part3~1")
    lost = verify_split(Repository(feature.path), analysis, phases, branch_template=TEMPLATE)
    assert not lost.lossless.ok


def _replace_tip(repo: GitRepo, branch: str, files: dict[str, str], message: str) -> None:
    """Rewrite ``branch``'s tip commit with other contents or another message (plumbing)."""
    index = repo.path / ".git" / "stager-test-index"
    env = {"GIT_INDEX_FILE": str(index)}
    run = Repository(repo.path).run
    run(["read-tree", branch], env=env)
    for path, text in files.items():
        blob = run(["hash-object", "-w", "--stdin"], stdin=text.encode()).decode().strip()
        run(["update-index", "--cacheinfo", f"100644,{blob},{path}"], env=env)
    new_tree = run(["write-tree"], env=env).decode().strip()
    index.unlink()
    sha = repo.git("commit-tree", "-p", f"{branch}~1", "-m", message, new_tree)
    repo.git("update-ref", f"refs/heads/{branch}", sha)


def test_verify_checks_the_blobs_and_records_of_onto_phases(feature: GitRepo) -> None:
    feature.checkout("main")
    feature.commit("main migration", {f"{VERSIONS}/0003_main.py": migration("m3", "base2", "main")})
    feature.checkout("feature")
    split(feature, onto="main", strategy=Strategy.PATCH)
    analysis = analyze(feature)
    phases = make_phases(analysis, FEATURE_PHASES)

    def plan_problems() -> tuple[str, ...]:
        verified = verify_split(
            Repository(feature.path), analysis, phases, branch_template=TEMPLATE, only=1
        )
        return next(check for check in verified.phases[0].checks if check.name == "plan").details

    assert plan_problems() == ()
    models = feature.git("show", "stage/1-part1:app/models.py")
    _replace_tip(feature, "stage/1-part1", {"app/models.py": "x = 666\n"}, "Part 1")
    assert any("app/models.py" in problem for problem in plan_problems())
    _replace_tip(feature, "stage/1-part1", {"app/models.py": models + "\n"}, "Part 1")
    assert any("w1: re-chained, but no commit message" in p for p in plan_problems())


def test_onto_a_ref_behind_the_merge_base_is_refused(feature: GitRepo) -> None:
    # an unrelated commit, like a stale ref: the merge base is not in its history
    older = feature.git("commit-tree", "-m", "older", feature.git("mktree", check=True))
    feature.git("update-ref", "refs/heads/stale", older)
    with pytest.raises(StagerError, match="does not contain the merge base"):
        split(feature, onto="stale")
    assert feature.git("for-each-ref", "refs/heads/stage/", "refs/stager/") == ""
