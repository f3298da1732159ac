"""Each kind of dependency, on a real git branch: what moves, and why."""

from __future__ import annotations

from pathlib import Path

from stager.analysis import Analysis
from stager.plan.phase import Conflict, DependencyKind, PlannedFile, PlannedMigration
from tests.gitrepo import GitRepo
from tests.plan.helpers import (
    RULES,
    analyze,
    edge_kinds,
    make_branch,
    phases,
    plan_of,
    revision_file,
    version_path,
)

H0 = "h0000000000a"
BASE = {version_path(H0): revision_file(H0, None, 'op.create_table("account")')}


def conflict_for(analysis: Analysis, path: str) -> Conflict:
    return next(c for c in plan_of(analysis).conflicts if c.path == path)


def test_seed_case_rechains_phase_one_migration_below_the_data_migration(
    repo: GitRepo, tmp_path: Path
) -> None:
    # The seed's trap: an additive migration whose parent is a data migration.
    data, additive = "d000000000d1", "a000000000a1"
    make_branch(
        repo,
        BASE,
        {
            version_path(data): revision_file(data, H0, 'op.execute("UPDATE account SET x = 1")'),
            version_path(additive): revision_file(additive, data, 'op.create_table("penalty")'),
        },
    )
    analysis = analyze(repo, tmp_path)
    plan = plan_of(analysis)
    assert phases(analysis)[version_path(additive)] == 1
    assert phases(analysis)[version_path(data)] == 2
    first, second = plan.phase(1), plan.phase(2)
    assert first is not None and second is not None
    (moved,) = first.migrations
    assert (moved.revision, moved.down_revision, moved.original_down_revision) == (
        additive,
        (H0,),
        (data,),
    )
    assert moved.rechained
    (stacked,) = second.migrations
    # Stacked on what phase 1 left, never back on its original parent's old place.
    assert (stacked.revision, stacked.down_revision) == (data, (additive,))
    assert plan.conflicts == ()


def test_schema_object_created_later_moves_the_migration_that_uses_it(
    repo: GitRepo, tmp_path: Path
) -> None:
    creates, indexes = "c000000000c1", "i000000000i1"
    make_branch(
        repo,
        BASE,
        {
            # a data migration (phase 2) that also creates the table
            version_path(creates): revision_file(
                creates,
                H0,
                'op.create_table("penalty", sa.Column("id", sa.Integer()))\n'
                'op.execute("UPDATE account SET x = 1")',
            ),
            # additive (phase 1), but it indexes the table above
            version_path(indexes): revision_file(
                indexes, creates, 'op.create_index("ix_penalty_id", "penalty", ["id"])'
            ),
        },
    )
    analysis = analyze(repo, tmp_path)
    assert phases(analysis)[version_path(indexes)] == 2
    conflict = conflict_for(analysis, version_path(indexes))
    assert (conflict.asked, conflict.needed) == (1, 2)
    assert conflict.dependency.kind is DependencyKind.SCHEMA
    assert "table penalty" in conflict.dependency.reason
    # Same phase, original order: no re-chaining needed.
    phase = plan_of(analysis).phase(2)
    assert phase is not None
    assert [m.down_revision for m in phase.migrations] == [(H0,), (creates,)]


MODEL_BASE = """\
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class Summary(Base):
    __tablename__ = "summary"

    id: Mapped[int] = mapped_column(primary_key=True)
    legacy_total: Mapped[int | None]
"""


def test_model_column_whose_migration_is_in_a_later_phase_moves_the_model(
    repo: GitRepo, tmp_path: Path
) -> None:
    adds = "b000000000b1"
    make_branch(
        repo,
        {**BASE, "app/models/summary.py": MODEL_BASE},
        {
            # adds the column and backfills it: a data migration, phase 2
            version_path(adds): revision_file(
                adds,
                H0,
                'op.add_column("summary", sa.Column("snapshot", sa.JSON()))\n'
                "op.execute(\"UPDATE summary SET snapshot = '{}'\")",
            ),
            "app/models/summary.py": MODEL_BASE + "    snapshot: Mapped[dict | None]\n",
        },
    )
    analysis = analyze(repo, tmp_path)
    assert phases(analysis)["app/models/summary.py"] == 2
    conflict = conflict_for(analysis, "app/models/summary.py")
    assert conflict.dependency.kind is DependencyKind.MODEL
    assert "summary.snapshot" in conflict.dependency.reason
    assert adds in conflict.dependency.reason
    planned: dict[str, PlannedFile] = {f.path: f for p in plan_of(analysis).phases for f in p.files}
    assert (
        "moved from phase 1 (schema) to phase 2 (data)" in planned["app/models/summary.py"].reason
    )


