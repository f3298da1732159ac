from __future__ import annotations

import subprocess
from collections.abc import Iterable, Mapping

import pytest

from stager.findings import Finding
from stager.git.repository import TreeEntry
from stager.migrations.compare import MigrationReport, analyze_migrations
from stager.migrations.parse import parse_migration
from stager.migrations.revision_files import MigrationFile
from stager.types import MigrationKind, RepoPath, Risk, Sha
from tests.gitrepo import GitRepo
from tests.migrations.builders import MemoryBlobs, migration

INI = "[alembic]\nscript_location = %(here)s/migrations\n"
V = "migrations/versions/"

Files = dict[str, str]


def history(*migrations: tuple[str, str]) -> Files:
    """A repository with alembic.ini and ``(file stem, text)`` revision files."""
    return {"alembic.ini": INI, **{f"{V}{stem}.py": text for stem, text in migrations}}


BASE = history(
    ("a", migration("a")),
    ("b", migration("b", "a", upgrade="op.add_column('t', sa.Column('x', sa.Integer()))")),
    ("c", migration("c", "b")),
)


def run(blobs: MemoryBlobs, base: Files, head: Files, tip: Files | None = None) -> MigrationReport:
    return analyze_migrations(
        blobs.tree(base), blobs.tree(head), blobs.tree(tip) if tip is not None else None, blobs
    )


def rules(report: MigrationReport) -> list[str]:
    return [finding.rule for finding in report.findings]


def only(report: MigrationReport, rule: str) -> Finding:
    [finding] = [f for f in report.findings if f.rule == rule]
    return finding


def test_clean_branch_has_no_findings(blobs: MemoryBlobs) -> None:
    head = {**BASE, f"{V}d.py": migration("d", "c", upgrade="op.execute('UPDATE t SET x = 1')")}
    report = run(blobs, BASE, head)
    assert report.findings == []
    assert [m.revision for m in report.added] == ["d"]
    assert report.added[0].kind is MigrationKind.DATA
    assert report.modified == () and report.deleted == ()
    assert report.base.heads() == ("c",) and report.head.heads() == ("d",)
    assert report.versions_dirs == ("migrations/versions",)
    assert [c.source for c in report.configs] == ["alembic.ini"]
    assert report.tip is None
    assert report.change(RepoPath(f"{V}d.py")) == "added"
    assert report.change(RepoPath(f"{V}a.py")) is None


def test_added_modified_deleted_moved(blobs: MemoryBlobs) -> None:
    head = dict(BASE)
    head[f"{V}b.py"] = migration("b", "a", upgrade="op.drop_column('t', 'x')")
    del head[f"{V}c.py"]
    head[f"{V}archive/a.py"] = head.pop(f"{V}a.py")  # moved, unchanged
    head["alembic.ini"] = INI + "recursive_version_locations = true\n"
    head[f"{V}e.py"] = migration("e", "b")
    head[f"{V}d.py"] = migration("d", "e")
    report = run(blobs, BASE, head)
    assert [m.revision for m in report.added] == ["e", "d"]  # upgrade order, not path order
    assert [m.path for m in report.modified] == [f"{V}archive/a.py", f"{V}b.py"]
    assert report.previous[RepoPath(f"{V}archive/a.py")].path == f"{V}a.py"
    assert [m.path for m in report.deleted] == [f"{V}c.py"]
    assert report.by_path[RepoPath(f"{V}c.py")].revision == "c"  # base version of a deleted file
    assert report.by_path[RepoPath(f"{V}b.py")].kind is MigrationKind.DESTRUCTIVE
    assert report.change(RepoPath(f"{V}c.py")) == "deleted"
    # the move changes nothing that runs: no SG006 for it
    assert sorted(rules(report)) == ["SG006", "SG009"]
    edit = only(report, "SG006")
    assert (edit.path, edit.line, edit.risk) == (f"{V}b.py", 21, Risk.HIGH)
    assert edit.message.startswith("b exists on the merge base and this branch edits it")
    assert "new revision" in edit.hint
    gone = only(report, "SG009")
    assert (gone.path, gone.risk) == (f"{V}c.py", Risk.HIGH)


