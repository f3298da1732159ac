"""The case set of issue 16, rebuilt from its text, as fixture files (cases/).

Each case is an Alembic revision (``op/NAME.py.txt``) and, where SQL can say
it, a plain SQL migration (``sql/NAME.sql``). A risky case must raise its rule
in both forms; a safe case must raise nothing high or critical.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from stager.findings import Finding
from stager.migrations.lint.engine import Linted, lint_migrations
from stager.migrations.lint.envpy import EnvSettings
from stager.migrations.lint.sql_files import sql_file_findings
from stager.migrations.parse import parse_migration
from stager.types import RepoPath, Risk
from tests.migrations.builders import blob_sha

CASES = Path(__file__).parent / "cases"
SET = tomllib.loads((CASES / "cases.toml").read_text(encoding="utf-8"))["case"]


def op_findings(name: str) -> list[Finding]:
    source = (CASES / "op" / f"{name}.py.txt").read_bytes()
    path = RepoPath(f"versions/{name}.py")
    migration = parse_migration(path, blob_sha(source), source)
    return lint_migrations([Linted((migration,), EnvSettings())], {path: source}, 14)


def sql_findings(name: str) -> list[Finding] | None:
    path = CASES / "sql" / f"{name}.sql"
    if not path.exists():
        return None  # an ORM backfill or an f-string: no SQL form
    return sql_file_findings(RepoPath(path.name), path.read_bytes(), 14)


@pytest.mark.parametrize("case", SET, ids=[case["name"] for case in SET])
def test_case_in_both_forms(case: dict[str, str]) -> None:
    forms = {"op": op_findings(case["name"]), "sql": sql_findings(case["name"])}
    for form, found in forms.items():
        if found is None:
            continue
        if case["expect"]:
            assert case["expect"] in {f.rule for f in found}, (form, found)
        else:
            alarms = [f for f in found if f.risk >= Risk.HIGH]
            assert not alarms, (form, alarms)


def test_every_case_file_is_in_the_set() -> None:
    names = {case["name"] for case in SET}
    assert {path.name.removesuffix(".py.txt") for path in (CASES / "op").iterdir()} == names
    assert {path.stem for path in (CASES / "sql").iterdir()} <= names
