"""PR titles and bodies for the demo repository: snapshots, template lookup, errors, docs."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from stager.analysis import Analysis, analyze_branch
from stager.demo import build_demo_repository
from stager.errors import StagerError
from stager.git.repository import Repository
from stager.github import context
from stager.github.context import (
    PhaseView,
    PullContext,
    PullLink,
    StackPhase,
    phase_views,
    pull_context,
)
from stager.github.render import render_body, render_title
from stager.plan import assessment, split_assessment
from stager.plan.assessment import plan_chains
from tests.gitrepo import sealed_env
from tests.snapshot_files import check_snapshot

DOCS = Path(__file__).resolve().parent.parent.parent / "docs" / "open-pr.md"


@pytest.fixture(scope="module")
def demo_analysis(tmp_path_factory: pytest.TempPathFactory) -> Analysis:
    """The demo's analysis, computed once for the module (it is plain data)."""
    with pytest.MonkeyPatch.context() as patch:
        for key in [key for key in os.environ if key.startswith("GIT_")]:
            patch.delenv(key)
        for key, value in sealed_env(tmp_path_factory.mktemp("home")).items():
            patch.setenv(key, value)
        demo = build_demo_repository(tmp_path_factory.mktemp("render") / "demo")
        return analyze_branch(Repository(demo.path), demo.base_branch, demo.head_branch, None)


def stacked(analysis: Analysis) -> list[StackPhase]:
    stack, base = [], "main"
    for phase in analysis.plan.phases:
        branch = f"stage/{phase.number}-{phase.name}"
        stack.append(StackPhase(phase, branch, base))
        base = branch
    return stack


def contexts(analysis: Analysis, links: dict[int, PullLink] | None = None) -> list[PullContext]:
    chains = plan_chains(analysis.plan.phases, analysis.migrations.base.heads())
    views = phase_views(analysis, stacked(analysis), chains, analysis.findings)
    if links is None:
        links = {
            view.number: PullLink(
                100 + view.number, f"https://github.com/acme/fuel/pull/{100 + view.number}"
            )
            for view in views
        }
    return [
        pull_context(
            analysis,
            views,
            view,
            links,
            repository="acme/fuel-credits",
            base_branch="main",
            head_name="feature/fuel-credits-overhaul",
            layout="stacked",
        )
        for view in views
    ]


def test_demo_bodies_snapshot(demo_analysis: Analysis) -> None:
    for ctx in contexts(demo_analysis):
        text = f"{render_title(ctx, ())}\n\n{render_body(ctx, ())}"
        check_snapshot(f"demo-pr-{ctx.phase.number}-{ctx.phase.name}.md", text)


def test_demo_bodies_hold_what_the_seed_bodies_hold(demo_analysis: Analysis) -> None:
    rendered = {ctx.phase.name: (ctx, render_body(ctx, ())) for ctx in contexts(demo_analysis)}
    for ctx, body in rendered.values():
        for section in (
            "## Overview",
            "## Changes",
            "## Migrations included",
            "## Risk assessment",
            "**Database impact:**",
            "**Backward compatibility:**",
            "**Rollback:**",
            "## Testing",
            "## Rollback plan",
            "## Stack",
        ):
            assert section in body, (ctx.phase.name, section)
        assert "👉" in body  # this phase is marked in the stack
        banner = "MAINTENANCE WINDOW REQUIRED" in body
        assert banner == ctx.phase.assessment.maintenance_window
        assert ("## Pre-deployment checklist" in body) == ctx.phase.assessment.maintenance_window
        for m in ctx.phase.assessment.migrations:
            assert f"`{m.revision}`" in body and m.title in body
        # the stack's migration diagram, this phase's box drawn thicker
        assert body.count("```mermaid\n") == 1
        assert f"\n  style p{ctx.phase.number} stroke-width:3px\n" in body
    # migrations in upgrade order: the table lists them as the phase does
    foundation, body = rendered["foundation"]
    positions = [body.index(f"`{m.revision}`") for m in foundation.phase.assessment.migrations]
    assert positions == sorted(positions)
    assert "`alembic -c backend/alembic.ini downgrade " not in body  # never without its check
    assert (
        "`test \"$(alembic -c backend/alembic.ini current | cut -d' ' -f1)\" = 8e2f4a6c8e0a "
        "&& alembic -c backend/alembic.ini downgrade d1f3b5d7f9b1`"
    ) in body
    # the contract phase drops columns: restore from backup, with pg_dump
    contract, body = rendered["etl-and-contract"]
    assert contract.phase.assessment.backward_compatibility.level == "BREAKING"
    assert contract.phase.assessment.restore_from_backup
    assert "pg_dump --format=custom" in body and "pg_restore" in body
    assert "#101" in body and "Follow-up PRs" not in body
    assert "Follow-up PRs: #102" in rendered["foundation"][1]