def test_reads_blobs_in_two_batches_and_parses_each_blob_once(
    blobs: MemoryBlobs, monkeypatch: pytest.MonkeyPatch
) -> None:
    parsed: list[str] = []
    original = parse_migration

    def counting(path: RepoPath, blob: Sha, source: bytes) -> MigrationFile:
        parsed.append(blob)
        return original(path, blob, source)

    monkeypatch.setattr("stager.migrations.compare.parse_migration", counting)
    head = {**BASE, f"{V}d.py": migration("d", "c")}
    tip = {**BASE, f"{V}e.py": migration("e", "c")}
    run(blobs, BASE, head, tip)
    assert len(blobs.calls) == 2
    assert len(parsed) == len(set(parsed)) == 5  # a, b, c, d, e


def test_sg001_multiple_heads(blobs: MemoryBlobs) -> None:
    head = {**BASE, f"{V}d.py": migration("d", "c"), f"{V}e.py": migration("e", "c")}
    finding = only(run(blobs, BASE, head), "SG001")
    assert finding.risk is Risk.HIGH
    assert "d (migrations/versions/d.py)" in finding.message
    assert "e (migrations/versions/e.py)" in finding.message
    assert "alembic merge" in finding.hint
    assert "SG001" not in rules(run(blobs, BASE, {**BASE, f"{V}d.py": migration("d", "c")}))


def test_sg001_pre_existing_heads_are_reported_once_at_low_risk(blobs: MemoryBlobs) -> None:
    base = {**BASE, f"{V}x.py": migration("x", "b")}
    head = {**base, f"{V}d.py": migration("d", "c")}
    finding = only(run(blobs, base, head), "SG001")
    assert finding.risk is Risk.LOW
    assert finding.message.startswith("already on the merge base")
    # one more head than the base had: the branch's doing
    head[f"{V}e.py"] = migration("e", "c")
    assert only(run(blobs, base, head), "SG001").risk is Risk.HIGH


def test_sg002_cycle(blobs: MemoryBlobs) -> None:
    head = {**BASE, f"{V}x.py": migration("x", "y"), f"{V}y.py": migration("y", "x")}
    finding = only(run(blobs, BASE, head), "SG002")
    assert finding.risk is Risk.CRITICAL
    assert "x (migrations/versions/x.py) → y" in finding.message
    assert "SG002" not in rules(run(blobs, BASE, BASE))


def test_sg003_dangling(blobs: MemoryBlobs) -> None:
    head = {
        **BASE,
        f"{V}d.py": migration("d", "nope"),
        f"{V}e.py": migration("e", "c", depends_on="gone"),
    }
    findings = [f for f in run(blobs, BASE, head).findings if f.rule == "SG003"]
    assert [(f.path, f.line) for f in findings] == [(f"{V}d.py", 15), (f"{V}e.py", 17)]
    assert "'nope'" in findings[0].message and "depends_on" in findings[1].message
    assert all(f.risk is Risk.HIGH for f in findings)
    assert "SG003" not in rules(run(blobs, BASE, {**BASE, f"{V}d.py": migration("d", "c")}))


def test_sg004_duplicate_revision(blobs: MemoryBlobs) -> None:
    head = {**BASE, f"{V}b_copy.py": migration("b", "c")}
    finding = only(run(blobs, BASE, head), "SG004")
    assert finding.risk is Risk.CRITICAL
    assert f"{V}b.py" in finding.message and f"{V}b_copy.py" in finding.message
    assert finding.path == f"{V}b_copy.py"
    assert "SG004" not in rules(run(blobs, BASE, {**BASE, f"{V}d.py": migration("d", "c")}))


def test_sg005_revises_line(blobs: MemoryBlobs) -> None:
    head = {**BASE, f"{V}d.py": migration("d", "c", revises="b")}
    finding = only(run(blobs, BASE, head), "SG005")
    assert finding.risk is Risk.LOW
    assert "Revises: b but down_revision is c" in finding.message
    ok = {**BASE, f"{V}d.py": migration("d", "c", revises="c")}
    assert "SG005" not in rules(run(blobs, BASE, ok))


def test_sg005_pre_existing_problems_are_aggregated(blobs: MemoryBlobs) -> None:
    base = history(
        ("a", migration("a")),
        ("b", migration("b", "a", revises="zz")),
        ("c", migration("c", "b", revises="zz")),
        ("d", migration("d", "c", revises="zz")),
    )
    head = {**base, f"{V}e.py": migration("e", "d")}
    finding = only(run(blobs, base, head), "SG005")
    assert finding.risk is Risk.LOW
    assert finding.path is None
    assert "not introduced by this branch" in finding.message
    assert "(and 2 more)" in finding.message
    # fixed on the branch: nothing to say
    assert "SG005" not in rules(run(blobs, base, BASE))


