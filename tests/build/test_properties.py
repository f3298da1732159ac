"""Property: for random histories and random phases, every strategy and layout loses nothing.

Histories add, modify, delete, rename and chmod text and binary files across
interleaved commits, add Alembic revisions forming random linear or merge
graphs, and sometimes merge the base back into the branch. Phases are drawn at
random per changed file. After ``split --all`` the branches verify, the last
stacked tree is head's except the recorded re-chainings, and the checkout is
byte-for-byte what it was.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stager.build import Layout, SplitOptions, Strategy, independent_problem, split_branch
from stager.errors import StagerError
from stager.git import Repository
from stager.git_history import diff_entries
from stager.types import Sha
from stager.verify import verify_split
from tests.build.helpers import VERSIONS, Checkout, analyze, make_phases, with_phases
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


@st.composite
def histories(draw: st.DrawFn) -> dict[str, object]:
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


def build(repo: GitRepo, history: dict[str, object]) -> None:
    """Write the history: main, then the branch ``feature`` (checked out)."""
    base_files: list[bytes] = history["base_files"]  # type: ignore[assignment]
    files = {f"src/file{i}.txt": content for i, content in enumerate(base_files)}
    files[f"{VERSIONS}/base1.py"] = revision_file("base1", ()).encode()
    repo.commit("base", files)  # type: ignore[arg-type]
    repo.git("checkout", "-q", "-b", "feature")
    heads = ["base1"]
    counter = 0
    for number, ops in enumerate(history["commits"]):  # type: ignore[attr-defined]
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
        merged = repo.git("merge", "-q", "--no-edit", "-X", "ours", "main", check=False)
        if repo.git("ls-files", "--unmerged"):
            repo.git("merge", "--abort")
        del merged
        repo.commit("after merging main", {"src/after.txt": "after\n"})


@pytest.mark.parametrize("layout", list(Layout))
@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(history=histories(), data=st.data())
def test_split_loses_nothing(
    git_env: dict[str, str], layout: Layout, history: dict[str, object], data: st.DataObject
) -> None:
    repo = GitRepo.init(Path(tempfile.mkdtemp(prefix="stager-prop-")) / "repo", git_env)
    build(repo, history)
    dirty(repo)
    analysis = analyze(repo)
    if not analysis.files:
        return
    count = data.draw(st.integers(2, 3), label="phases")
    phase_of = {
        changed.path: data.draw(st.integers(1, count), label=changed.path)
        for changed in analysis.files
    }
    independent = layout is Layout.INDEPENDENT
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
    for strategy in Strategy:
        options = SplitOptions(strategy=strategy, layout=layout, force=True)
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
        if layout is Layout.STACKED:
            last = result.phases[-1].commit
            differing = set(diff_entries(git, Sha(analysis.refs.head), last))
            assert differing == rewritten
        assert Checkout.of(repo) == before
