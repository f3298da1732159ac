"""Property tests: random migration DAGs and random phase rules.

For every generated branch: after each phase the Alembic graph has as many
heads as the merge base, every parent exists when its child lands, no
revision's parent changes between phases, no dependency points to a later
phase, and the phases partition the changed files exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stager.classify import classify
from stager.git.diff import ChangedFile, Status
from stager.git.repository import TreeEntry
from stager.migrations.compare import analyze_migrations
from stager.plan import Plan, PlanInputs, build_plan
from stager.rules.settings import load_rules
from stager.types import RepoPath, Sha
from tests.migrations.builders import MemoryBlobs, migration

NULL = Sha("0" * 40)
KINDS = ("additive", "data", "destructive")
CATEGORIES = ("mig-additive", "mig-data", "mig-destructive", "mig-empty", "code")


@dataclass(frozen=True)
class Branch:
    base: dict[str, tuple[str, ...]]  # revision → parents, on the merge base
    base_heads: int
    added: list[tuple[str, tuple[str, ...], str, str | None]]  # rev, parents, kind, depends_on
    code: list[str]
    rules: str


@st.composite
def branches(draw: st.DrawFn) -> Branch:
    lineages = draw(st.integers(1, 2))
    base: dict[str, tuple[str, ...]] = {}
    nodes: dict[int, list[str]] = {}
    heads: dict[int, list[str]] = {}
    covers: dict[str, frozenset[str]] = {}  # a revision → the base heads it descends from
    for lineage in range(lineages):
        chain = [f"b{lineage}{i}" for i in range(draw(st.integers(1, 2)))]
        for index, revision in enumerate(chain):
            base[revision] = (chain[index - 1],) if index else ()
            covers[revision] = frozenset()
        nodes[lineage] = list(chain)
        heads[lineage] = [chain[-1]]
        if draw(st.booleans()):
            # Several heads from one root: a second base head forks off the root.
            fork = f"b{lineage}f"
            base[fork] = (chain[0],)
            nodes[lineage].append(fork)
            heads[lineage].append(fork)
        for revision in heads[lineage]:
            covers[revision] = frozenset({revision})

    def mergeable(first: str, second: str) -> bool:
        # Merging two base heads' lines would leave fewer heads than the base has.
        return len(covers[first] | covers[second]) <= 1

    added: list[tuple[str, tuple[str, ...], str, str | None]] = []
    for number in range(draw(st.integers(1, 7))):
        revision = f"m{number:02d}"
        lineage = draw(st.integers(0, lineages - 1))
        if len(heads[lineage]) >= 2 and mergeable(*heads[lineage][-2:]) and draw(st.booleans()):
            parents = tuple(heads[lineage][-2:])
        else:
            parents = (draw(st.sampled_from(nodes[lineage])),)
        kind = draw(st.sampled_from(KINDS))
        earlier = [a[0] for a in added]
        depends = draw(st.sampled_from(earlier)) if earlier and draw(st.booleans()) else None
        added.append((revision, parents, kind, depends))
        covers[revision] = frozenset().union(*(covers[p] for p in parents))
        nodes[lineage].append(revision)
        heads[lineage] = [h for h in heads[lineage] if h not in parents] + [revision]
    # Merge each lineage back to as many heads as its base has, as a ready branch would.
    extra = 0
    for lineage in range(lineages):
        while True:
            pair = next(
                (
                    (first, second)
                    for i, first in enumerate(heads[lineage])
                    for second in heads[lineage][i + 1 :]
                    if mergeable(first, second)
                ),
                None,
            )
            if pair is None:
                break
            revision = f"z{extra:02d}"
            extra += 1
            added.append((revision, pair, "empty", None))
            covers[revision] = covers[pair[0]] | covers[pair[1]]
            heads[lineage] = [h for h in heads[lineage] if h not in pair] + [revision]
    code = [f"app/f{i}.py" for i in range(draw(st.integers(0, 3)))]
    phase_count = draw(st.integers(2, 4))
    owner = {c: draw(st.integers(0, phase_count)) for c in CATEGORIES}  # 0: no phase
    revisions = [a[0] for a in added]
    taken = {r: draw(st.integers(0, phase_count)) for r in revisions}
    path_phase = {p: draw(st.integers(0, phase_count)) for p in code}
    rules = [
        '[[category]]\nname = "mig-additive"\nmigration = ["additive", "reference-data"]\n'
        'risk = "medium"\n',
        '[[category]]\nname = "mig-data"\nmigration = ["data"]\nrisk = "high"\n',
        '[[category]]\nname = "mig-destructive"\nmigration = ["destructive"]\nrisk = "critical"\n',
        '[[category]]\nname = "mig-empty"\nmigration = ["empty"]\nrisk = "low"\n',
        '[[category]]\nname = "code"\npaths = ["*"]\nrisk = "medium"\n',
    ]
    for number in range(1, phase_count + 1):
        categories = [c for c in CATEGORIES if owner[c] == number]
        listed = [r for r in revisions if taken[r] == number]
        paths = [p for p in code if path_phase[p] == number]
        rules.append(
            f'[[phase]]\nname = "p{number}"\ncategories = {categories!r}\n'.replace("'", '"')
            + (f"migrations = {listed!r}\n".replace("'", '"') if listed else "")
            + (f"paths = {paths!r}\n".replace("'", '"') if paths else "")
        )
    base_heads = len(set(base) - {p for ps in base.values() for p in ps})
    return Branch(base, base_heads, added, code, "\n".join(rules))


def _upgrade(kind: str, revision: str, tables: list[str]) -> str:
    if kind == "additive":
        return f'op.create_table("t_{revision}", sa.Column("c", sa.Integer()))'
    target = tables[-1] if tables else "account"
    if kind == "data":
        return f'op.execute("UPDATE {target} SET c = 1")'
    if kind == "destructive":
        return f'op.drop_column("{target}", "c")'
    return "pass"


def _plan(branch: Branch) -> tuple[Plan, list[ChangedFile]]:
    blobs = MemoryBlobs()
    base_files = {
        f"migrations/versions/{rev}.py": migration(rev, list(parents) or None)
        for rev, parents in branch.base.items()
    }
    head_files = dict(base_files)
    tables: list[str] = []
    for revision, parents, kind, depends in branch.added:
        head_files[f"migrations/versions/{revision}.py"] = migration(
            revision, list(parents), upgrade=_upgrade(kind, revision, tables), depends_on=depends
        )
        if kind == "additive":
            tables.append(f"t_{revision}")
    for path in branch.code:
        head_files[path] = "X = 1\n"
    base_tree = blobs.tree(base_files)
    head_tree = blobs.tree(head_files)
    files = [
        ChangedFile(
            path=path,
            status=Status.ADDED,
            old_path=None,
            old_mode="000000",
            new_mode="100644",
            old_blob=NULL,
            new_blob=entry.blob,
            additions=1,
            deletions=0,
        )
        for path, entry in sorted(head_tree.items())
        if path not in base_tree
    ]
    report = analyze_migrations(base_tree, head_tree, None, blobs)
    rules = load_rules(branch.rules, "rules.toml")
    classes = classify(files, rules, report.by_path, [])
    inputs = PlanInputs(tuple(files), tuple(classes), rules, report, NULL, NULL)
    return build_plan(inputs, blobs, _keys(head_tree)), files


def _keys(tree: dict[RepoPath, TreeEntry]) -> list[str]:
    return list(tree)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(branches())
def test_every_phase_keeps_the_alembic_history_whole(branch: Branch) -> None:
    plan, files = _plan(branch)
    # The phases partition the changed files exactly.
    planned = [f.path for phase in plan.phases for f in phase.files]
    assert sorted(planned) == sorted(f.path for f in files)
    assert len(planned) == len(set(planned))

    parents: dict[str, tuple[str, ...]] = dict(branch.base)
    placed: dict[str, int] = {}
    for phase in plan.phases:
        for planned_migration in phase.migrations:
            revision = planned_migration.revision
            assert revision not in parents, "a revision lands twice (its parent would change)"
            for parent in planned_migration.down_revision:
                assert parent in parents, f"{revision}'s parent {parent} is not there yet"
            for dependency in planned_migration.depends_on:
                assert dependency in parents, f"{revision} depends on {dependency}, not there yet"
            parents[revision] = planned_migration.down_revision
            placed[revision] = phase.number
        referenced = {p for ps in parents.values() for p in ps}
        heads = [revision for revision in parents if revision not in referenced]
        assert len(heads) == branch.base_heads, (phase.number, heads)
    assert set(placed) == {a[0] for a in branch.added}

    # No dependency points to a later phase (strict ones: to an earlier phase,
    # unless a finding says the migration needs an expand/contract split).
    reported = {finding.path for finding in plan.findings}
    for edge in plan.dependencies:
        here, there = plan.phase_of(edge.dependent), plan.phase_of(edge.dependency)
        assert here is not None and there is not None
        assert here >= there, edge
        if edge.strict and here == there:
            assert edge.dependent in reported, edge


@settings(max_examples=40, deadline=None)
@given(branches())
def test_the_same_inputs_give_the_same_plan(branch: Branch) -> None:
    assert _plan(branch)[0] == _plan(branch)[0]
