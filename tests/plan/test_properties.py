"""Property tests: random migration DAGs and random phase rules.

For every generated branch: after each phase the Alembic graph has as many
heads as the merge base, every parent exists when its child lands, no
revision's parent changes between phases, no dependency points to a later
phase, and the phases partition the changed files exactly.

The changed code is added, modified, renamed and deleted Python modules that
import what the branch adds to each other, and a SQLAlchemy model of the table
``account`` that maps the columns migrations add and stops mapping the ones
they drop. So also: a renamed file's two paths share a phase, an importer never
lands before the module it needs, a model mapping a new column never before
the migration adding it, and a drop never before the model that stops mapping
the column (strictly after it, unless a finding says why not).
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
from tests.examples import examples
from tests.migrations.builders import MemoryBlobs, migration

NULL = Sha("0" * 40)
KINDS = ("additive", "data", "destructive")
CATEGORIES = ("mig-additive", "mig-data", "mig-destructive", "mig-empty", "code")


CODE_STATUSES = (Status.ADDED, Status.MODIFIED, Status.DELETED, Status.RENAMED)
MODEL = "app/models/account.py"


@dataclass(frozen=True)
class CodeFile:
    """``app/f{number}.py``: its change, and the changed modules it imports (by number)."""

    number: int
    status: Status
    imports: tuple[int, ...]

    @property
    def path(self) -> str:
        return f"app/f{self.number}.py"

    @property
    def old_path(self) -> str:
        return f"app/old_f{self.number}.py" if self.status is Status.RENAMED else self.path

    def text(self, *, head: bool) -> str | None:
        """The module on one side; the head version adds ``new_N`` and uses its imports'."""
        if self.status is (Status.DELETED if head else Status.ADDED):
            return None
        text = f"def old_{self.number}():\n    return {self.number}\n"
        if not head:
            return text
        lines = [f"from app.f{n} import new_{n}\n" for n in self.imports]
        lines += [text, f"\n\ndef new_{self.number}():\n    return {self.number}\n"]
        lines += [f"\n\nVALUE_{n} = new_{n}()\n" for n in self.imports]
        return "".join(lines)


@dataclass(frozen=True)
class Added:
    """A branch revision; ``column`` is the column of ``account`` it adds or drops."""

    revision: str
    parents: tuple[str, ...]
    kind: str
    depends_on: str | None
    column: str | None = None
    mapped: bool = False  # the head model maps the added column / still maps the dropped one


@dataclass(frozen=True)
class Branch:
    base: dict[str, tuple[str, ...]]  # revision → parents, on the merge base
    base_heads: int
    added: list[Added]
    code: list[CodeFile]
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

    added: list[Added] = []
    for number in range(draw(st.integers(1, 7))):
        revision = f"m{number:02d}"
        lineage = draw(st.integers(0, lineages - 1))
        if len(heads[lineage]) >= 2 and mergeable(*heads[lineage][-2:]) and draw(st.booleans()):
            parents = tuple(heads[lineage][-2:])
        else:
            parents = (draw(st.sampled_from(nodes[lineage])),)
        kind = draw(st.sampled_from(KINDS))
        earlier = [a.revision for a in added]
        depends: str | None = None
        if len(earlier) > 0 and draw(st.booleans()):
            depends = draw(st.sampled_from(earlier))
        column = None
        if kind in ("additive", "destructive") and draw(st.booleans()):
            column = f"c_{revision}"  # a column of account, mapped by the model on one side
        added.append(Added(revision, parents, kind, depends, column, draw(st.booleans())))
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
            added.append(Added(revision, pair, "empty", None))
            covers[revision] = covers[pair[0]] | covers[pair[1]]
            heads[lineage] = [h for h in heads[lineage] if h not in pair] + [revision]
    count = draw(st.integers(0, 4))
    statuses = [draw(st.sampled_from(CODE_STATUSES)) for _ in range(count)]
    present = [n for n in range(count) if statuses[n] is not Status.DELETED]
    code = [
        CodeFile(
            number,
            status,
            tuple(
                sorted(
                    draw(st.sets(st.sampled_from(present), max_size=2)) - {number}
                    if present and status is not Status.DELETED
                    else set()
                )
            ),
        )
        for number, status in enumerate(statuses)
    ]
    phase_count = draw(st.integers(2, 4))
    owner = {c: draw(st.integers(0, phase_count)) for c in CATEGORIES}  # 0: no phase
    revisions = [a.revision for a in added]
    taken = {r: draw(st.integers(0, phase_count)) for r in revisions}
    path_phase = {p: draw(st.integers(0, phase_count)) for p in [MODEL, *(c.path for c in code)]}
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
        paths = [p for p in path_phase if path_phase[p] == number]
        rules.append(
            f'[[phase]]\nname = "p{number}"\ncategories = {categories!r}\n'.replace("'", '"')
            + (f"migrations = {listed!r}\n".replace("'", '"') if listed else "")
            + (f"paths = {paths!r}\n".replace("'", '"') if paths else "")
        )
    base_heads = len(set(base) - {p for ps in base.values() for p in ps})
    return Branch(base, base_heads, added, code, "\n".join(rules))


def _upgrade(added: Added, tables: list[str]) -> str:
    if added.column:
        verb = "add_column" if added.kind == "additive" else "drop_column"
        column = f"sa.Column({added.column!r}, sa.Integer())" if verb == "add_column" else None
        return f'op.{verb}("account", {column or repr(added.column)})'
    if added.kind == "additive":
        return f'op.create_table("t_{added.revision}", sa.Column("c", sa.Integer()))'
    target = tables[-1] if tables else "account"
    if added.kind == "data":
        return f'op.execute("UPDATE {target} SET c = 1")'
    if added.kind == "destructive":
        return f'op.drop_column("{target}", "c")'
    return "pass"