SQLMODEL_BASE = """\
import uuid

from sqlmodel import Field, Relationship, SQLModel


class ItemBase(SQLModel):
    title: str = Field(max_length=255)


class Item(ItemBase, table=True):
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    owner: "User | None" = Relationship(back_populates="items")
"""
SQLMODEL_HEAD = (
    SQLMODEL_BASE.replace(
        "    title: str = Field(max_length=255)\n",
        '    title: str = Field(max_length=255)\n    status: str = Field(default="active")\n',
    )
    + """

class Tag(SQLModel, table=True):
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    name: str
"""
)


def test_a_sqlmodel_field_inherited_from_its_base_waits_for_the_migration_adding_its_column(
    repo: GitRepo, tmp_path: Path
) -> None:
    """fastapi's template: ``Item(ItemBase, table=True)`` maps ItemBase's fields, no
    ``__tablename__``. The branch adds Tag (its table in phase 1) and ``status``, whose
    column a data migration (phase 2) adds and backfills: the models file waits for it,
    and the phase-1 file importing Tag moves with it."""
    tag, status = "a000000000t1", "d000000000s1"
    users = "app/tags/models.py"  # a models file too: the rules ask phase 1 for it
    make_branch(
        repo,
        {**BASE, "app/models.py": SQLMODEL_BASE},
        {
            **_tag_and_status_migrations(tag, status),
            "app/models.py": SQLMODEL_HEAD,
            users: "from app.models import Tag\n\nTAGGED = Tag\n",
            "app/routes/tags.py": "from app.models import Tag\n\nROUTE = Tag\n",
        },
    )
    analysis = analyze(repo, tmp_path)
    placed = phases(analysis)
    assert placed[version_path(tag)] == 1
    assert placed[version_path(status)] == placed["app/models.py"] == 2
    assert placed[users] == 2
    assert placed["app/routes/tags.py"] == 3
    assert edge_kinds(analysis, "app/models.py", version_path(tag)) == ["model"]
    conflict = conflict_for(analysis, "app/models.py")
    assert (conflict.asked, conflict.needed) == (1, 2)
    assert conflict.dependency.kind is DependencyKind.MODEL
    assert conflict.dependency.dependency == version_path(status)
    assert "Item.status" in conflict.dependency.reason
    assert "item.status" in conflict.dependency.reason
    assert status in conflict.dependency.reason
    moved = conflict_for(analysis, users)
    assert (moved.asked, moved.needed, moved.dependency.kind) == (1, 2, DependencyKind.IMPORT)


def _tag_and_status_migrations(tag: str, status: str) -> dict[str, str]:
    """The SQLModel branch's migrations: the table tag (additive), then item.status added and
    backfilled (a data migration)."""
    return {
        version_path(tag): revision_file(
            tag, H0, 'op.create_table("tag", sa.Column("id", sa.Uuid()))'
        ),
        version_path(status): revision_file(
            status,
            tag,
            'op.add_column("item", sa.Column("status", sa.String(32)))\n'
            "op.execute(\"UPDATE item SET status = 'active'\")",
        ),
    }


FILLER = "".join(f"# note {n}\n" for n in range(8))  # keeps the two changes apart: two hunks