def test_sg007_unreadable_files(blobs: MemoryBlobs) -> None:
    head = {
        **BASE,
        f"{V}d.py": migration("d", "c") + "\ndef broken(:\n",
        f"{V}e.py": "from app import ids\nrevision = ids.next()\ndown_revision = 'c'\n",
    }
    findings = [f for f in run(blobs, BASE, head).findings if f.rule == "SG007"]
    assert [(f.path, f.line) for f in findings] == [(f"{V}d.py", 27), (f"{V}e.py", 2)]
    assert all(f.risk is Risk.HIGH for f in findings)
    assert "SG007" not in rules(run(blobs, BASE, BASE))


def test_sg008_base_moved_on(blobs: MemoryBlobs) -> None:
    head = {**BASE, f"{V}d.py": migration("d", "c"), f"{V}d2.py": migration("d2", "d")}
    tip = {**BASE, f"{V}t1.py": migration("t1", "c"), f"{V}t2.py": migration("t2", "t1")}
    report = run(blobs, BASE, head, tip)
    finding = only(report, "SG008")
    assert (finding.path, finding.line, finding.risk) == (f"{V}d.py", 15, Risk.HIGH)
    assert "gained t1, t2" in finding.message
    assert "re-chain d onto the base's head t2" in finding.message
    assert "down_revision = 't2'" in finding.hint
    assert report.tip is not None and report.tip.heads() == ("t2",)
    # the base did not move, or moved without revisions, or the branch adds none
    assert "SG008" not in rules(run(blobs, BASE, head, None))
    assert "SG008" not in rules(run(blobs, BASE, head, {**BASE, "README": "x"}))
    assert "SG008" not in rules(run(blobs, BASE, BASE, tip))


def test_sg008_never_counts_the_branchs_own_merged_revisions_as_gained(
    blobs: MemoryBlobs,
) -> None:
    # The base gained t1; phase 1 (d, re-chained onto t1) merged; d2 is still to merge.
    head = {**BASE, f"{V}d.py": migration("d", "c"), f"{V}d2.py": migration("d2", "d")}
    tip = {**BASE, f"{V}t1.py": migration("t1", "c"), f"{V}d.py": migration("d", "t1")}
    assert "SG008" not in rules(run(blobs, BASE, head, tip))
    # Only the branch's own revisions on the tip: nothing was gained.
    assert "SG008" not in rules(run(blobs, BASE, head, {**BASE, f"{V}d.py": migration("d", "c")}))
    # Another team's t2 on the merged d: the pending d2 goes onto it, never d onto d2.
    tip2 = {**tip, f"{V}t2.py": migration("t2", "d")}
    finding = only(run(blobs, BASE, head, tip2), "SG008")
    assert "gained t1, t2 after" in finding.message
    assert "re-chain d2 onto the base's head t2" in finding.message


def test_sg011_a_base_that_gained_a_head(blobs: MemoryBlobs) -> None:
    head = {**BASE, f"{V}d.py": migration("d", "c"), f"{V}d2.py": migration("d2", "d")}
    # d merged as built from the merge base, beside the base's own t1: two heads.
    tip = {**BASE, f"{V}t1.py": migration("t1", "c"), f"{V}d.py": migration("d", "c")}
    report = run(blobs, BASE, head, tip)
    finding = only(report, "SG011")
    assert finding.risk is Risk.HIGH and "2 Alembic heads" in finding.message
    assert "the merge base had 1" in finding.message
    assert '`alembic merge -m "merge heads" ' in finding.hint
    assert "SG008" not in rules(report)
    assert "SG011" not in rules(run(blobs, BASE, head, {**BASE, f"{V}t1.py": migration("t1", "c")}))


def test_sg008_not_for_an_independent_branch_on_the_base(blobs: MemoryBlobs) -> None:
    head = {**BASE, f"{V}d.py": migration("d", "c")}
    tip = {**BASE, f"{V}p.py": migration("p", None, branch_labels="plugin")}
    assert "SG008" not in rules(run(blobs, BASE, head, tip))


def test_sg010_configuration_problem(blobs: MemoryBlobs) -> None:
    head = {**BASE, "tools/alembic.ini": "[alembic]\nscript_location = missing.pkg:migrations\n"}
    finding = only(run(blobs, BASE, head), "SG010")
    assert (finding.path, finding.line, finding.risk) == ("tools/alembic.ini", 2, Risk.MEDIUM)