def test_title(demo_analysis: Analysis) -> None:
    titles = [render_title(ctx, ()) for ctx in contexts(demo_analysis)]
    assert titles[0].startswith("Foundation") and titles[0].endswith("(phase 1/4)")
    assert titles[-1].endswith("REQUIRES MAINTENANCE WINDOW")
    assert all("\n" not in title for title in titles)


def test_unopened_pull_requests_show_their_branch(demo_analysis: Analysis) -> None:
    ctx = contexts(demo_analysis, links={})[1]
    body = render_body(ctx, ())
    assert "`stage/1-foundation`" in body and "this pull request" in body


def test_project_templates_come_first_and_phase_overrides_by_name(
    demo_analysis: Analysis, tmp_path: Path
) -> None:
    folder = tmp_path / "templates"
    (folder / "phases" / "data").mkdir(parents=True)
    (folder / "pr_title.j2").write_text("[{{ repository }}] {{ phase.name }}\n")
    (folder / "phases" / "data" / "pr_body.md.j2").write_text(
        "Data! {{ phase.assessment.migrations | length }}\n"
    )
    (folder / "risk_table.md.j2").write_text("RISK TABLE {{ phase.categories | length }}\n")
    by_name = {ctx.phase.name: ctx for ctx in contexts(demo_analysis)}
    assert render_title(by_name["foundation"], (folder,)) == "[acme/fuel-credits] foundation"
    # the backfill, and the expand part of the demo's mixed migration
    assert render_body(by_name["data"], (folder,)) == "Data! 2\n"
    assert "RISK TABLE 3" in render_body(by_name["foundation"], (folder,))  # included table


def test_a_project_template_cannot_write_a_marker_a_mention_or_an_escape(
    demo_analysis: Analysis, tmp_path: Path
) -> None:
    ctx = contexts(demo_analysis)[0]
    hostile = "<!-- stager:end --> @team \x1b]0;pwned\x07"
    file = dataclasses.replace(ctx.phase.files[0], path=f"a`{hostile}.py")
    phase = dataclasses.replace(ctx.phase, title=hostile, files=(file,))
    ctx = dataclasses.replace(ctx, phase=phase)
    folder = tmp_path / "templates"
    folder.mkdir()
    # written the old way too: raw backticks, a whole list, no filter
    (folder / "pr_body.md.j2").write_text(
        "`{{ phase.title }}` {{ phase.title }}\n{{ phase.files }}\n"
        "{% for f in phase.files %}- `{{ f.path }}` {{ f.path | code }}{% endfor %}\n"
    )
    (folder / "pr_title.j2").write_text("{{ phase.title }}\n")
    body = render_body(ctx, (folder,))
    assert "<!--" not in body and "@team" not in body and "\x1b" not in body
    assert "\\033]0;pwned\\a" in body
    # a title is plain text on GitHub (no comment, no mention), but printed by --dry-run
    assert render_title(ctx, (folder,)) == "<!-- stager:end --> @team \\033]0;pwned\\a"
    assert '``"a`<\u2060!-- stager:end --> @\u2060team \\033]0;pwned\\a.py"``' in body


