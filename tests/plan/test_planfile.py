"""The editable plan file: written, edited, read back and checked again."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from stager.analysis import Analysis, analyze_branch, plan_inputs
from stager.demo import DemoRepository
from stager.git.repository import Repository
from stager.plan import PlanError, load_plan_file, render_plan_file
from stager.plan.phase import PlannedMigration
from stager.rules.toml_file import TomlError
from tests.demo.files import BRANCH_REVISIONS
from tests.gitrepo import GitRepo
from tests.plan.helpers import analyze, make_branch, plan_of

MODEL = "backend/app/models/compliance_report.py"
REFERENCE = "1b3d5f7a9c1e"
CONTRACT = "backend/migrations/versions/2024_05_20_1130-4f6a8c0e2a4c_drop_credits_offset_columns.py"


def demo_analysis(demo: DemoRepository) -> Analysis:
    return analyze_branch(Repository(demo.path), demo.base_branch, demo.head_branch, None)


def written(analysis: Analysis, tmp_path: Path) -> Path:
    path = tmp_path / "stager-plan.toml"
    path.write_text(
        render_plan_file(plan_of(analysis), plan_inputs(analysis), analysis.refs, str(path)),
        encoding="utf-8",
    )
    return path


def move(path: Path, entry: str, to_phase: int) -> None:
    """Move the line of ``entry`` to the top of phase ``to_phase``'s files."""
    lines = path.read_text(encoding="utf-8").splitlines()
    (line,) = [item for item in lines if item.strip().startswith(f'"{entry}"')]
    lines.remove(line)
    start = lines.index(f"number = {to_phase}")
    files = next(i for i in range(start, len(lines)) if lines[i].startswith("files = ["))
    if lines[files] == "files = []":
        lines[files : files + 1] = ["files = [", line, "]"]
    else:
        lines.insert(files + 1, line)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_round_trip_gives_the_same_plan(demo: DemoRepository, tmp_path: Path) -> None:
    analysis = demo_analysis(demo)
    path = written(analysis, tmp_path)
    text = path.read_text(encoding="utf-8")
    assert text == render_plan_file(
        plan_of(analysis), plan_inputs(analysis), analysis.refs, str(path)
    )  # byte-identical
    assert f'head = "{demo.head}"' in text
    loaded = load_plan_file(path, plan_inputs(analysis), analysis.refs, plan_of(analysis))
    plan = plan_of(analysis)
    assert loaded.assignment == plan.assignment
    assert [(p.number, p.migrations, p.depends_on) for p in loaded.phases] == [
        (p.number, p.migrations, p.depends_on) for p in plan.phases
    ]
    assert loaded.conflicts == () and loaded.source == str(path)


def test_a_legal_move_is_honoured_and_migrations_are_rechained(
    demo: DemoRepository, tmp_path: Path
) -> None:
    analysis = demo_analysis(demo)
    path = written(analysis, tmp_path)
    reference = next(p for p in plan_of(analysis).assignment if REFERENCE in p)
    move(path, reference, 2)
    move(path, "docs/etl.md", 4)
    loaded = load_plan_file(path, plan_inputs(analysis), analysis.refs, plan_of(analysis))
    assert loaded.phase_of(reference) == 2
    assert loaded.phase_of("docs/etl.md") == 4  # type: ignore[arg-type]
    first, second = loaded.phase(1), loaded.phase(2)
    assert first is not None and second is not None
    chain: dict[str, PlannedMigration] = {
        m.revision: m for m in (*first.migrations, *second.migrations)
    }
    # 9a1c… lost its parent to phase 2: it stacks on what phase 1 has instead,
    assert chain["9a1c3e5a7c9e"].down_revision == ("6b8d0f2a4c6e",)
    # and the moved revision stacks on phase 1's head, below the backfill
    # (and below the expand part of 4f6a8c0e2a4c, which follows the backfill).
    (expand,) = [m.revision for m in second.migrations if m.revision not in BRANCH_REVISIONS]
    assert [m.revision for m in second.migrations] == [REFERENCE, "c7a9e1b3d5f7", expand]
    assert chain[REFERENCE].down_revision == ("8e2f4a6c8e0a",)
    assert chain["c7a9e1b3d5f7"].down_revision == (REFERENCE,)
    assert chain[expand].down_revision == ("c7a9e1b3d5f7",)
    planned = {f.path: f for f in second.files}
    assert f"listed in phase 2 of {path}" in planned[reference].reason


