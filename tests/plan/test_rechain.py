"""Re-chaining on real branches: merges, several base heads, rechain = false, broken graphs."""

from __future__ import annotations

from pathlib import Path

from stager.analysis import Analysis
from stager.plan.assessment import PhaseChain, plan_chains
from stager.types import Risk
from tests.gitrepo import GitRepo
from tests.plan.helpers import RULES, analyze, make_branch, plan_of, revision_file, version_path

A0 = "a0"
BASE = {version_path(A0): revision_file(A0, None, 'op.create_table("a")')}


def _table(name: str) -> str:
    return f'op.create_table("{name}")'


def _merge_branch(repo: GitRepo) -> None:
    """p1 ← a0, p2 ← a0, pm ← (p1, p2): a branch and its merge, all additive (phase 1)."""
    make_branch(
        repo,
        BASE,
        {
            version_path("p1"): revision_file("p1", A0, _table("t1")),
            version_path("p2"): revision_file("p2", A0, _table("t2")),
            version_path("pm"): revision_file("pm", ["p1", "p2"]),  # type: ignore[arg-type]
        },
    )


def _chain(analysis: Analysis) -> dict[str, tuple[str, ...]]:
    return {m.revision: m.down_revision for m in plan_of(analysis).migrations()}


def test_a_merge_inside_one_phase_is_kept_as_written(repo: GitRepo, tmp_path: Path) -> None:
    _merge_branch(repo)
    analysis = analyze(repo, tmp_path)
    assert _chain(analysis) == {"p1": (A0,), "p2": (A0,), "pm": ("p1", "p2")}
    assert not any(m.rechained for m in plan_of(analysis).migrations())
    assert not [f for f in plan_of(analysis).findings if f.rule == "SP003"]


def test_rechain_off_never_rewrites_a_parent(repo: GitRepo, tmp_path: Path) -> None:
    _merge_branch(repo)
    analysis = analyze(repo, tmp_path, "[stager]\nrechain = false\n" + RULES)
    assert _chain(analysis) == {"p1": (A0,), "p2": (A0,), "pm": ("p1", "p2")}
    assert not any(m.rechained for m in plan_of(analysis).migrations())


def test_rechain_off_reports_a_phase_that_leaves_two_heads(repo: GitRepo, tmp_path: Path) -> None:
    # The merge is a data migration (phase 2): phase 1 leaves two heads, p1 and p2.
    make_branch(
        repo,
        BASE,
        {
            version_path("p1"): revision_file("p1", A0, _table("t1")),
            version_path("p2"): revision_file("p2", A0, _table("t2")),
            version_path("pm"): revision_file(
                "pm",
                ["p1", "p2"],  # type: ignore[arg-type]
                'op.execute("UPDATE a SET x = 1")',
            ),
        },
    )
    analysis = analyze(repo, tmp_path, "[stager]\nrechain = false\n" + RULES)
    assert not any(m.rechained for m in plan_of(analysis).migrations())
    (finding,) = [f for f in plan_of(analysis).findings if f.rule == "SP003"]
    assert "after phase 1" in finding.message and "2 heads" in finding.message
    # rules.toml configures the plan's rules as every other: SP003 turned off, and its risk
    for setting, expected in (("enabled = false", []), ('risk = "critical"', [Risk.CRITICAL])):
        configured = analyze(
            repo, tmp_path, f"[stager]\nrechain = false\n{RULES}\n[rules.SP003]\n{setting}\n"
        )
        for findings in (plan_of(configured).findings, configured.findings):
            assert [f.risk for f in findings if f.rule == "SP003"] == expected
    # Re-chaining allowed: phase 1 is flattened onto one head instead.
    allowed = analyze(repo, tmp_path)
    chain = _chain(allowed)
    assert {chain["p1"], chain["p2"]} == {(A0,), ("p1",)} or {chain["p1"], chain["p2"]} == {
        (A0,),
        ("p2",),
    }
    assert not [f for f in plan_of(allowed).findings if f.rule == "SP003"]