def _route_branch(repo: GitRepo, tmp_path: Path, match: str) -> Analysis:
    """The SQLModel branch, its models file's hunks matching ``match`` routed to phase 1."""
    tag, status = "a000000000t2", "d000000000s2"
    head = SQLMODEL_HEAD.replace("\n\nclass Tag(", f"\n\n{FILLER}\n\nclass Tag(")
    make_branch(
        repo,
        {**BASE, "app/models.py": SQLMODEL_BASE.rstrip("\n") + f"\n\n\n{FILLER}"},
        {
            **_tag_and_status_migrations(tag, status),
            "app/models.py": head.rstrip("\n") + f"\n\n\n{FILLER}",
        },
    )
    route = f'hunks = [{{ path = "app/models.py", match = "{match}" }}]\n'
    rules = RULES.replace(
        'categories = ["migration-additive", "models"]\n',
        'categories = ["migration-additive", "models"]\n' + route,
    )
    return analyze(repo, tmp_path, rules)


def test_a_route_shipping_a_model_s_new_column_before_its_migration_keeps_the_file_whole(
    repo: GitRepo, tmp_path: Path
) -> None:
    analysis = _route_branch(repo, tmp_path, "status")
    assert phases(analysis)["app/models.py"] == 2
    assert plan_of(analysis).partials == ()
    (warning,) = [w for w in plan_of(analysis).warnings if w.startswith("app/models.py")]
    assert warning == (
        "app/models.py: the version for phase 1 maps Item.status: the column item.status, "
        "which migration d000000000s2 adds in phase 2; it ships whole in phase 2"
    )


def test_a_route_shipping_a_model_s_new_table_with_its_migration_splits_the_file(
    repo: GitRepo, tmp_path: Path
) -> None:
    analysis = _route_branch(repo, tmp_path, "Tag|tag")
    (partial,) = plan_of(analysis).partials
    assert (partial.path, partial.phase, partial.file_phase, partial.routed) == (
        "app/models.py",
        1,
        2,
        (2,),
    )
    assert not [w for w in plan_of(analysis).warnings if w.startswith("app/models.py")]


SERVICE_BASE = """\
from app.models import Summary


def total(summary: Summary) -> int:
    return summary.legacy_total or 0
"""
SERVICE_HEAD = """\
from app.models import Summary


def total(summary: Summary) -> int:
    return 0
"""
CONTRACT_RULES = RULES.replace(
    'categories = ["migration-data"]', 'categories = ["migration-data", "migration-destructive"]'
).replace('categories = ["migration-destructive"]\n', "categories = []\n")


def test_drop_lands_strictly_after_the_code_that_stops_using_the_column(
    repo: GitRepo, tmp_path: Path
) -> None:
    drop = "e000000000e1"
    make_branch(
        repo,
        {**BASE, "app/models/summary.py": MODEL_BASE, "app/service.py": SERVICE_BASE},
        {
            version_path(drop): revision_file(
                drop, H0, 'op.drop_column("summary", "legacy_total")'
            ),
            "app/service.py": SERVICE_HEAD,
        },
    )
    # These rules put drops in phase 2, before the code (phase 3): it must move to 4.
    analysis = analyze(repo, tmp_path, CONTRACT_RULES)
    assert phases(analysis)["app/service.py"] == 3
    assert phases(analysis)[version_path(drop)] == 4
    conflict = conflict_for(analysis, version_path(drop))
    assert (conflict.asked, conflict.needed) == (2, 4)
    assert conflict.dependency.kind is DependencyKind.CONTRACT
    assert conflict.dependency.strict
    assert conflict.dependency.dependency == "app/service.py"
    assert "legacy_total" in conflict.dependency.reason


def test_a_drop_with_no_later_phase_stays_and_is_reported(repo: GitRepo, tmp_path: Path) -> None:
    drop = "e000000000e2"
    make_branch(
        repo,
        {**BASE, "app/models/summary.py": MODEL_BASE, "app/service.py": SERVICE_BASE},
        {
            version_path(drop): revision_file(
                drop, H0, 'op.drop_column("summary", "legacy_total")'
            ),
            "app/service.py": SERVICE_HEAD,
        },
    )
    three_phases = CONTRACT_RULES.replace('\n[[phase]]\nname = "contract"\ncategories = []\n', "")
    three_phases = three_phases.replace(
        'categories = ["migration-data", "migration-destructive"]',
        'categories = ["migration-data"]',
    ).replace(
        'categories = ["code", "tests"]', 'categories = ["code", "tests", "migration-destructive"]'
    )
    analysis = analyze(repo, tmp_path, three_phases)
    assert phases(analysis)[version_path(drop)] == 3
    (finding,) = [f for f in analysis.findings if f.rule == "SP002"]
    assert finding.path == version_path(drop)
    assert "last phase" in finding.message