def test_a_move_that_breaks_a_dependency_names_the_edge(
    demo: DemoRepository, tmp_path: Path
) -> None:
    analysis = demo_analysis(demo)
    path = written(analysis, tmp_path)
    move(path, MODEL, 1)
    with pytest.raises(PlanError) as caught:
        load_plan_file(path, plan_inputs(analysis), analysis.refs, plan_of(analysis))
    message = str(caught.value)
    assert str(path) in message
    assert f"{MODEL}: asked for phase 1 (foundation), needs phase 3 (application)" in message
    assert "stops mapping ComplianceReportSummary.credits_offset_a" in message


def test_a_split_migration_listed_before_the_code_that_stops_using_its_drops_names_the_drop(
    demo: DemoRepository, tmp_path: Path
) -> None:
    """The contract's own edge tells why, not the edge that placed its expand part."""
    analysis = demo_analysis(demo)
    path = written(analysis, tmp_path)
    move(path, CONTRACT, 3)
    with pytest.raises(PlanError) as caught:
        load_plan_file(path, plan_inputs(analysis), analysis.refs, plan_of(analysis))
    message = " ".join(str(caught.value).split())
    assert (
        f"{CONTRACT}: asked for phase 3 (application), needs phase 4 (etl-and-contract) — "
        f"{CONTRACT} drops" in message
    )
    assert "which migration c7a9e1b3d5f7 (earlier in upgrade order) still uses" not in message


def test_a_plan_for_another_head_is_refused_with_the_refresh_command(
    demo: DemoRepository, tmp_path: Path, git_env: dict[str, str]
) -> None:
    analysis = demo_analysis(demo)
    path = written(analysis, tmp_path)
    repo = GitRepo(demo.path, git_env)
    repo.commit("more work", {"docs/more.md": "more\n"})
    moved_on = demo_analysis(demo)
    with pytest.raises(PlanError) as caught:
        load_plan_file(path, plan_inputs(moved_on), moved_on.refs, plan_of(moved_on))
    message = str(caught.value)
    assert f"made for head {demo.head[:12]}" in message
    assert f"stager plan --base main --head {demo.head_branch} --write {path}" in message


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        pytest.param(
            lambda text: text.replace('    "README.md",', '    "README.md",\n    "nope.txt",'),
            "'nope.txt' (phase 3) is not a file this branch changes",
            id="unknown",
        ),
        pytest.param(
            lambda text: re.sub(r'\n    "README.md",[^\n]*', "", text),
            "1 changed file in no phase: README.md",
            id="missing",
        ),
        pytest.param(
            lambda text: text.replace(
                'files = [\n    "backend/app/models/__init__.py",',
                'files = [\n    "README.md",\n    "backend/app/models/__init__.py",',
            ),
            "'README.md' is listed twice: in phase 1 and in phase 3",
            id="twice",
        ),
        pytest.param(
            lambda text: text.replace('name = "data"', 'name = "daat"'),
            "phase 2 is named 'daat' here, but the rules have 'data' there",
            id="renamed-phase",
        ),
    ],
)
def test_broken_plan_files(demo: DemoRepository, tmp_path: Path, edit, expected) -> None:  # type: ignore[no-untyped-def]
    analysis = demo_analysis(demo)
    path = written(analysis, tmp_path)
    path.write_text(edit(path.read_text(encoding="utf-8")), encoding="utf-8")
    with pytest.raises(PlanError) as caught:
        load_plan_file(path, plan_inputs(analysis), analysis.refs, plan_of(analysis))
    assert expected in str(caught.value)


