"""Property: for random histories and random phases, every strategy and layout loses nothing.

Histories add, modify, delete, rename and chmod text and binary files across
interleaved commits, add Alembic revisions forming random linear or merge
graphs, and sometimes merge the base back into the branch (conflicts resolved
by hand, the merge sometimes the branch's head). Phases are drawn at
random per changed file. After ``split --all`` the branches verify, the last
stacked tree is head's except the recorded re-chainings, independent phases
add up to head's changes, and the checkout is byte-for-byte what it was.
Stacked, the --onto workflow follows: main gets a migration of its own, the
branches are split onto it, phase 1 is squash-merged, and they are split again.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TypedDict

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stager.analysis import Analysis
from stager.branches.graph_check import broken_graph
from stager.branches.split import independent_problem, split_branch
from stager.branches.split_types import Layout, SplitOptions, Strategy
from stager.branches.verify import verify_split
from stager.errors import StagerError
from stager.git.history import diff_entries
from stager.git.repository import Repository
from stager.plan.phase import Phase
from stager.types import RepoPath, Sha
from tests.branches.helpers import VERSIONS, Checkout, analyze, make_phases, with_phases
from tests.gitrepo import GitRepo

TEMPLATE = "stage/{number}-{name}"


def revision_file(revision: str, parents: tuple[str, ...]) -> str:
    if not parents:
        down = "None"
    elif len(parents) == 1:
        down = repr(parents[0])
    else:
        down = "(" + ", ".join(repr(parent) for parent in parents) + ")"
    return (
        f'"""rev {revision}\n\nRevision ID: {revision}\nRevises: {", ".join(parents)}\n"""\n'
        f"from alembic import op\n\nrevision = {revision!r}\ndown_revision = {down}\n"
        "branch_labels = None\ndepends_on = None\n\n\ndef upgrade():\n    pass\n"
    )


_LINES = st.lists(st.sampled_from(["alpha", "beta", "gamma", "", "delta  ", "é"]), max_size=6)


@st.composite
def contents(draw: st.DrawFn) -> bytes:
    if draw(st.integers(0, 4)) == 0:
        return draw(st.binary(min_size=1, max_size=64)) + b"\0"
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    text = newline.join(draw(_LINES))
    if draw(st.booleans()):
        text += newline
    return text.encode()


OPS = st.sampled_from(
    ["add", "modify", "delete", "rename", "chmod"] + ["migration", "merge-migration"] * 2
)


class History(TypedDict):
    base_files: list[bytes]
    commits: list[list[tuple[str, int, bytes]]]  # per commit: (operation, pick, content)
    merge_base_into_branch: bool
    head_is_merge: bool
    seed: int


@st.composite
def histories(draw: st.DrawFn) -> History:
    commits = draw(
        st.lists(
            st.lists(st.tuples(OPS, st.integers(0, 50), contents()), min_size=2, max_size=5),
            min_size=2,
            max_size=4,
        )
    )
    return {
        "base_files": draw(st.lists(contents(), min_size=2, max_size=5)),
        "commits": commits,
        "merge_base_into_branch": draw(st.booleans()),
        "head_is_merge": draw(st.booleans()),
        "seed": draw(st.integers(0, 1000)),
    }


def dirty(repo: GitRepo) -> None:
    """An untracked file, a staged and an unstaged change."""
    repo.write("untracked.txt", "mine\n")
    tracked = sorted(repo.git("ls-files", "src").splitlines())
    if tracked:
        repo.write(tracked[0], "unstaged\n")
    repo.write("src/staged.txt", "staged\n")
    repo.git("add", "src/staged.txt")


def build(repo: GitRepo, history: History) -> None:
    """Write the history: main, then the branch ``feature`` (checked out)."""
    base_files = history["base_files"]
    files: dict[str, str | bytes] = {
        f"src/file{i}.txt": content for i, content in enumerate(base_files)
    }
    files[f"{VERSIONS}/base1.py"] = revision_file("base1", ()).encode()
    repo.commit("base", files)
    repo.git("checkout", "-q", "-b", "feature")
    heads = ["base1"]
    counter = 0
    for number, ops in enumerate(history["commits"]):
        for op, pick, content in ops:
            present = sorted(
                path for path in repo.git("ls-files").splitlines() if path.startswith("src/")
            )
            counter += 1
            if op == "add" or not present:
                suffix = "bin" if b"\0" in content else "txt"
                repo.write(f"src/new{counter}.{suffix}", content)
            elif op == "modify":
                repo.write(present[pick % len(present)], content)
            elif op == "delete":
                repo.git("rm", "-q", "-f", present[pick % len(present)])
            elif op == "rename":
                (repo.path / f"src/moved{counter}").mkdir(parents=True)
                repo.git("mv", "-f", present[pick % len(present)], f"src/moved{counter}/r.txt")
            elif op == "chmod":
                target = repo.path / present[pick % len(present)]
                target.chmod(target.stat().st_mode ^ 0o111)
            else:
                revision = f"rev{counter}"
                parents: tuple[str, ...]
                if op == "merge-migration" and len(heads) > 1:
                    parents = (heads[-1], heads[-2])
                    heads = [h for h in heads if h not in parents]
                else:
                    parents = (heads[pick % len(heads)],)
                    if pick % 2 == 0:
                        heads.remove(parents[0])  # a linear step; otherwise a new branch
                heads.append(revision)
                repo.write(f"{VERSIONS}/{revision}.py", revision_file(revision, parents))
        repo.commit(f"step {number}\n\nbody of step {number}", {})
    if history["merge_base_into_branch"]:
        # main changes a file the branch may change too: the merge brings main's
        # version into the merge base, which a plain replay of the branch cannot apply on.
        repo.checkout("main")
        first = base_files[0] if base_files else b""
        repo.commit(
            "main moves on", {"src/file0.txt": first + b"\nfrom main\n", "src/main.txt": "m\n"}
        )
        repo.checkout("feature")
        repo.git("merge", "-q", "--no-edit", "main", check=False)
        unmerged = {
            line.split("\t", 1)[1] for line in repo.git("ls-files", "--unmerged").splitlines()
        }
        for path in sorted(unmerged):  # resolve by hand: the merge's own change
            repo.write(path, b"resolved by the merge\n")
            repo.git("add", "--", path)
        if unmerged:
            repo.git("commit", "-q", "--no-edit")
        assert len(repo.git("rev-list", "--merges", "main..feature").splitlines()) == 1
        if not history["head_is_merge"]:
            repo.commit("after merging main", {"src/after.txt": "after\n"})


@pytest.mark.parametrize("layout", list(Layout))
@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(history=histories(), data=st.data())
def test_split_loses_nothing(
    git_env: dict[str, str], layout: Layout, history: History, data: st.DataObject
) -> None:
    with tempfile.TemporaryDirectory(prefix="stager-prop-") as folder:
        split_loses_nothing(GitRepo.init(Path(folder) / "repo", git_env), layout, history, data)


def split_loses_nothing(
    repo: GitRepo, layout: Layout, history: History, data: st.DataObject
) -> None:
    """One example, in a repository that is deleted afterwards."""
    build(repo, history)
    dirty(repo)
    analysis = analyze(repo)
    if not analysis.files:
        return
    count = data.draw(st.integers(2, 3), label="phases")
    independent = layout is Layout.INDEPENDENT
    # Independent phases allow migrations in one phase only: keep them together there,
    # or nearly every independent example would only check the refusal.
    migrations_in = data.draw(st.integers(1, count), label="migrations") if independent else 0
    phase_of: dict[str, int] = {
        changed.path: migrations_in
        if migrations_in and changed.path.startswith(VERSIONS)
        else data.draw(st.integers(1, count), label=changed.path)
        for changed in analysis.files
    }
    phases = make_phases(analysis, phase_of, independent=independent)
    planned = with_phases(analysis, phases)
    before = Checkout.of(repo)
    git = Repository(repo.path)
    rewritten = {
        migration.path
        for phase in phases
        for migration in phase.migrations
        if migration.down_revision != analysis.migrations.by_path[migration.path].down_revisions
    }
    # A random graph may have two heads of the branch's own: split as --rechain-broken does.
    broken = broken_graph(analysis.migrations, phases).revisions
    for strategy in Strategy:
        options = SplitOptions(strategy=strategy, layout=layout, force=True, broken=broken)
        if independent and independent_problem(phases):
            with pytest.raises(StagerError, match="--layout independent is not possible"):
                split_branch(git, planned, options, phases)
            return
        try:
            result = split_branch(git, planned, options, phases)
        except StagerError as error:
            # Only a branch that merged its base can stop a plain replay.
            assert strategy is Strategy.CHERRY_PICK and history["merge_base_into_branch"], error
            assert "cannot be cherry-picked" in str(error)
            continue
        verification = verify_split(git, planned, phases, branch_template=TEMPLATE)
        assert verification.ok, (strategy, verification)
        head_changes = diff_entries(git, Sha(analysis.refs.merge_base), Sha(analysis.refs.head))
        assert set(head_changes) >= {changed.path for changed in analysis.files}
        if layout is Layout.STACKED:
            last = result.phases[-1].commit
            differing = set(diff_entries(git, Sha(analysis.refs.head), last))
            assert differing == rewritten
        else:  # the phases' changes add up to head's, each path in one phase
            found: dict[RepoPath, object] = {}
            for built in result.phases:
                for path, (_, new) in diff_entries(git, built.parent, built.commit).items():
                    assert path not in found, path
                    found[path] = new
            assert set(found) == set(head_changes)
            assert {path: found[path] for path in set(found) - rewritten} == {
                path: head_changes[path][1] for path in set(found) - rewritten
            }
        assert Checkout.of(repo) == before
    if layout is Layout.STACKED:
        onto_after_merges(repo, planned, phases)


def onto_after_merges(repo: GitRepo, analysis: Analysis, phases: tuple[Phase, ...]) -> None:
    """The --onto workflow: main gets a migration of its own, phase 1 merges, split again.

    Each time the branches verify against the merge of main and head, and the
    last one has every change of head (the merge of main and head, except the
    re-chainings). When git's own merge of main and head conflicts (identical
    files that its rename detection pairs differently on each side), verify can
    only say that; the last phase must then be the path-wise merge: main's
    version of every path, head's of each path only head changed.
    """
    git = Repository(repo.path)
    # main moves on with plumbing: the checkout is dirty and stays as it is
    blob_file = repo.path.parent / "main1.tmp"
    blob_file.write_text(revision_file("main1", ("base1",)))
    blob = repo.git("hash-object", "-w", str(blob_file))
    saved = repo.env
    with tempfile.TemporaryDirectory() as folder:
        repo.env = {**saved, "GIT_INDEX_FILE": str(Path(folder) / "index")}
        try:
            repo.git("read-tree", "main")
            repo.git("update-index", "--add", "--cacheinfo", f"100644,{blob},{VERSIONS}/main1.py")
            main_tree = repo.git("write-tree")
        finally:
            repo.env = saved
    moved = repo.git("commit-tree", "-p", "main", "-m", "main's own migration", main_tree)
    repo.git("update-ref", "refs/heads/main", moved)
    before = Checkout.of(repo)
    broken = broken_graph(analysis.migrations, phases).revisions  # as --rechain-broken does
    options = SplitOptions(onto="main", force=True, broken=broken)
    for _ in range(2):
        result = split_branch(git, analysis, options, phases)
        verification = verify_split(git, analysis, phases, branch_template=TEMPLATE)
        assert Checkout.of(repo) == before
        last = Sha(result.phases[-1].commit)
        rewritten = {rewrite.path for built in result.phases for rewrite in built.rewrites}
        args = ["merge-tree", "--write-tree", "--name-only", "--messages", "main", "feature"]
        merged = repo.git(*args, check=False).splitlines()
        if not any(line.startswith("CONFLICT") for line in merged):
            assert verification.ok, verification
            assert set(diff_entries(git, Sha(merged[0]), last)) <= rewritten
        else:
            # verify merges head re-chained (it may merge where feature does not) or says why not
            failed = [c for p in verification.phases for c in p.checks if not c.ok]
            lossless = verification.lossless.details
            assert verification.ok or (not failed and len(lossless) == 1), verification
            assert verification.ok or lossless[0].startswith("main and head do not merge")
            path_wise_merge_is(repo, last, rewritten)
        # phase 1's pull request merges (squashed): the next split leaves its part alone
        first = result.phases[0]
        squash = repo.git(
            "commit-tree", "-p", "main", "-m", "Part 1 (#1)", f"{first.commit}^{{tree}}"
        )
        repo.git("update-ref", "refs/heads/main", squash)
        before = Checkout.of(repo)


def path_wise_merge_is(repo: GitRepo, last: Sha, rewritten: set[RepoPath]) -> None:
    """``last`` is main with head's version of each path only head changed (rewrites aside)."""
    git = Repository(repo.path)
    merge_base = Sha(repo.git("merge-base", "main", "feature"))
    main = Sha(repo.git("rev-parse", "main"))
    ours = diff_entries(git, merge_base, main)
    theirs = diff_entries(git, merge_base, Sha(repo.git("rev-parse", "feature")))
    for path in set(ours) & set(theirs) - rewritten:  # no path changed differently
        assert ours[path][1] == theirs[path][1], path
    expected = {path: new for path, (_, new) in theirs.items() if path not in ours}
    found = {path: new for path, (_, new) in diff_entries(git, main, last).items()}
    assert {p: v for p, v in found.items() if p not in rewritten} == {
        p: v for p, v in expected.items() if p not in rewritten
    }