def test_expand_and_contract_in_one_migration_stay_together_with_a_finding_when_not_split(
    repo: GitRepo, tmp_path: Path
) -> None:
    both = "f000000000f1"
    model_head = MODEL_BASE.replace("legacy_total: Mapped[int | None]", "total: Mapped[int | None]")
    service_head = SERVICE_BASE.replace("summary.legacy_total", "summary.total")
    make_branch(
        repo,
        {**BASE, "app/models/summary.py": MODEL_BASE, "app/service.py": SERVICE_BASE},
        {
            version_path(both): revision_file(
                both,
                H0,
                'op.add_column("summary", sa.Column("total", sa.Integer()))\n'
                'op.drop_column("summary", "legacy_total")',
            ),
            "app/models/summary.py": model_head,
            "app/service.py": service_head,
        },
    )
    analysis = analyze(repo, tmp_path, RULES + "\n[split]\nexpand_contract = false\n")
    placed = phases(analysis)
    # The new code needs the new column, the drop needs the old code gone: one phase.
    assert placed[version_path(both)] == placed["app/service.py"] == placed["app/models/summary.py"]
    (finding,) = [f for f in analysis.findings if f.rule == "SP001"]
    assert finding.path == version_path(both)
    assert "expand/contract" in finding.hint


def test_python_import_of_a_module_the_branch_adds_later(repo: GitRepo, tmp_path: Path) -> None:
    make_branch(
        repo,
        {**BASE, "app/models/thing.py": "X = 1\n", "app/shared.py": "OLD = 1\n"},
        {
            "app/helpers.py": "def fmt(x):\n    return str(x)\n",
            "app/models/thing.py": "from app.helpers import fmt\n\nX = fmt(1)\n",
            "app/models/other.py": "from app.shared import NEW\n",
            "app/shared.py": "OLD = 1\nNEW = 2\n",
        },
    )
    analysis = analyze(repo, tmp_path)
    placed = phases(analysis)
    assert placed["app/helpers.py"] == placed["app/models/thing.py"] == 3
    assert placed["app/models/other.py"] == 3
    assert edge_kinds(analysis, "app/models/thing.py", "app/helpers.py") == ["import"]
    reason = conflict_for(analysis, "app/models/other.py").dependency.reason
    assert "`NEW`" in reason and "app/shared.py" in reason


def test_a_name_the_branch_adds_to_the_package_reached_by_a_relative_import(
    repo: GitRepo, tmp_path: Path
) -> None:
    """``from . import helper`` names no module file: the package's __init__.py is what it loads."""
    make_branch(
        repo,
        {**BASE, "app/__init__.py": "", "app/jobs.py": "X = 1\n"},
        {
            "app/__init__.py": "def helper():\n    return 1\n",
            "app/jobs.py": "from . import helper\n\nX = helper()\n",
        },
    )
    analysis = analyze(repo, tmp_path)
    assert edge_kinds(analysis, "app/jobs.py", "app/__init__.py") == ["import"]
    (edge,) = [e for e in plan_of(analysis).dependencies if e.dependent == "app/jobs.py"]
    assert "`helper`" in edge.reason and "app/__init__.py" in edge.reason


def test_python_removal_waits_for_the_code_that_stops_importing_it(
    repo: GitRepo, tmp_path: Path
) -> None:
    make_branch(
        repo,
        {
            **BASE,
            "app/models/base.py": "def legacy_name():\n    return 1\n\nKEEP = 1\n",
            "app/service.py": "from app.models.base import legacy_name\n\nY = legacy_name()\n",
        },
        {
            "app/models/base.py": "KEEP = 1\n",
            "app/service.py": "from app.models.base import KEEP\n\nY = KEEP\n",
        },
    )
    analysis = analyze(repo, tmp_path)
    # The merge-base service imports legacy_name until phase 3: the removal waits.
    assert phases(analysis)["app/models/base.py"] == 3
    conflict = conflict_for(analysis, "app/models/base.py")
    assert conflict.dependency.kind is DependencyKind.IMPORT
    assert "legacy_name" in conflict.dependency.reason