def test_separate_environments_each_have_their_own_head(blobs: MemoryBlobs) -> None:
    files = {
        "one/alembic.ini": INI,
        "one/migrations/versions/a.py": migration("a"),
        "two/alembic.ini": INI,
        "two/migrations/versions/z.py": migration("z"),
    }
    head = {**files, "two/migrations/versions/y.py": migration("y", "z")}
    report = run(blobs, files, head)
    assert report.findings == []
    assert report.versions_dirs == ("one/migrations/versions", "two/migrations/versions")


def test_repository_without_alembic(blobs: MemoryBlobs) -> None:
    report = run(blobs, {"README.md": "x"}, {"README.md": "y"})
    assert report.findings == [] and len(report.head) == 0 and report.configs == ()


# --- the same on real git objects --------------------------------------------------------


class GitBlobs:
    """A BlobSource reading one ``git cat-file --batch`` per call."""

    def __init__(self, repo: GitRepo) -> None:
        self.repo = repo
        self.calls = 0

    def read_blobs(self, blobs: Iterable[Sha]) -> Mapping[Sha, bytes]:
        self.calls += 1
        wanted = list(blobs)
        out = subprocess.run(
            ["git", "cat-file", "--batch"],
            input="".join(f"{sha}\n" for sha in wanted).encode(),
            cwd=self.repo.path,
            env=self.repo.env,
            capture_output=True,
            check=True,
        ).stdout
        found: dict[Sha, bytes] = {}
        position = 0
        for sha in wanted:
            header_end = out.index(b"\n", position)
            size = int(out[position:header_end].split()[2])
            found[sha] = out[header_end + 1 : header_end + 1 + size]
            position = header_end + 1 + size + 1
        return found


def git_tree(repo: GitRepo, ref: str) -> dict[RepoPath, TreeEntry]:
    listing = repo.git("ls-tree", "-r", "-z", "--full-tree", ref)
    tree: dict[RepoPath, TreeEntry] = {}
    for record in listing.split("\0"):
        if record:
            meta, path = record.split("\t", 1)
            mode, _, sha = meta.split()
            tree[RepoPath(path)] = TreeEntry(RepoPath(path), mode, Sha(sha))
    return tree


def test_on_a_real_git_repository(repo: GitRepo) -> None:
    repo.commit("base", BASE)
    repo.git("checkout", "-q", "-b", "feature")
    repo.commit(
        "feature",
        {
            f"{V}b.py": migration("b", "a", upgrade="op.drop_column('t', 'x')"),
            f"{V}d.py": migration("d", "c", upgrade="op.execute('UPDATE t SET x = 0')"),
        },
    )
    repo.git("checkout", "-q", "main")
    repo.commit("main moves on", {f"{V}m.py": migration("m", "c")})
    merge_base = repo.git("merge-base", "main", "feature")
    blobs = GitBlobs(repo)
    report = analyze_migrations(
        git_tree(repo, merge_base), git_tree(repo, "feature"), git_tree(repo, "main"), blobs
    )
    assert blobs.calls == 2
    assert sorted(rules(report)) == ["SG006", "SG008"]
    assert report.added[0].blob == repo.git("rev-parse", f"feature:{V}d.py")
    assert report.added[0].kind is MigrationKind.DATA
    assert report.modified[0].kind is MigrationKind.DESTRUCTIVE
    assert "onto the base's head m" in only(report, "SG008").message


# --- several Alembic environments (a monorepo's services) ------------------------------

A, B = "svc_a/migrations/versions/", "svc_b/migrations/versions/"


def two_services(repo: GitRepo, a: Files, b: Files) -> None:
    repo.commit(
        "two services",
        {"svc_a/alembic.ini": INI, "svc_b/alembic.ini": INI}
        | {f"{A}{stem}.py": text for stem, text in a.items()}
        | {f"{B}{stem}.py": text for stem, text in b.items()},
    )


def analyze_refs(repo: GitRepo, base: str, head: str, tip: str | None) -> MigrationReport:
    return analyze_migrations(
        git_tree(repo, base),
        git_tree(repo, head),
        git_tree(repo, tip) if tip is not None else None,
        GitBlobs(repo),
    )


def test_sg008_is_per_environment(repo: GitRepo) -> None:
    two_services(repo, {"aaa1": migration("aaa1")}, {"bbb1": migration("bbb1")})
    merge_base = repo.head()
    repo.git("checkout", "-q", "-b", "feature")
    repo.commit(
        "both services",
        {f"{A}aaa2.py": migration("aaa2", "aaa1"), f"{B}bbb2.py": migration("bbb2", "bbb1")},
    )
    repo.git("checkout", "-q", "main")
    repo.commit("svc_a moves on", {f"{A}aaa3.py": migration("aaa3", "aaa1")})
    report = analyze_refs(repo, merge_base, "feature", "main")
    finding = only(report, "SG008")
    assert finding.path == f"{A}aaa2.py"
    assert "gives Alembic 2 heads (aaa3, aaa2)" in finding.message
    assert "down_revision = 'aaa3'" in finding.hint
    assert report.revision_count() == 4 and report.all_heads() == ["aaa2", "bbb2"]


