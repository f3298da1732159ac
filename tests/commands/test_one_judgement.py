"""One phase, one judgement, one number, one branch name: plan, split and open-pr agree."""

from __future__ import annotations

import json
import re
from pathlib import Path

from click.testing import CliRunner, Result

from stager.cli import cli
from stager.demo import DemoRepository
from tests.github.phase_branches import analysis_of, build_phase_branches
from tests.gitrepo import GitRepo
from tests.plan.helpers import RULES, make_branch, revision_file, version_path

RATINGS = ("Database impact", "Backward compatibility", "Rollback", "Testing")
# The assessment's commands (findings' hints, e.g. SG008's `alembic merge heads`, are not it).
COMMAND = re.compile(r"`((?:test |pg_dump |pg_restore |alembic (?!merge))[^`]*)`")


def invoke(*args: str) -> Result:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def sections(text: str, heading: str) -> dict[int, str]:
    """Phase number → its section, for headings ``## Phase N…``."""
    parts = re.split(rf"^{heading} (\d+)\b", text, flags=re.MULTILINE)
    return {int(parts[i]): parts[i + 1] for i in range(1, len(parts), 2)}


def phase_sections(path: Path) -> tuple[dict[int, str], dict[int, str]]:
    """Each phase's section of the staging document and of the pull requests (dry run)."""
    plan = invoke("-C", str(path), "plan", "--format", "markdown").stdout
    pulls = invoke("-C", str(path), "open-pr", "--all", "--dry-run", "--github-repo", "acme/fuel")
    documented = sections(plan.split("\n## Building the branches")[0], "## Phase")
    return documented, sections(pulls.stdout.split("\n## Would run")[0], "## Phase")


def judgement(section: str) -> tuple[list[str], set[str]]:
    ratings = [
        line
        for line in section.splitlines()
        if line.startswith(tuple(f"- **{r}:**" for r in RATINGS))
    ]
    return ratings, set(COMMAND.findall(section))


def test_the_staging_document_and_the_pull_requests_render_one_judgement(
    demo: DemoRepository,
) -> None:
    build_phase_branches(demo.path, analysis_of(demo.path, demo.base_branch, demo.head_branch))
    documented, opened = phase_sections(demo.path)
    assert sorted(documented) == sorted(opened) == [1, 2, 3, 4]
    for number in documented:
        doc, pull = documented[number], opened[number]
        title = re.search(r"### PR title\n\n```\n(.*)\n```", doc)
        assert title is not None and f"Title: {title.group(1)}\n" in pull, number
        doc_ratings, doc_commands = judgement(doc)
        pull_ratings, pull_commands = judgement(pull)
        assert len(doc_ratings) == len(RATINGS) and doc_ratings == pull_ratings, number
        assert doc_commands == pull_commands, (number, doc_commands ^ pull_commands)
        for command in doc_commands:
            assert "alembic " not in command or "alembic -c backend/alembic.ini " in command
            assert "downgrade" not in command or command.startswith(
                "test \"$(alembic -c backend/alembic.ini current | cut -d' ' -f1)\" = "
            )
    foundation = judgement(documented[1])[1]
    assert (
        "test \"$(alembic -c backend/alembic.ini current | cut -d' ' -f1)\" = 8e2f4a6c8e0a "
        "&& alembic -c backend/alembic.ini downgrade d1f3b5d7f9b1"
    ) in foundation
    backup = 'pg_dump --format=custom --file=before-phase-2-data.dump "$DATABASE_URL"'
    restore = 'pg_restore --clean --if-exists --dbname="$DATABASE_URL" before-phase-2-data.dump'
    assert {backup, restore} <= judgement(documented[2])[1]
    assert "6 new migrations, 1 edited base revision" in documented[1]
    assert "6 new migrations, 1 edited base revision" in opened[1]


def test_an_empty_phase_keeps_every_number_in_step(repo: GitRepo, tmp_path: Path) -> None:
    """Phase 2 has no file: branches, commits, titles, bodies and JSON say 1 and 3, of 4."""
    make_branch(
        repo,
        {version_path("a0"): revision_file("a0", None)},
        {
            version_path("a1"): revision_file("a1", "a0", 'op.add_column("t", sa.Column("c"))'),
            "app/service.py": "VALUE = 1\n",
        },
    )
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES, encoding="utf-8")
    base = ("-C", str(repo.path), "--rules", str(rules))
    invoke(*base, "split", "--all", "--strategy", "patch")
    assert repo.git("for-each-ref", "--format=%(refname:short)", "refs/heads/stage").split() == [
        "stage/1-schema",
        "stage/3-code",
    ]
    assert repo.git("log", "-1", "--format=%s", "stage/3-code") == "Code (stage 3 of 4)"
    data = json.loads(
        invoke(
            *base, "open-pr", "--all", "--dry-run", "--format", "json", "--github-repo", "a/b"
        ).stdout
    )
    pulls = data["pull_requests"]
    assert [(p["phase"], p["branch"]) for p in pulls] == [
        (1, "stage/1-schema"),
        (3, "stage/3-code"),
    ]
    assert pulls[1]["title"] == "Code (phase 3/4)"
    assert "Phase 3 of 4 split from" in pulls[1]["body"]
    assert "| 👉 | 3. Code |" in pulls[1]["body"]
    plan = invoke(*base, "plan", "--format", "markdown").stdout
    assert "Code (phase 3/4)" in plan and "`stage/3-code`" in plan
    assert "alembic current" in plan  # alembic.ini at the root: plain alembic


def test_a_custom_branch_template_names_every_branch(demo: DemoRepository) -> None:
    rules = demo.path / ".stager" / "rules.toml"
    rules.parent.mkdir(exist_ok=True)
    rules.write_text('extends = "default"\n\n[split]\nbranch = "custom/{number}-{name}"\n')
    base = ("-C", str(demo.path))
    plan = invoke(*base, "plan", "--format", "markdown").stdout
    assert "custom/1-foundation" in plan and "stage/" not in plan
    invoke(*base, "split", "--all")
    branches = GitRepo(demo.path, {}).git("for-each-ref", "--format=%(refname:short)")
    assert "custom/4-etl-and-contract" in branches.split() and "stage/" not in branches
    pulls = invoke(*base, "open-pr", "--all", "--dry-run", "--github-repo", "acme/fuel").stdout
    assert "## Phase 2: custom/2-data → custom/1-foundation" in pulls and "stage/" not in pulls


def test_after_a_split_onto_the_base_both_render_what_was_built(demo: DemoRepository) -> None:
    """split --onto main re-chains phase 1 onto main's head 0c2e4a6c8e0f: the staging document
    and the pull requests both roll phase 1 back there, never to the merge base's d1f3b5d7f9b1
    (which would also undo main's own migration)."""
    invoke("-C", str(demo.path), "split", "--all", "--onto", "main", "--force")
    documented, opened = phase_sections(demo.path)
    # The first pull request opens with what a database that ran the feature branch must do
    # (the phases count main's revision as run below the branch's): go back to the merge
    # base from a checkout of the feature branch. The phase's own rollback is below it.
    warning = next(line for line in opened[1].splitlines() if "shows any of" in line)
    assert "(`alembic -c backend/alembic.ini downgrade d1f3b5d7f9b1`)" in warning
    opened[1] = opened[1].replace(warning, "")
    for text in (documented[1], opened[1]):
        assert "alembic -c backend/alembic.ini downgrade 0c2e4a6c8e0f" in text
        assert "downgrade d1f3b5d7f9b1" not in text
    for number in documented:
        assert judgement(documented[number])[1] == judgement(opened[number])[1], number