EARLY_JS_RULES = RULES.replace(
    'name = "schema"\n',
    'name = "schema"\npaths = ["frontend/src/early.js", "frontend/src/Widget.jsx"]\n',
)


def test_relative_js_imports_and_requires(repo: GitRepo, tmp_path: Path) -> None:
    make_branch(
        repo,
        {**BASE, "frontend/src/early.js": "export const a = 1;\n", "frontend/src/util.js": "1\n"},
        {
            "frontend/src/early.js": (
                "import { late } from './late';\nconst u = require('./util');\n"
                "export const a = late;\n"
            ),
            "frontend/src/late.jsx": "export const late = 2;\n",
            "frontend/src/util.js": "module.exports = 2;\n",
            "frontend/src/Widget.jsx": "export default function Widget() { return null; }\n",
        },
    )
    analysis = analyze(repo, tmp_path, EARLY_JS_RULES)
    placed = phases(analysis)
    assert placed["frontend/src/early.js"] == 3
    assert placed["frontend/src/Widget.jsx"] == 1  # asked by the phase's paths, needs nothing
    kinds = edge_kinds(analysis, "frontend/src/early.js", "frontend/src/late.jsx")
    assert kinds == ["import"]
    assert edge_kinds(analysis, "frontend/src/early.js", "frontend/src/util.js") == ["import"]


LATE_SUBJECT_RULES = RULES.replace(
    'name = "contract"\n', 'name = "contract"\npaths = ["app/widget.py", "web/Foo.jsx"]\n'
)


def test_tests_follow_their_subject(repo: GitRepo, tmp_path: Path) -> None:
    make_branch(
        repo,
        BASE,
        {
            "app/widget.py": "def widget():\n    return 1\n",
            "tests/test_widget.py": "def test_nothing():\n    assert True\n",
            "web/Foo.jsx": "export default 1;\n",
            "web/Foo.test.jsx": "test('x', () => {});\n",
        },
    )
    analysis = analyze(repo, tmp_path, LATE_SUBJECT_RULES)
    placed = phases(analysis)
    assert placed["tests/test_widget.py"] == placed["app/widget.py"] == 4
    assert placed["web/Foo.test.jsx"] == placed["web/Foo.jsx"] == 4
    assert conflict_for(analysis, "tests/test_widget.py").dependency.kind is DependencyKind.TEST


def test_a_rename_is_one_change_in_one_phase(repo: GitRepo, tmp_path: Path) -> None:
    body = "".join(f"def function_{n}():\n    return {n}\n\n" for n in range(20))
    make_branch(repo, {**BASE, "app/models/old_name.py": body}, {"app/models/old_name.py": None})
    repo.commit("rename", {"app/models/new_name.py": body})
    rules = RULES.replace('name = "data"\n', 'name = "data"\npaths = ["app/models/old_name.py"]\n')
    analysis = analyze(repo, tmp_path, rules)
    (change,) = [f for f in analysis.files if f.old_path is not None]
    assert (change.old_path, change.path) == ("app/models/old_name.py", "app/models/new_name.py")
    placed = phases(analysis)
    # asked through its old path: both paths ship together in that phase
    assert placed["app/models/old_name.py"] == placed["app/models/new_name.py"] == 2
    phase = plan_of(analysis).phase(2)
    assert phase is not None
    (planned,) = phase.files
    assert planned.old_path == "app/models/old_name.py"
    assert set(phase.paths) == {"app/models/old_name.py", "app/models/new_name.py"}