def test_two_base_heads_are_never_merged_by_a_rechain(repo: GitRepo, tmp_path: Path) -> None:
    # Base: b1 ← b0 → b2 (two heads). The branch adds m00 ← b0 and z00 ← (b2, m00).
    make_branch(
        repo,
        {
            version_path("b0"): revision_file("b0", None, _table("a")),
            version_path("b1"): revision_file("b1", "b0", _table("b1t")),
            version_path("b2"): revision_file("b2", "b0", _table("b2t")),
        },
        {
            version_path("m00"): revision_file("m00", "b0", _table("m")),
            version_path("z00"): revision_file("z00", ["b2", "m00"]),  # type: ignore[arg-type]
        },
    )
    analysis = analyze(repo, tmp_path)
    assert _chain(analysis) == {"m00": ("b0",), "z00": ("b2", "m00")}
    assert not [f for f in plan_of(analysis).findings if f.rule == "SP003"]


def test_a_cycle_and_a_duplicate_revision_are_findings_not_a_crash(
    repo: GitRepo, tmp_path: Path
) -> None:
    make_branch(
        repo,
        {version_path("a1"): revision_file("a1", None, _table("a"))},
        {
            version_path("x1"): revision_file("x1", "x1", _table("x")),
            "migrations/versions/d1_one.py": revision_file("d1", "a1", _table("d")),
            "migrations/versions/d1_two.py": revision_file("d1", "a1", _table("e")),
        },
    )
    analysis = analyze(repo, tmp_path)
    rules = {finding.rule for finding in analysis.findings}
    assert {"SG002", "SG004"} <= rules
    assert plan_of(analysis).phases


def test_the_document_numbers_its_phases_and_checks_heads_per_phase(
    repo: GitRepo, tmp_path: Path
) -> None:
    from stager.render.plan import render_plan_markdown

    def chains_of(analysis: Analysis) -> dict[int, PhaseChain]:
        return plan_chains(plan_of(analysis).phases, analysis.migrations.base.heads())

    _merge_branch(repo)
    good = analyze(repo, tmp_path)
    text = render_plan_markdown(good, plan_of(good), chains_of(good), ())
    # Only phase 1 of 4 holds files: the heading says so, as the PR titles do.
    assert "## Staging strategy: 1-phase approach (phases 1 of 4:" in text
    assert "(phase 1/4)" in text
    assert "keeps 1 head after every phase" in text
    bad = analyze(
        repo,
        tmp_path,
        "[stager]\nrechain = false\n"
        + RULES.replace(
            'categories = ["migration-additive", "models"]',
            'categories = ["models"]\nmigrations = ["p1", "p2"]',
        ),
    )
    text = render_plan_markdown(bad, plan_of(bad), chains_of(bad), ())
    assert "keeps 1 head after every phase" not in text
    assert "would not keep its 1 head after phase 1 (finding SP003)" in text


def test_strict_refuses_a_plan_whose_phase_leaves_two_heads(repo: GitRepo, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from stager.cli import cli

    make_branch(
        repo,
        BASE,
        {
            version_path("p1"): revision_file("p1", A0, _table("t1")),
            version_path("p2"): revision_file("p2", A0, _table("t2")),
            version_path("pm"): revision_file(
                "pm",
                ["p1", "p2"],  # type: ignore[arg-type]
                'op.execute("UPDATE a SET x = 1")',
            ),
        },
    )
    rules = tmp_path / "rules.toml"
    rules.write_text("[stager]\nrechain = false\n" + RULES, encoding="utf-8")
    base = ["-C", str(repo.path), "--rules", str(rules), "plan"]
    assert CliRunner().invoke(cli, base).exit_code == 0  # reported as SP003, not refused
    result = CliRunner().invoke(cli, [*base, "--strict"])
    assert result.exit_code == 1
    assert "--strict: the phases would break the Alembic history" in result.stderr
    assert "after phase 1" in result.stderr
