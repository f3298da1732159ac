"""Fuzz: random rules.toml and stager-plan.toml files never crash stager or reach the terminal raw.

Documents are random nestings of tables, arrays and values, with keys from
the real schemas (``stager/rules/toml_schema.py``, ``stager/plan/planfile.py``)
and random ones, values of the wrong type, huge integers, and control
characters in strings; the plan files also start from the real one, mutated.
Whatever the file, ``analyze --rules FILE`` and ``split --dry-run --plan FILE``
exit 0, 1 or 4 (never 3, a crash; never 2), and their output holds no raw
control character but newline and tab: a file's text reaches the terminal
escaped, or is refused at FILE:LINE.

Each bug this found is kept as an ``@example``.
"""

from __future__ import annotations

import datetime
import math
import re
import tomllib
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from stager.cli import cli
from stager.rules.catalogue import RULES
from stager.rules.settings import default_rules
from stager.rules.toml_schema import RULE_TABLE, SCHEMA
from tests.branches.helpers import migration, module
from tests.examples import examples
from tests.gitrepo import GitRepo, sealed_env

V = "backend/migrations/versions"

# -- a small serializer (tomli_w is not a dependency) ----------------------------------

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _string(text: str) -> str:
    """A TOML basic string: every control character escaped, as TOML requires."""
    out = []
    for character in text:
        if character in '"\\':
            out.append("\\" + character)
        elif ord(character) < 0x20 or ord(character) == 0x7F:
            out.append(f"\\u{ord(character):04X}")
        else:
            out.append(character)
    return '"' + "".join(out) + '"'


def _key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else _string(key)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    assert isinstance(value, dict), value
    return "{" + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + "}"