def test_a_template_typo_names_template_and_line(demo_analysis: Analysis, tmp_path: Path) -> None:
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "pr_body.md.j2").write_text("## Overview\n\n{{ phase.titel }}\n")
    ctx = contexts(demo_analysis)[0]
    with pytest.raises(StagerError, match=r"pr_body\.md\.j2:3: .*titel"):
        render_body(ctx, (folder,))
    (folder / "pr_body.md.j2").write_text("{% if phase.risk %}\nno end\n")
    with pytest.raises(StagerError, match=r"pr_body\.md\.j2:\d+: template syntax error"):
        render_body(ctx, (folder,))
    (folder / "pr_title.j2").write_text("{{ '' }}\n")
    with pytest.raises(StagerError, match="empty title"):
        render_title(ctx, (folder,))


def test_every_template_variable_is_documented() -> None:
    docs = DOCS.read_text(encoding="utf-8")
    for cls in (
        PullContext,
        PhaseView,
        context.StackEntry,
        context.FileView,
        context.CategoryView,
        context.FindingView,
        assessment.PhaseAssessment,
        assessment.PhaseMigration,
        assessment.Rating,
        assessment.PhaseCommands,
        context.DerivedView,
        split_assessment.ExpandPart,
        split_assessment.ContractPart,
        split_assessment.PartialPart,
    ):
        for field in dataclasses.fields(cls):
            assert f"`{field.name}`" in docs, (cls.__name__, field.name)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("## Overview\n\n{{ 1 / 0 }}\n", r"pr_body\.md\.j2:3: ZeroDivisionError"),
        ("{{ phase.files | sum }}\n", r"pr_body\.md\.j2:1: TypeError"),
        ("\n{{ ''.__class__ }}\n", r"pr_body\.md\.j2:2: the template sandbox refused"),
    ],
)
def test_a_template_failing_at_run_time_is_a_clear_error(
    demo_analysis: Analysis, tmp_path: Path, text: str, expected: str
) -> None:
    (tmp_path / "pr_body.md.j2").write_text(text)
    with pytest.raises(StagerError, match=str(tmp_path) + "/" + expected):
        render_body(contexts(demo_analysis)[0], (tmp_path,))


def test_a_template_that_is_not_utf8_is_a_clear_error(
    demo_analysis: Analysis, tmp_path: Path
) -> None:
    (tmp_path / "pr_title.j2").write_bytes(b"Phase \xff{{ phase.number }}\n")
    with pytest.raises(StagerError, match=r"pr_title\.j2: the template is not UTF-8 text"):
        render_title(contexts(demo_analysis)[0], (tmp_path,))


def test_an_error_in_an_included_template_names_that_template(
    demo_analysis: Analysis, tmp_path: Path
) -> None:
    """The project's risk table, included by the packaged body: its own file and line."""
    (tmp_path / "risk_table.md.j2").write_text("| a |\n|---|\n{{ phase.riks }}\n")
    ctx = contexts(demo_analysis)[0]
    with pytest.raises(StagerError) as raised:
        render_body(ctx, (tmp_path,))
    assert str(raised.value).startswith(f"{tmp_path}/risk_table.md.j2:3: ")
    assert "riks" in str(raised.value)
    other = tmp_path / "other"  # a new folder: Jinja caches compiled templates per folder
    other.mkdir()
    (other / "pr_body.md.j2").write_text("# Body\n{% include 'nothere.j2' %}\n")
    with pytest.raises(StagerError) as raised:
        render_body(ctx, (other,))
    assert str(raised.value).startswith(
        f"template 'nothere.j2' (included by {other}/pr_body.md.j2:2) not found in"
    )
