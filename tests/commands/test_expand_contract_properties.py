"""Property: for random expand/contract mixes and hunk layouts, the phases add up to head.

Each example is a real repository: main has a table ``account`` (its model maps
stable and legacy columns, a service reads the legacy ones), two indexes and
two legacy tables. The branch has one to three revisions, each a random mix of
expand operations (add a nullable column, create a table, create an index) and
contract operations (drop a column, an index, a table); one revision always
adds a column and drops one the code used, so most examples split; the model gains the new
columns and loses the dropped ones at random places, so its hunks are sometimes
apart and sometimes mixed, and the service stops reading what is dropped and
reads what is added. ``plan`` and ``split --all`` (a random strategy) run
through the CLI; then:

- verify is green;
- the last phase's tree is head's, apart from the rewrites the record lists;
- real Alembic, offline: every phase has one head, each revision of head emits
  the same statements on the phased history (an expand revision counted as
  part of the revision it came from), nothing is run twice or lost, and the
  order is head's unless re-chaining moved a revision (tests/alembic_offline).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

from stager.cli import cli
from tests.alembic_offline import OfflineCheck, check_split_offline
from tests.alembic_offline.revisions import SchemaOp, model_file, revision_file
from tests.gitrepo import GitRepo

VERSIONS = "migrations/versions"
MODEL = "backend/app/models/account.py"
SERVICE = "backend/app/services/account_service.py"
STABLE = [f"figure_{n}" for n in range(6)]
LEGACY = [f"old_{n}" for n in range(3)]
BASE_OPS = [
    SchemaOp("create_table", "account", "figure_0"),
    *(SchemaOp("add_column", "account", column) for column in [*STABLE[1:], *LEGACY]),
    SchemaOp("create_index", "account", "ix_account_figure_1", "figure_1"),
    SchemaOp("create_index", "account", "ix_account_figure_2", "figure_2"),
    SchemaOp("create_table", "legacy_0"),
    SchemaOp("create_table", "legacy_1"),
]
ADDS = [SchemaOp("add_column", "account", f"new_{n}") for n in range(3)]
DROPS = [SchemaOp("drop_column", "account", column) for column in LEGACY]
MENU = [
    *ADDS,
    SchemaOp("create_table", "extra_0"),
    SchemaOp("create_table", "extra_1"),
    SchemaOp("create_index", "account", "ix_account_figure_3", "figure_3"),
    SchemaOp("create_index", "account", "ix_account_figure_4", "figure_4"),
    *DROPS,
    SchemaOp("drop_index", "account", "ix_account_figure_1", "figure_1"),
    SchemaOp("drop_index", "account", "ix_account_figure_2", "figure_2"),
    SchemaOp("drop_table", "legacy_0"),
    SchemaOp("drop_table", "legacy_1"),
]


def service(columns: list[str]) -> str:
    return "".join(f"def read_{c}(account):\n    return account.{c}\n\n\n" for c in columns)


@st.composite
def branches(draw: st.DrawFn) -> dict[str, Any]:
    """The branch's revisions (lists of operations), and the model's columns before and after."""
    # One mixed pair (a column in, a column the code used out) shares a revision, so most
    # examples split; the other operations go anywhere.
    pair = [draw(st.sampled_from(ADDS)), draw(st.sampled_from(DROPS))]
    others = [op for op in MENU if op not in pair]
    extra = draw(st.lists(st.sampled_from(others), max_size=4, unique=True))
    ops = draw(st.permutations([*pair, *extra]))
    # which of up to three revisions each operation goes to (empty revisions vanish)
    home = draw(st.integers(0, 2))
    homes = [home if op in pair else draw(st.integers(0, 2), label=f"home of {op}") for op in ops]
    grouped = [[op for op, home in zip(ops, homes, strict=True) if home == n] for n in range(3)]
    revisions = [group for group in grouped if group]
    base_columns = draw(st.permutations([*STABLE, *LEGACY]))
    dropped = {op.name for op in ops if op.kind == "drop_column"}
    head_columns = [c for c in base_columns if c not in dropped]
    for op in ops:
        if op.kind == "add_column":
            head_columns.insert(draw(st.integers(0, len(head_columns))), op.name)
    return {
        "revisions": revisions,
        "base_columns": base_columns,
        "head_columns": head_columns,
        # the commit changing the model and the service: a revision's, or one after them all
        "code_in": draw(st.integers(0, len(revisions))),
    }


def build(repo: GitRepo, branch: dict[str, Any]) -> None:
    base_columns, head_columns = branch["base_columns"], branch["head_columns"]
    repo.commit(
        "base",
        {
            "alembic.ini": "[alembic]\nscript_location = migrations\n",
            f"{VERSIONS}/{1:012x}_base.py": revision_file(f"{1:012x}", None, BASE_OPS, "base"),
            MODEL: model_file("account", base_columns),
            SERVICE: service(LEGACY),
        },
    )
    repo.checkout("-b", "feature")
    for number, ops in enumerate(branch["revisions"], start=2):
        rev, parent = f"{number:012x}", f"{number - 1:012x}"
        files = {f"{VERSIONS}/{rev}_step.py": revision_file(rev, parent, ops, f"step {number}")}
        if number - 2 == branch["code_in"]:
            files.update(code(head_columns))
        repo.commit(f"step {number}", files)
    if branch["code_in"] == len(branch["revisions"]):
        repo.commit("the code follows", code(head_columns))


def code(columns: list[str]) -> dict[str, str]:
    """Head's model and service, mapping and reading ``columns``."""
    used = [column for column in columns if column.startswith(("old_", "new_"))]
    return {MODEL: model_file("account", columns), SERVICE: service(used)}