def _is_tables(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def dump(document: dict[str, Any], *, headers: bool = True) -> str:
    """``document`` as TOML: tables under [headers] and [[headers]] (or all inline)."""
    lines: list[str] = []

    def table(path: list[str], data: dict[str, Any]) -> None:
        nested = {
            k: v for k, v in data.items() if headers and (isinstance(v, dict) or _is_tables(v))
        }
        lines.extend(f"{_key(k)} = {_value(v)}" for k, v in data.items() if k not in nested)
        for key, value in nested.items():
            name = ".".join(_key(part) for part in [*path, key])
            for item in [value] if isinstance(value, dict) else value:
                lines.append(f"[{name}]" if isinstance(value, dict) else f"[[{name}]]")
                table([*path, key], item)

    table([], document)
    return "\n".join(lines) + "\n"


def test_the_serializer_writes_what_tomllib_reads() -> None:
    document = {
        "a b": "\x1b[31m\"\\'\t\n",
        "n": [1, 2.5, -(2**70), math.inf],
        "t": {"x": {"y": [{"z": True}]}, "when": datetime.date(2024, 1, 2)},
        "phase": [{"name": "one", "files": []}, {"name": "two"}],
    }
    for headers in (True, False):
        assert tomllib.loads(dump(document, headers=headers)) == document


# -- documents ------------------------------------------------------------------------

# Text that reaches code paths: format fields, glob syntax, rich markup, escapes.
_TRICKY = [
    "",
    " ",
    "default",
    "last",
    "error",
    "low",
    "critical",
    "main",
    "origin/HEAD",
    "stage/{number}-{name}",
    "{name}",
    "{number:03}",
    "{number:>{name}}",
    "{name!r}",
    "{0}",
    "{",
    "}",
    "refs/heads/x",
    "*.py",
    "**",
    "!",
    "[",
    "[z-a]",
    "[!",
    "\\",
    "a/**/b",
    "[/]",
    "[bold]x[/bold]",
    "[/nope]",
    "\x1b[31mred\x1b[0m",
    "\r\x07\x08\x9b2J",
    "line\nbreak",
    "additive",
    "any",
    "OWNER/NAME",
    "https://ghe.example.com/api/v3",
    "--version",
    "-h",
    "HEAD~1000",
    "@{u}",
    "main^{tree}",
    ":/x",
    "main..HEAD",
    "../../etc/passwd",
    "**/**/**/**/**/**/**/**/x",
    "[[:alpha:]]",
    "a\\",
    "#x",
]
_CONTROL = st.characters(min_codepoint=0, max_codepoint=0x9F)
STRINGS = st.one_of(
    st.sampled_from(_TRICKY),
    st.text(max_size=12),
    st.text(_CONTROL, max_size=6),
)
INTEGERS = st.one_of(
    st.integers(-3, 25),
    st.sampled_from([2**63, -(2**63) - 1, 10**40, -(10**40)]),
)
SCALARS = st.one_of(
    STRINGS,
    INTEGERS,
    st.booleans(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.dates(),
    st.datetimes(),
    st.times(),
)
KEYS = st.one_of(st.text(max_size=8), st.text(_CONTROL, min_size=1, max_size=4))


def values(keys: st.SearchStrategy[str] = KEYS) -> st.SearchStrategy[Any]:
    """Any TOML value: scalars, arrays and tables nested a few levels."""
    return st.recursive(
        SCALARS,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
        max_leaves=8,
    )


def _typed(kind: str, strings: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    """A value of the schema's ``kind`` (the right type, maybe a wrong value)."""
    return {
        "string": strings,
        "integer": INTEGERS,
        "boolean": st.booleans(),
        "array of strings": st.lists(strings, max_size=3),
    }.get(kind, values())


def shaped(
    keys: dict[str, st.SearchStrategy[Any]], *, max_size: int = 4
) -> st.SearchStrategy[dict[str, Any]]:
    """A table whose keys are mostly ``keys`` (each with its strategy), some random."""
    known = st.sampled_from(sorted(keys)).flatmap(
        lambda key: st.tuples(st.just(key), keys[key] | values())
    )
    unknown = st.tuples(KEYS, values())
    return st.lists(
        st.one_of(known, known, known, unknown), max_size=max_size, unique_by=lambda kv: kv[0]
    ).map(dict)


@st.composite
def rules_documents(draw: st.DrawFn, names: st.SearchStrategy[str]) -> dict[str, Any]:
    """A rules.toml: every section of the schema, its keys typed or not, random keys too."""
    strings = st.one_of(STRINGS, names)

    def section(name: str) -> dict[str, st.SearchStrategy[Any]]:
        return {key: _typed(spec.kind, strings) for key, spec in SCHEMA[name].items()}

    reviewers = st.dictionaries(names | KEYS, st.lists(strings, max_size=2), max_size=2)
    rule_ids = st.sampled_from(sorted(RULES)) | KEYS
    top: dict[str, st.SearchStrategy[Any]] = {
        "extends": st.sampled_from(["default", "defaults"]) | strings,
        "stager": shaped(section("stager")),
        "postgres": shaped(section("postgres")) | st.just({"version": 9.6}),
        "split": shaped(section("split")),
        "github": shaped(
            {**section("github"), "reviewers": reviewers, "team_reviewers": reviewers}
        ),
        "rules": st.dictionaries(rule_ids, shaped(section(RULE_TABLE)) | values(), max_size=3),
        "category": st.lists(shaped(section("category"), max_size=6), max_size=3),
        "phase": st.lists(shaped(section("phase"), max_size=6), max_size=3),
    }
    return draw(shaped(top, max_size=6))


VALID_RULES: dict[str, Any] = {
    "extends": "default",
    "stager": {"base": "main", "unassigned": "last", "rechain": True},
    "postgres": {"version": 14},
    "split": {"branch": "stage/{number}-{name}"},
    "github": {"repo": "o/r", "reviewers": {"backend": ["alice"]}, "team_reviewers": {}},
    "rules": {"SM001": {"risk": "low", "ignore": ["docs/**"]}, "SG001": {"enabled": False}},
    "category": [
        {"name": "guides", "title": "Guides", "description": "How-tos", "paths": ["docs/**"]}
        | {"risk": "low"}
    ],
    "phase": [
        {"name": "docs-first", "title": "Docs first", "categories": ["guides"]}
        | {"description": "Reading matter", "maintenance_window": False}
        | {"hunks": [{"path": "docs/*.py", "match": "guide_\\w+"}]}
    ],
}
"""A rules.toml that loads: mutated, it reaches the analysis with odd but valid values."""


def _now_and_then(
    usual: st.SearchStrategy[Any], rare: st.SearchStrategy[Any]
) -> st.SearchStrategy[Any]:
    """``rare`` one time in 32 (a document keeps most of its ~30 parts), else ``usual``."""
    # Not n == 0: hypothesis draws the ends of a range far more often than one in 32.
    return st.integers(0, 31).flatmap(lambda n: rare if n == 17 else usual)


def _pair(key: str, value: Any) -> tuple[str, Any]:
    return key, value


def mutated(value: Any, depth: int = 0) -> st.SearchStrategy[Any]:
    """``value`` with a few parts replaced, dropped or added (mostly kept as it is)."""
    keep = st.just(value)
    if isinstance(value, dict) and depth < 3:
        parts = [
            _now_and_then(mutated(v, depth + 1).map(partial(_pair, k)), st.just(None))  # None: drop
            for k, v in value.items()
        ]
        extra = _now_and_then(st.just([]), st.lists(st.tuples(KEYS, values()), max_size=1))
        rebuilt = st.tuples(st.tuples(*parts), extra).map(
            lambda found: dict([kv for kv in found[0] if kv is not None] + found[1])
        )
        return _now_and_then(rebuilt, values())
    if isinstance(value, list) and depth < 3:
        rebuilt_list = st.tuples(*(mutated(item, depth + 1) for item in value)).map(list)
        changed = st.one_of(st.permutations(value), values()) if value else values()
        return _now_and_then(rebuilt_list, changed)
    return _now_and_then(keep, SCALARS)


# -- the repository and the runs ------------------------------------------------------

HEAD, MERGE_BASE = "<head>", "<merge base>"  # the run writes the repository's commits there
PATHS = [
    "backend/app/models.py",
    f"{V}/0002_add.py",
    "backend/app/api.py",
    "backend/tests/test_api.py",
    "docs/guide.md",
]
REAL_PLAN: dict[str, Any] = {
    "version": 1,
    "head": HEAD,
    "merge_base": MERGE_BASE,
    "base_ref": "main",
    "head_ref": "HEAD",
    "phase": [
        {"number": 1, "name": "foundation", "files": PATHS[:2]},
        {"number": 2, "name": "data", "files": []},
        {"number": 3, "name": "application", "files": PATHS[2:]},
        {"number": 4, "name": "etl-and-contract", "files": []},
    ],
}
"""What `stager plan --write` writes for the repository (the fixture checks it)."""

NAMES = sorted(
    {phase.name for phase in default_rules().phases}
    | {category.name for category in default_rules().categories}
)


@dataclass(frozen=True)
class Fuzzed:
    """The repository every example runs on, and where the file goes."""

    repo: GitRepo
    commits: dict[str, str]  # HEAD and MERGE_BASE → the commit
    file: Path


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Fuzzed:
    """A feature branch with a migration, code, tests and docs: built once for every example."""
    folder = tmp_path_factory.mktemp("fuzz")
    repo = GitRepo.init(folder / "repo", sealed_env(tmp_path_factory.mktemp("fuzz-home")))
    merge_base = repo.commit(
        "base",
        {
            "backend/alembic.ini": "[alembic]\nscript_location = migrations\n",
            f"{V}/0001_base.py": migration("base1", None),
            "backend/app/models.py": module("models"),
            "README.md": "# readme\n",
        },
    )
    repo.git("checkout", "-q", "-b", "feature")
    head = repo.commit(
        "Feature",
        {
            f"{V}/0002_add.py": migration("add1", "base1", "add a column"),
            "backend/app/models.py": module("models", 1),
            "backend/app/api.py": module("api"),
            "backend/tests/test_api.py": module("test_api"),
            "docs/guide.md": "# guide\n",
        },
    )
    plan = folder / "real-plan.toml"
    written = CliRunner().invoke(cli, ["-C", str(repo.path), "plan", "--write", str(plan)])
    assert written.exit_code == 0, written.output
    real = tomllib.loads(plan.read_text(encoding="utf-8"))
    assert real == {**REAL_PLAN, "head": head, "merge_base": merge_base}
    return Fuzzed(repo, {HEAD: head, MERGE_BASE: merge_base}, folder / "fuzzed.toml")


_RAW_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def run(fuzzed: Fuzzed, text: str, *args: str) -> Result:
    """Write ``text`` as the file, run stager on it (``FILE`` in ``args`` is its path): it must
    exit cleanly and print no raw control character."""
    for placeholder, commit in fuzzed.commits.items():
        text = text.replace(_string(placeholder), _string(commit))
    fuzzed.file.write_text(text, encoding="utf-8")
    command = [str(fuzzed.file) if arg == "FILE" else arg for arg in args]
    result = CliRunner(env={"NO_COLOR": "1", "TERM": "dumb"}).invoke(
        cli, ["-C", str(fuzzed.repo.path), *command]
    )
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        text,
        result.exception,
    )
    assert result.exit_code in (0, 1, 4), (text, result.exit_code, result.output)
    for stream in (result.stdout, result.stderr):
        found = _RAW_CONTROL.search(stream)
        assert found is None, (text, found, stream[max(0, found.start() - 80) : found.end() + 80])
    return result


def _is_table(document: Any) -> bool:
    return isinstance(document, dict)


CATEGORY = {"name": "guides", "paths": ["docs/**"], "risk": "low"}
GUIDES = {"extends": "default", "category": [CATEGORY]}


FORMATS = st.sampled_from(["table", "json", "markdown"])
FUZZ = settings(
    max_examples=examples(50),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@FUZZ
@given(
    document=st.one_of(
        rules_documents(st.sampled_from(NAMES)), mutated(VALID_RULES).filter(_is_table)
    ),
    output_format=FORMATS,
    headers=st.booleans(),
    command=st.sampled_from(["analyze", "plan"]),
)
# Regressions, one per bug found:
# an unknown key's control character reached the terminal in the error's label
@example(document={"\x1f": []}, output_format="table", headers=False, command="analyze")
# a category title's control characters reached the terminal raw
@example(
    document=GUIDES | {"category": [CATEGORY | {"title": "\x1b[31m"}]},
    output_format="table",
    headers=True,
    command="analyze",
)
# a title holding "[/]" was read as rich markup: a crash (exit 3)
@example(
    document=GUIDES | {"category": [CATEGORY | {"title": "[/]"}]},
    output_format="table",
    headers=True,
    command="analyze",
)
@example(
    document=GUIDES | {"phase": [{"name": "first", "title": "[/]", "categories": ["guides"]}]},
    output_format="table",
    headers=True,
    command="analyze",
)
def test_random_rules_files(
    fuzzed: Fuzzed, document: dict[str, Any], output_format: str, headers: bool, command: str
) -> None:
    text = dump(document, headers=headers)
    run(fuzzed, text, "--rules", "FILE", command, "--format", output_format)


_PLAN_STRINGS = st.one_of(STRINGS, st.sampled_from(PATHS + NAMES))
_RANDOM_PLANS = shaped(
    {
        "version": st.just(1) | INTEGERS,
        "head": st.just(HEAD) | _PLAN_STRINGS,
        "merge_base": st.just(MERGE_BASE) | _PLAN_STRINGS,
        "base_ref": _PLAN_STRINGS,
        "head_ref": _PLAN_STRINGS,
        "phase": st.lists(
            shaped(
                {
                    "number": INTEGERS,
                    "name": _PLAN_STRINGS,
                    "files": st.lists(_PLAN_STRINGS, max_size=4),
                }
            ),
            max_size=4,
        ),
    },
    max_size=7,
)


@FUZZ
@given(
    document=st.one_of(
        mutated(REAL_PLAN).filter(lambda found: isinstance(found, dict)), _RANDOM_PLANS
    ),
    output_format=FORMATS,
    headers=st.booleans(),
)
# Regressions, one per bug found:
# a plan file's merge_base with a control character reached the terminal raw
@example(
    document={"head": HEAD, "version": 1, "merge_base": "\x08"}, output_format="json", headers=True
)
def test_random_plan_files(
    fuzzed: Fuzzed, document: dict[str, Any], output_format: str, headers: bool
) -> None:
    text = dump(document, headers=headers)
    run(fuzzed, text, "split", "--all", "--dry-run", "--plan", "FILE", "--format", output_format)


@pytest.mark.parametrize(
    ("text", "args", "expected"),
    [
        (
            '"\\u001F" = []\n',
            ("--rules", "FILE", "analyze"),
            "fuzzed.toml:1: '\\x1f': unknown key in the top level",
        ),
        (
            'version = 1\nhead = "<head>"\nmerge_base = "\\b"\n',
            ("split", "--all", "--plan", "FILE"),
            "fuzzed.toml:3: made for merge base '\\x08', but HEAD and main now meet at",
        ),
        (
            'extends = "default"\n[[category]]\nname = "guides"\ntitle = "\\u001b[2J"\n'
            'paths = ["docs/**"]\nrisk = "low"\n',
            ("--rules", "FILE", "analyze"),
            "fuzzed.toml:4: category.title: control character '\\x1b' in '\\x1b[2J' — "
            "remove it: write plain text",
        ),
        (
            'extends = "default"\n[github]\nreviewers = []\n',
            ("--rules", "FILE", "analyze"),
            "fuzzed.toml:3: github.reviewers: expected a table, got an array — "
            "write a [github.reviewers] header",
        ),
        (
            'extends = "default"\n[[category]]\nname = "guides"\ntitle = "[/] [b]x[/b]"\n'
            'paths = ["docs/**"]\nrisk = "low"\n',
            ("--rules", "FILE", "analyze"),
            "[/] [b]x[/b]",
        ),
        (
            dump(REAL_PLAN).replace('"docs/guide.md"', '"docs/guide.md", "nope.txt"'),
            ("split", "--all", "--plan", "FILE"),
            "fuzzed.toml:17: 'nope.txt' (phase 3) is not a file this branch changes",
        ),
    ],
    ids=["rules key", "plan merge_base", "title", "reviewers", "markup", "plan file"],
)
def test_what_the_fuzzer_found_is_said_at_file_and_line_or_printed_as_written(
    fuzzed: Fuzzed, text: str, args: tuple[str, ...], expected: str
) -> None:
    result = run(fuzzed, text, *args)
    assert expected in result.stdout + result.stderr, result.output