def test_depends_on_keeps_its_target_no_later(repo: GitRepo, tmp_path: Path) -> None:
    data, early, needs = "d000000000d2", "a000000000a2", "a000000000a3"
    make_branch(
        repo,
        BASE,
        {
            version_path(data): revision_file(data, H0, 'op.execute("UPDATE account SET x = 1")'),
            version_path(early): revision_file(early, data, 'op.create_table("one")'),
            version_path(needs): revision_file(
                needs, early, 'op.create_table("two")', depends_on=data
            ),
        },
    )
    analysis = analyze(repo, tmp_path)
    placed = phases(analysis)
    assert placed[version_path(early)] == 1
    assert placed[version_path(needs)] == 2
    conflict = conflict_for(analysis, version_path(needs))
    assert conflict.dependency.kind is DependencyKind.DEPENDS_ON
    second = plan_of(analysis).phase(2)
    assert second is not None
    chain: dict[str, PlannedMigration] = {m.revision: m for m in second.migrations}
    assert chain[needs].depends_on == (data,)  # kept as written
    assert chain[data].down_revision == (early,)
    assert chain[needs].down_revision == (data,)


def test_without_rechaining_a_migration_waits_for_its_parent(repo: GitRepo, tmp_path: Path) -> None:
    data, additive = "d000000000d3", "a000000000a4"
    make_branch(
        repo,
        BASE,
        {
            version_path(data): revision_file(data, H0, 'op.execute("UPDATE account SET x = 1")'),
            version_path(additive): revision_file(additive, data, 'op.create_table("penalty")'),
        },
    )
    analysis = analyze(repo, tmp_path, "[stager]\nrechain = false\n" + RULES)
    assert phases(analysis)[version_path(additive)] == 2
    conflict = conflict_for(analysis, version_path(additive))
    assert conflict.dependency.kind is DependencyKind.MIGRATION
    assert not any(m.rechained for m in plan_of(analysis).migrations())


def test_two_data_changes_to_one_existing_table_keep_their_order(
    repo: GitRepo, tmp_path: Path
) -> None:
    # DELETE the row, then INSERT it again: re-chaining the INSERT (reference data,
    # phase 1) below the DELETE (data, phase 2) would leave the row deleted.
    delete, insert = "d000000000d9", "r000000000r9"
    make_branch(
        repo,
        BASE,
        {
            version_path(delete): revision_file(
                delete, H0, "op.execute(\"DELETE FROM account WHERE code = 'BETA'\")"
            ),
            version_path(insert): revision_file(
                insert, delete, "op.execute(\"INSERT INTO account (code) VALUES ('BETA')\")"
            ),
        },
    )
    analysis = analyze(repo, tmp_path)
    assert edge_kinds(analysis, version_path(insert), version_path(delete)) == ["schema"]
    assert phases(analysis)[version_path(insert)] >= phases(analysis)[version_path(delete)]
    chain: dict[str, tuple[str, ...]] = {
        m.revision: m.down_revision for m in plan_of(analysis).migrations()
    }
    assert chain[insert] == (delete,)


def test_a_call_to_a_changed_signature_waits_for_the_change(repo: GitRepo, tmp_path: Path) -> None:
    make_branch(
        repo,
        {
            **BASE,
            "app/__init__.py": "",
            "app/lib.py": "def helper(x):\n    return x\n",
            "app/models/__init__.py": "",
            "app/models/thing.py": "from app.lib import helper\n\nY = helper(1)\n",
        },
        {
            "app/lib.py": "def helper(x, y):\n    return x + y\n",
            "app/models/thing.py": "from app.lib import helper\n\nY = helper(1, 2)\n",
        },
    )
    analysis = analyze(repo, tmp_path)
    placed = phases(analysis)
    assert placed["app/models/thing.py"] == placed["app/lib.py"] == 3
    assert edge_kinds(analysis, "app/models/thing.py", "app/lib.py") == ["import"]
    # The old call breaks against the new signature: the change waits for it too.
    assert edge_kinds(analysis, "app/lib.py", "app/models/thing.py") == ["import"]
    assert "`helper`" in conflict_for(analysis, "app/models/thing.py").dependency.reason


def test_a_standard_library_import_is_not_a_first_party_module(
    repo: GitRepo, tmp_path: Path
) -> None:
    model = "import logging\n\nclass User:\n    __tablename__ = 'users'\n"
    make_branch(
        repo,
        {
            **BASE,
            "backend/app/__init__.py": "",
            "backend/app/models/__init__.py": "",
            "backend/app/models/user.py": model,
        },
        {
            "backend/app/models/user.py": model + "\nLOG = logging.getLogger(__name__)\n",
            "backend/app/utils/__init__.py": "",
            "backend/app/utils/logging.py": "def setup():\n    pass\n",
        },
    )
    analysis = analyze(repo, tmp_path)
    assert phases(analysis)["backend/app/models/user.py"] == 1
    assert edge_kinds(analysis, "backend/app/models/user.py", "backend/app/utils/logging.py") == []


