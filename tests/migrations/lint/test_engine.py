"""The rules inside `stager analyze`: the branch's revisions, read from git in one batch."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from stager.migrations.compare import Tree, analyze_migrations
from stager.migrations.lint.engine import source_facts, with_rule_findings
from stager.rules.settings import default_rules, load_rules
from stager.types import RepoPath
from tests.migrations.builders import MemoryBlobs
from tests.migrations.lint.revisions import revision, revision_source

INI = "[alembic]\nscript_location = migrations\n"
ENV = "from alembic import context\ncontext.configure(transaction_per_migration={flag})\n"
ADD = "op.execute(\"ALTER TYPE role ADD VALUE 'BETA'\")"
USE = "op.execute(\"UPDATE account SET role = 'BETA' WHERE id = 1\")"


def trees(blobs: MemoryBlobs, per_migration: bool = False) -> tuple[Tree, Tree]:
    base_files: dict[str, str | bytes] = {
        "alembic.ini": INI,
        "migrations/env.py": ENV.format(flag=per_migration),
        "migrations/versions/r0.py": revision_source('op.create_table("t")', revision="r0"),
    }
    head_files: dict[str, str | bytes] = {
        **base_files,
        # edited on the branch: SG006, and judged on its own
        "migrations/versions/r0.py": revision_source(
            'op.create_table("t")\nop.drop_column("u", "c")', revision="r0"
        ),
        "migrations/versions/r1.py": revision_source(ADD, revision="r1", down="r0"),
        "migrations/versions/r2.py": revision_source(USE, revision="r2", down="r1"),
    }
    return blobs.tree(base_files), blobs.tree(head_files)


def test_branch_findings(blobs: MemoryBlobs) -> None:
    base, head = trees(blobs)
    report = analyze_migrations(base, head, None, blobs)
    blobs.calls.clear()
    found = with_rule_findings(report.findings, report, head, default_rules(), blobs)
    assert len(blobs.calls) == 1  # revisions, r0's base version and env.py in one batch
    assert set(blobs.calls[0]) == {
        base[RepoPath("migrations/versions/r0.py")].blob,
        head[RepoPath("migrations/versions/r0.py")].blob,
        head[RepoPath("migrations/versions/r1.py")].blob,
        head[RepoPath("migrations/versions/r2.py")].blob,
        head[RepoPath("migrations/env.py")].blob,
    }
    where = sorted((f.rule, f.path) for f in found)
    assert where == [
        ("SG006", "migrations/versions/r0.py"),
        ("SM002", "migrations/versions/r0.py"),
        ("SM017", "migrations/versions/r2.py"),
        ("SM020", "migrations/versions/r2.py"),
        ("SM025", "migrations/versions/r0.py"),
    ]


def test_env_py_of_the_head_tree_is_honoured(blobs: MemoryBlobs) -> None:
    base, head = trees(blobs, per_migration=True)
    report = analyze_migrations(base, head, None, blobs)
    found = with_rule_findings([], report, head, default_rules(), blobs)
    assert "SM017" not in {f.rule for f in found}


def test_settings_apply_to_every_finding(blobs: MemoryBlobs) -> None:
    base, head = trees(blobs)
    report = analyze_migrations(base, head, None, blobs)
    rules = load_rules(
        'extends = "default"\n[rules.SG006]\nenabled = false\n[rules.SM017]\nrisk = "low"\n',
        "rules.toml",
    )
    found = with_rule_findings(report.findings, report, head, rules, blobs)
    assert "SG006" not in {f.rule for f in found}
    assert {f.risk.label for f in found if f.rule == "SM017"} == {"low"}


def test_nothing_to_read_without_branch_migrations(blobs: MemoryBlobs) -> None:
    base, _ = trees(blobs)
    report = analyze_migrations(base, base, None, blobs)
    blobs.calls.clear()
    assert with_rule_findings([], report, base, default_rules(), blobs) == []
    assert blobs.calls == []


def test_source_facts_are_cheap_and_lazy() -> None:
    source = revision_source('op.add_column("t", sa.Column("c", sa.Integer()))', "pass")
    facts = source_facts(revision(source), source)
    assert facts.ignores == {}
    assert facts.downgrade is not None and facts.downgrade.shape == "empty"
    assert set(facts.def_lines) == {"upgrade", "downgrade"}
    # a downgrade with operations is not parsed again
    source = revision_source('op.add_column("t", sa.Column("c", sa.Integer()))')
    assert source_facts(revision(source), source).downgrade is None
    assert source_facts(revision(source), None).def_lines == {}


def test_pglast_is_imported_only_for_literal_sql(tmp_path: Path) -> None:
    code = textwrap.dedent(
        """
        import sys
        from pathlib import Path
        from stager.migrations.lint.files import lint_paths
        from stager.rules.settings import default_rules
        import stager.analysis
        assert "pglast" not in sys.modules
        report = lint_paths([Path("no_sql.py")], Path(sys.argv[1]), default_rules())
        assert {f.rule for f in report.findings} == {"SM002", "SM025"}, report.findings
        assert "pglast" not in sys.modules
        lint_paths([Path("sql.py")], Path(sys.argv[1]), default_rules())
        assert "pglast" in sys.modules
        """
    )
    (tmp_path / "no_sql.py").write_bytes(revision_source('op.drop_column("t", "c")'))
    (tmp_path / "sql.py").write_bytes(revision_source('op.execute("UPDATE t SET a = 1")'))
    subprocess.run([sys.executable, "-c", code, str(tmp_path)], check=True)


def test_each_phase_is_checked_along_its_own_upgrade(blobs: MemoryBlobs) -> None:
    from stager.migrations.lint.engine import PhaseUpgrade, with_phase_findings
    from stager.types import RepoPath

    block = "with op.get_context().autocommit_block():\n    op.execute('SELECT 1')"
    base_files = {"alembic.ini": INI, "migrations/env.py": ENV.format(flag=False)}
    head = blobs.tree(
        {
            **base_files,
            "migrations/versions/r1.py": revision_source(ADD, revision="r1"),
            "migrations/versions/r2.py": revision_source(block, revision="r2", down="r1"),
            "migrations/versions/r3.py": revision_source(USE, revision="r3", down="r2"),
        }
    )
    report = analyze_migrations(blobs.tree(base_files), head, None, blobs)
    found = with_rule_findings(report.findings, report, head, default_rules(), blobs)
    assert "SM017" not in {f.rule for f in found}  # r2's block commits r1 in the branch's order

    def phase(number: int, *revisions: str) -> PhaseUpgrade:
        return PhaseUpgrade(
            number, tuple(RepoPath(f"migrations/versions/{r}.py") for r in revisions)
        )

    # the split puts r1 and r3 in phase 1 (r3 re-chained onto r1), r2 in phase 2
    phases = [phase(1, "r1", "r3"), phase(2, "r2")]
    more = with_phase_findings(found, phases, report, head, default_rules(), blobs)
    new = [f for f in more if f not in found]
    assert [(f.rule, f.path) for f in new] == [("SM017", "migrations/versions/r3.py")]
    assert new[0].message.endswith("in phase 1's own upgrade")
    # one phase: the branch's own order, already checked
    assert with_phase_findings(found, phases[:1], report, head, default_rules(), blobs) == found


def test_an_index_on_a_table_an_earlier_revision_of_the_phase_creates_is_not_flagged(
    blobs: MemoryBlobs,
) -> None:
    from stager.migrations.lint.engine import PhaseUpgrade, with_phase_findings

    create = 'op.create_table("plan", sa.Column("id", sa.Integer), sa.Column("tier", sa.Text))'
    index = 'op.create_index("ix_tier", "plan", ["tier"])\nop.execute("UPDATE plan SET tier = 1")'
    base_files = {"alembic.ini": INI, "migrations/env.py": ENV.format(flag=False)}
    head = blobs.tree(
        {
            **base_files,
            "migrations/versions/r1.py": revision_source(create, revision="r1"),
            "migrations/versions/r2.py": revision_source(index, revision="r2", down="r1"),
        }
    )
    report = analyze_migrations(blobs.tree(base_files), head, None, blobs)
    found = with_rule_findings(report.findings, report, head, default_rules(), blobs)
    r2 = RepoPath("migrations/versions/r2.py")
    # linted one revision at a time, the table is an existing one
    assert {"SM010", "SM022", "SM025"} <= {f.rule for f in found if f.path == r2}

    def phases(*paths: tuple[str, ...]) -> list[PhaseUpgrade]:
        return [
            PhaseUpgrade(n, tuple(RepoPath(f"migrations/versions/{r}.py") for r in revisions))
            for n, revisions in enumerate(paths, 1)
        ]

    # one phase's upgrade creates the table, then indexes and fills it: still empty
    same = with_phase_findings(found, phases(("r1", "r2")), report, head, default_rules(), blobs)
    assert not [f for f in same if f.path == r2 and f.rule in {"SM010", "SM022", "SM025"}]
    # created in an earlier phase, the table is live when phase 2 indexes it
    two = phases(("r1",), ("r2",))
    apart = with_phase_findings(found, two, report, head, default_rules(), blobs)
    assert {"SM010", "SM022", "SM025"} <= {f.rule for f in apart if f.path == r2}