def model(columns: list[str]) -> str:
    """The SQLAlchemy model of ``account`` mapping ``columns``."""
    return (
        "from sqlalchemy import Column, Integer\nfrom sqlalchemy.orm import declarative_base\n\n"
        "Base = declarative_base()\n\n\nclass Account(Base):\n"
        '    __tablename__ = "account"\n    id = Column(Integer, primary_key=True)\n'
        + "".join(f"    {column} = Column(Integer)\n" for column in columns)
    )


def trees(branch: Branch) -> tuple[dict[str, str], dict[str, str]]:
    """The merge base's files and head's."""
    base = {
        f"migrations/versions/{rev}.py": migration(rev, list(parents) or None)
        for rev, parents in branch.base.items()
    }
    base["app/__init__.py"] = ""
    head = dict(base)
    tables: list[str] = []
    for added in branch.added:
        head[f"migrations/versions/{added.revision}.py"] = migration(
            added.revision,
            list(added.parents),
            upgrade=_upgrade(added, tables),
            depends_on=added.depends_on,
        )
        if added.kind == "additive" and not added.column:
            tables.append(f"t_{added.revision}")
    dropped = [a for a in branch.added if a.column and a.kind == "destructive"]
    gained = [a for a in branch.added if a.column and a.kind == "additive"]
    base[MODEL] = model([a.column for a in dropped if a.column])
    head[MODEL] = model([a.column for a in [*dropped, *gained] if a.column and a.mapped])
    for code in branch.code:
        for files, is_head in ((base, False), (head, True)):
            text = code.text(head=is_head)
            if text is not None:
                files[code.path if is_head else code.old_path] = text
    return base, head


def changes(
    branch: Branch, base: dict[RepoPath, TreeEntry], head: dict[RepoPath, TreeEntry]
) -> list[ChangedFile]:
    """What ``git diff`` reports between the trees, renames as the generator made them."""
    renamed = {RepoPath(c.path): RepoPath(c.old_path) for c in branch.code if c.old_path != c.path}
    found = []
    for path in sorted(set(base) | set(head)):
        old = renamed.get(path, path)
        if path in renamed.values() or (path in base and path in head and base[path] == head[path]):
            continue
        before, after = base.get(old), head.get(path)
        if path in renamed:
            status = Status.RENAMED
        else:
            status = (
                Status.MODIFIED if before and after else Status.DELETED if before else Status.ADDED
            )
        found.append(
            ChangedFile(
                path=path,
                status=status,
                old_path=old if path in renamed else None,
                old_mode=before.mode if before else "000000",
                new_mode=after.mode if after else "000000",
                old_blob=before.blob if before else NULL,
                new_blob=after.blob if after else NULL,
                additions=1,
                deletions=0,
            )
        )
    return found


def _plan(branch: Branch) -> tuple[Plan, list[ChangedFile]]:
    blobs = MemoryBlobs()
    base_files, head_files = trees(branch)
    base_tree = blobs.tree(base_files)
    head_tree = blobs.tree(head_files)
    files = changes(branch, base_tree, head_tree)
    report = analyze_migrations(base_tree, head_tree, None, blobs)
    rules = load_rules(branch.rules, "rules.toml")
    classes = classify(files, rules, report.by_path, [])
    inputs = PlanInputs(tuple(files), tuple(classes), rules, report, NULL, NULL)
    return build_plan(inputs, blobs, list(head_tree)), files


def phase_number(plan: Plan, path: str) -> int:
    number = plan.phase_of(RepoPath(path))
    assert number is not None, f"{path} is in no phase"
    return number


def revision_path(added: Added) -> str:
    return f"migrations/versions/{added.revision}.py"


@settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.too_slow])
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
    assert set(placed) == {a.revision for a in branch.added}

    # No dependency points to a later phase (strict ones: to an earlier phase,
    # unless a finding says the migration needs an expand/contract split).
    reported = {finding.path for finding in plan.findings}
    for edge in plan.dependencies:
        here, there = plan.phase_of(edge.dependent), plan.phase_of(edge.dependency)
        assert here is not None and there is not None
        assert here >= there, edge
        if edge.strict and here == there:
            assert edge.dependent in reported, edge

    # A rename is one change: both its paths in one phase.
    for code in branch.code:
        if code.status is Status.RENAMED:
            assert phase_number(plan, code.old_path) == phase_number(plan, code.path), code
    # An importer never lands before the module whose new name it uses.
    for code in branch.code:
        for number in code.imports:
            assert phase_number(plan, code.path) >= phase_number(plan, f"app/f{number}.py"), (
                code,
                number,
            )
    # The model maps a new column no earlier than its migration adds it, and a
    # drop lands after the model stops mapping the column (or a finding says why not).
    changed = {f.path for f in files}
    for added in branch.added:
        if not added.column or MODEL not in changed:
            continue
        migration_phase = phase_number(plan, revision_path(added))
        if added.kind == "additive" and added.mapped:
            assert phase_number(plan, MODEL) >= migration_phase, added
        if added.kind == "destructive" and not added.mapped:
            assert migration_phase > phase_number(plan, MODEL) or (
                migration_phase == phase_number(plan, MODEL) and revision_path(added) in reported
            ), (added, plan.phases)


@settings(max_examples=examples(40), deadline=None)
@given(branches())
def test_the_same_inputs_give_the_same_plan(branch: Branch) -> None:
    assert _plan(branch)[0] == _plan(branch)[0]