def test_raw_sql_naming_a_new_column_needs_the_migration_adding_it(
    repo: GitRepo, tmp_path: Path
) -> None:
    adds = "d000000000e1"  # adds the column and backfills it: a data migration (phase 2)
    query = 'QUERY = "SELECT new_col FROM account WHERE id = 1"\n'
    make_branch(
        repo,
        {**BASE, "app/models/report.py": 'QUERY = "SELECT id FROM account"\n'},
        {
            version_path(adds): revision_file(
                adds,
                H0,
                'op.add_column("account", sa.Column("new_col", sa.Integer()))\n'
                'op.execute("UPDATE account SET new_col = 1")',
            ),
            "app/models/report.py": query,
        },
    )
    analysis = analyze(repo, tmp_path)
    assert phases(analysis)[version_path(adds)] == 2
    assert phases(analysis)["app/models/report.py"] == 2
    reason = conflict_for(analysis, "app/models/report.py").dependency.reason
    assert "new_col" in reason and adds in reason


def test_code_reading_a_backfilled_column_waits_for_the_backfill(
    repo: GitRepo, tmp_path: Path
) -> None:
    # expand (add display_name), migrate (backfill it), then code reads it
    add, fill = "e000000000a1", "e000000000a2"
    service = "app/services/users.py"
    make_branch(
        repo,
        {**BASE, service: "def label(user):\n    return user.email\n"},
        {
            version_path(add): revision_file(
                add, H0, 'op.add_column("account", sa.Column("display_name", sa.String()))'
            ),
            version_path(fill): revision_file(
                fill, add, "op.execute(\"UPDATE account SET display_name = 'x'\")"
            ),
            service: "def label(user):\n    return user.display_name\n",
        },
    )
    analysis = analyze(repo, tmp_path)
    assert edge_kinds(analysis, service, version_path(fill)) == ["model"]
    [code_phase] = [p for p in plan_of(analysis).phases if p.name == "code"]
    assert 2 in code_phase.depends_on  # before the backfill, every display_name is NULL
    # rules that put the code before the data phase: the code moves after the backfill
    code_first = RULES.replace(
        '[[phase]]\nname = "data"\ncategories = ["migration-data"]\n\n', ""
    ).replace(
        '[[phase]]\nname = "contract"',
        '[[phase]]\nname = "data"\ncategories = ["migration-data"]\n\n[[phase]]\nname = "contract"',
    )
    moved = analyze(repo, tmp_path, code_first)
    assert phases(moved)[version_path(fill)] == 3
    assert phases(moved)[service] == 3
    assert "data migration e000000000a2 fills" in conflict_for(moved, service).dependency.reason


def test_a_test_that_stops_using_a_dropped_column_needs_no_later_phase(
    repo: GitRepo, tmp_path: Path
) -> None:
    drop = "e000000000b1"
    test = "tests/test_account.py"
    make_branch(
        repo,
        {**BASE, test: "def test_legacy(account):\n    assert account.legacy_code\n"},
        {
            version_path(drop): revision_file(drop, H0, 'op.drop_column("account", "legacy_code")'),
            test: "def test_legacy(account):\n    assert account.id\n",
        },
    )
    # the tests ship with the contract migrations: no old instance ever runs a test
    tests_last = RULES.replace('categories = ["code", "tests"]', 'categories = ["code"]').replace(
        'categories = ["migration-destructive"]', 'categories = ["migration-destructive", "tests"]'
    )
    analysis = analyze(repo, tmp_path, tests_last)
    assert phases(analysis)[version_path(drop)] == phases(analysis)[test] == 4
    [edge] = [e for e in plan_of(analysis).dependencies if e.dependency == test]
    assert edge.kind is DependencyKind.CONTRACT and not edge.strict
    assert "the test tests/test_account.py" in edge.reason
    assert not plan_of(analysis).findings  # no SP001/SP002: nothing to split