def stager(repo: GitRepo, *args: str) -> Any:
    return CliRunner().invoke(cli, ["-C", str(repo.path), *args])


@settings(
    max_examples=5,  # ~2 s each; 150 examples once ran green
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(branch=branches(), strategy=st.sampled_from(["auto", "patch", "cherry-pick"]))
def test_the_phases_add_up_to_heads_operations_and_files(
    git_env: dict[str, str], branch: dict[str, Any], strategy: str
) -> None:
    with tempfile.TemporaryDirectory(prefix="stager-ec-prop-") as folder:
        repo = GitRepo.init(Path(folder) / "repo", git_env)
        build(repo, branch)
        phases_add_up(repo, Path(folder) / "trees", strategy)


def phases_add_up(repo: GitRepo, trees: Path, strategy: str = "auto") -> OfflineCheck:
    plan = stager(repo, "plan", "--base", "main", "--format", "json")
    assert plan.exit_code == 0, plan.output
    splits = json.loads(plan.stdout).get("splits", [])
    built = stager(repo, "split", "--base", "main", "--all", "--strategy", strategy)
    assert built.exit_code == 0, built.output
    verified = stager(repo, "verify", "--base", "main")
    assert verified.exit_code == 0, verified.output
    record = json.loads(repo.git("show", "refs/stager/record/feature:record.json"))
    # the last phase's tree is head's, apart from the rewrites the record lists
    last_rewrite = {
        rewrite["path"]: rewrite for phase in record["phases"] for rewrite in phase["rewrites"]
    }
    last = record["phases"][-1]["branch"]
    differing = repo.git("diff", "--name-only", "feature", last).splitlines()
    for path in differing:
        rewrite = last_rewrite.get(path)
        assert rewrite is not None, f"{path} differs from head and no rewrite says why"
        assert rewrite.get("reason") != "partial", f"{path}: a partial version outlived its phase"
        assert repo.git("rev-parse", f"{last}:{path}") == rewrite["new_blob"], path
    # real Alembic: the phases run head's statements
    check = check_split_offline(
        repo, trees, origins={s["expand_revision"]: s["revision"] for s in splits}
    )
    assert not check.not_checked, check.explain()
    assert all(len(run.heads) == 1 for run in check.phases), check.explain()
    assert check.by_revision == {}, check.explain()
    assert check.exact == (not check.reordered), check.explain()
    # what the examples exercised, for --hypothesis-show-statistics
    if currently_in_test_context():
        event(f"{len(splits)} split(s), {len(record['phases'])} phases")
        event("re-chaining moved revisions" if check.reordered else "head's order")
        event(
            "partial model"
            if "partial" in {r.get("reason") for r in last_rewrite.values()}
            else "no partial file"
        )
    return check


def test_a_revision_that_drops_before_it_adds_splits_into_branches_that_verify(
    repo: GitRepo, tmp_path: Path
) -> None:
    columns = [*STABLE, *LEGACY]
    build(
        repo,
        {
            "revisions": [
                [
                    SchemaOp("drop_column", "account", "old_0"),
                    SchemaOp("add_column", "account", "new_0"),
                ]
            ],
            "base_columns": columns,
            "head_columns": ["new_0", *(c for c in columns if c != "old_0")],
            "code_in": 0,
        },
    )
    check = phases_add_up(repo, tmp_path / "trees")
    # head drops before it adds; the parts run the add first, each in head's order
    (revision,) = {section.revision for section in check.head.sections}
    assert check.interleaved == [revision]