def test_same_revision_ids_in_two_environments_are_no_duplicates(repo: GitRepo) -> None:
    ids = {"0001": migration("0001"), "0002": migration("0002", "0001")}
    two_services(repo, ids, ids)
    merge_base = repo.head()
    repo.commit(
        "third revision each",
        {f"{A}0003.py": migration("0003", "0002"), f"{B}0003.py": migration("0003", "0002")},
    )
    report = analyze_refs(repo, merge_base, "HEAD", None)
    assert report.findings == []
    assert report.revision_count() == 6 and report.revision_count(base=True) == 4
    assert report.all_heads() == ["0003"] and report.all_heads(base=True) == ["0002"]
    assert [len(graph) for graph in report.environment_graphs()] == [3, 3]


def test_sg008_two_lines_of_the_branch_are_chained_one_after_the_other(repo: GitRepo) -> None:
    repo.commit("base", BASE)
    merge_base = repo.head()
    repo.git("checkout", "-q", "-b", "feature")
    repo.commit(
        "two lines",
        {
            f"{V}d.py": migration("d", "c"),
            f"{V}d2.py": migration("d2", "d"),
            f"{V}e.py": migration("e", "c", branch_labels="reports"),
        },
    )
    repo.git("checkout", "-q", "main")
    repo.commit("main moves on", {f"{V}t1.py": migration("t1", "c")})
    report = analyze_refs(repo, merge_base, "feature", "main")
    first, second = [f for f in report.findings if f.rule == "SG008"]
    assert "re-chain d onto the base's head t1" in first.message
    assert "re-chain e onto d2 (the head of the branch's line from d)" in second.message
    assert "down_revision = 'd2'" in second.hint


def test_sg008_two_roots_joined_by_a_merge_revision_both_go_onto_the_base(
    repo: GitRepo,
) -> None:
    repo.commit("base", BASE)
    merge_base = repo.head()
    repo.git("checkout", "-q", "-b", "feature")
    repo.commit(
        "two roots, one merge",
        {
            f"{V}d.py": migration("d", "c"),
            f"{V}e.py": migration("e", "c"),
            f"{V}m.py": migration("m", ("d", "e")),
        },
    )
    repo.git("checkout", "-q", "main")
    repo.commit("main moves on", {f"{V}t1.py": migration("t1", "c")})
    report = analyze_refs(repo, merge_base, "feature", "main")
    messages = [f.message for f in report.findings if f.rule == "SG008"]
    assert len(messages) == 2 and all("onto the base's head t1" in m for m in messages)


def test_sg006_edits_that_change_no_code_are_one_low_finding(blobs: MemoryBlobs) -> None:
    head = dict(BASE)
    head[f"{V}a.py"] = BASE[f"{V}a.py"] + "# reviewed in the 2024 audit\n"
    head[f"{V}c.py"] = BASE[f"{V}c.py"].replace(
        "import sqlalchemy as sa", "import sqlalchemy  as  sa"
    )
    head[f"{V}b.py"] = migration("b", "a", upgrade="op.drop_column('t', 'x')")  # a real edit
    findings = [f for f in run(blobs, BASE, head).findings if f.rule == "SG006"]
    by_risk = {f.risk: f for f in findings}
    assert len(findings) == 2 and set(by_risk) == {Risk.HIGH, Risk.LOW}
    real = by_risk[Risk.HIGH]
    assert (real.path, real.line) == (f"{V}b.py", 21)
    cosmetic = by_risk[Risk.LOW]
    assert cosmetic.path is None
    assert cosmetic.message == (
        "2 revisions on the merge base are edited on this branch without a change to their "
        f"code (comments, formatting): {V}a.py, {V}c.py"
    )
    assert "runs the same" in cosmetic.hint
    # a docstring is code to Python: editing it is a real edit
    docstring = {**BASE, f"{V}a.py": BASE[f"{V}a.py"].replace("revision a", "revision A")}
    [edit] = [f for f in run(blobs, BASE, docstring).findings if f.rule == "SG006"]
    assert (edit.path, edit.risk) == (f"{V}a.py", Risk.HIGH)