def test_an_unrelated_attribute_of_the_same_name_is_not_a_model_column(
    repo: GitRepo, tmp_path: Path
) -> None:
    add = "e000000000c1"
    model = "app/models/product.py"
    mapped = (
        "from sqlalchemy.orm import Mapped, mapped_column\n\n\n"
        "class Product(Base):\n"
        '    __tablename__ = "product"\n'
        "    id: Mapped[int] = mapped_column(primary_key=True)\n"
    )
    health, service = "app/api/health.py", "app/services/products.py"
    make_branch(
        repo,
        {**BASE, model: mapped, service: "from app.models.product import Product\n"},
        {
            version_path(add): revision_file(
                add, H0, 'op.add_column("product", sa.Column("status", sa.String()))'
            ),
            model: mapped + "    status: Mapped[str | None] = mapped_column()\n",
            # an HTTP client's response.status: nothing to do with Product.status
            health: "import requests\n\n\ndef ping():\n    return requests.get('x').status\n",
            service: "from app.models.product import Product\n\n\n"
            "def label(product):\n    return product.status\n",
        },
    )
    analysis = analyze(repo, tmp_path)
    assert edge_kinds(analysis, service, model) == ["model"]
    assert edge_kinds(analysis, health, model) == []


def test_other_code_names_a_new_table_only_in_its_sql(repo: GitRepo, tmp_path: Path) -> None:
    adds = "e000000000d1"  # creates the table and fills it: a data migration (phase 2)
    component, query, report = "web/Payments.jsx", "web/db.js", "sql/report.sql"
    make_branch(
        repo,
        BASE,
        {
            version_path(adds): revision_file(
                adds,
                H0,
                'op.create_table("payments", sa.Column("id", sa.Integer()))\n'
                'op.execute("UPDATE account SET id = id WHERE id < 0")',
            ),
            # a React component's state and import: no SQL at all
            component: "import Payments from './Payments';\nconst [payments] = useState([]);\n",
            query: "export const q = `SELECT id FROM payments WHERE id = $1`;\n",
            report: "SELECT count(*) FROM payments;\n",
        },
    )
    analysis = analyze(repo, tmp_path)
    assert phases(analysis)[version_path(adds)] == 2
    assert edge_kinds(analysis, component, version_path(adds)) == []
    assert phases(analysis)[component] == 3  # the code phase, not dragged anywhere
    assert edge_kinds(analysis, query, version_path(adds)) == ["model"]
    assert edge_kinds(analysis, report, version_path(adds)) == ["model"]


def test_a_name_the_user_imports_itself_is_not_the_targets(repo: GitRepo, tmp_path: Path) -> None:
    """app/service.py has its own `import datetime`; the branch adds `import datetime` to the
    ETL module it imports: its use of datetime needs nothing from that module."""
    service = "import datetime\n\nfrom etl import jobs\n\nNOW = datetime.date.today()\n"
    make_branch(
        repo,
        {**BASE, "etl/__init__.py": "", "etl/jobs.py": "def run():\n    pass\n"},
        {
            "etl/jobs.py": "import datetime\n\ndef run():\n    return datetime.date.today()\n",
            "app/service.py": service + "RUN = jobs.run\n",
        },
    )
    analysis = analyze(repo, tmp_path)
    assert edge_kinds(analysis, "app/service.py", "etl/jobs.py") == []
    assert phases(analysis)["app/service.py"] == 3


def test_sql_a_revision_reads_ships_in_that_revision_s_phase(repo: GitRepo, tmp_path: Path) -> None:
    additive = "a000000000a9"
    read = 'op.create_table("t")\nop.execute((Path(__file__).parent / "seed.sql").read_text())'
    sql = f"{version_path(additive).rsplit('/', 1)[0]}/seed.sql"
    make_branch(
        repo,
        BASE,
        {version_path(additive): revision_file(additive, H0, read), sql: "SELECT 1;\n"},
    )
    placed = phases(analyze(repo, tmp_path))
    # the opaque op.execute makes it a data migration; the SQL file alone would go last
    assert placed[sql] == placed[version_path(additive)] == 2