def test_a_plan_file_that_is_not_toml_is_an_error_at_its_line(
    demo: DemoRepository, tmp_path: Path
) -> None:
    analysis = demo_analysis(demo)
    path = written(analysis, tmp_path)
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("files = [", "files = [[", 1), encoding="utf-8")
    with pytest.raises(TomlError) as caught:
        load_plan_file(path, plan_inputs(analysis), analysis.refs, plan_of(analysis))
    assert re.match(rf"{re.escape(str(path))}:\d+: toml: invalid TOML: ", str(caught.value))
    assert str(caught.value).endswith(" — fix the syntax (https://toml.io)")


def test_a_rename_cannot_be_split_across_phases(repo: GitRepo, tmp_path: Path) -> None:
    body = "".join(f"def function_{n}():\n    return {n}\n\n" for n in range(20))
    make_branch(repo, {"app/old.py": body}, {"app/old.py": None})
    repo.commit("rename", {"app/new.py": body, "app/other.py": "X = 1\n"})
    analysis = analyze(repo, tmp_path)
    path = written(analysis, tmp_path)
    text = path.read_text(encoding="utf-8")
    assert '"app/new.py",  # ' in text and "(renamed from app/old.py)" in text
    path.write_text(text.replace('    "app/other.py",', '    "app/other.py",\n    "app/old.py",'))
    with pytest.raises(PlanError) as caught:
        load_plan_file(path, plan_inputs(analysis), analysis.refs, plan_of(analysis))
    assert "a renamed file is one change" in str(caught.value)


def test_the_plan_file_is_valid_toml_for_odd_paths(repo: GitRepo, tmp_path: Path) -> None:
    make_branch(repo, {}, {'app/we"ird\\name.py': "X = 1\n", "app/ünï.py": "Y = 2\n"})
    analysis = analyze(repo, tmp_path)
    path = written(analysis, tmp_path)
    assert (
        load_plan_file(path, plan_inputs(analysis), analysis.refs, plan_of(analysis)).assignment
        == plan_of(analysis).assignment
    )


def test_json_files_carry_the_old_path_of_a_rename(repo: GitRepo, tmp_path: Path) -> None:
    import json

    from stager.render.plan import render_plan_json

    body = "".join(f"def function_{n}():\n    return {n}\n\n" for n in range(20))
    make_branch(repo, {"app/old.py": body}, {"app/old.py": None})
    repo.commit("rename", {"app/new.py": body, "app/other.py": "X = 1\n"})
    analysis = analyze(repo, tmp_path)
    data = json.loads(render_plan_json(analysis, plan_of(analysis)))
    files = {f["path"]: f for phase in data["phases"] for f in phase["files"]}
    assert files["app/new.py"]["old_path"] == "app/old.py"
    assert files["app/other.py"]["old_path"] is None


def test_a_plan_for_another_merge_base_is_refused(demo: DemoRepository, tmp_path: Path) -> None:
    analysis = demo_analysis(demo)
    path = written(analysis, tmp_path)
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace(f'merge_base = "{analysis.refs.merge_base}"', f'merge_base = "{"0" * 40}"')
    )
    with pytest.raises(PlanError) as caught:
        load_plan_file(path, plan_inputs(analysis), analysis.refs, plan_of(analysis))
    assert "made for merge base 000000000000" in str(caught.value)
    assert "stager plan --base" in (caught.value.fix or "")


def test_write_refuses_to_replace_an_edited_plan_without_force(
    demo: DemoRepository, tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from stager.cli import cli

    path = tmp_path / "stager-plan.toml"
    args = ["-C", str(demo.path), "plan", "--write", str(path), "--format", "json"]
    assert CliRunner().invoke(cli, args).exit_code == 0
    assert CliRunner().invoke(cli, args).exit_code == 0  # unedited: replaced quietly
    assert "# Keep this file untracked" in path.read_text(encoding="utf-8")
    move(path, MODEL, 4)
    edited = path.read_text(encoding="utf-8")
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1
    assert "was edited since stager wrote it" in result.stderr
    assert path.read_text(encoding="utf-8") == edited
    assert CliRunner().invoke(cli, [*args, "--force"]).exit_code == 0
    assert path.read_text(encoding="utf-8") != edited
