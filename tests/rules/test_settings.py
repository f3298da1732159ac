from __future__ import annotations

import importlib.util
import re
import shutil
from pathlib import Path
from textwrap import dedent
from types import ModuleType

import pytest

from stager.errors import RulesError, StagerError
from stager.resources import packaged_path
from stager.rules.settings import Rules, default_rules, load_rules
from stager.rules.toml_schema import SCHEMA
from stager.types import MigrationKind, Risk

REPO_ROOT = Path(__file__).resolve().parents[2]


def load(text: str, **kwargs: Rules) -> Rules:
    return load_rules(dedent(text).lstrip("\n"), "rules.toml", **kwargs)


def error_of(text: str) -> str:
    with pytest.raises(RulesError) as info:
        load(text)
    return str(info.value)


MINIMAL = """
[[category]]
name = "models"
paths = ["**/models.py"]
risk = "low"
"""


# --- the packaged default -------------------------------------------------------------


def test_packaged_default_loads_and_every_phase_category_exists() -> None:
    rules = default_rules()
    names = [category.name for category in rules.categories]
    assert len(names) == len(set(names))
    for phase in rules.phases:
        assert phase.categories, phase.name
        for name in phase.categories:
            assert rules.category(name) is not None, (phase.name, name)
    # every default category has a phase: nothing falls to "last phase" by accident
    assert all(rules.phase_of_category(name) is not None for name in names)
    assert [phase.name for phase in rules.phases] == [
        "foundation",
        "data",
        "application",
        "etl-and-contract",
    ]
    assert [phase.number for phase in rules.phases] == [1, 2, 3, 4]
    assert rules.base is None
    assert rules.source == "rules.toml"


def test_packaged_default_covers_every_migration_kind_once() -> None:
    kinds = [kind for category in default_rules().categories for kind in category.migration]
    assert sorted(kinds) == sorted(MigrationKind)


def test_packaged_default_risks_follow_the_migration_kinds() -> None:
    rules = default_rules()
    risk = {kind: c.risk for c in rules.categories for kind in c.migration}
    assert risk[MigrationKind.ADDITIVE] == Risk.MEDIUM
    assert risk[MigrationKind.REFERENCE_DATA] == Risk.MEDIUM
    assert risk[MigrationKind.DATA] == Risk.HIGH
    assert risk[MigrationKind.DESTRUCTIVE] == Risk.CRITICAL
    assert risk[MigrationKind.EMPTY] == Risk.LOW


def test_packaged_files_are_found_in_the_checkout() -> None:
    assert packaged_path("rules.toml") == REPO_ROOT / "rules.toml"
    assert packaged_path("templates").is_dir()


def _resources_copy(root: Path) -> ModuleType:
    """stager/resources.py as it sits in another layout (an installed wheel, site-packages)."""
    package = root / "stager"
    package.mkdir(parents=True)
    shutil.copy(REPO_ROOT / "stager" / "resources.py", package / "resources.py")
    spec = importlib.util.spec_from_file_location("resources_copy", package / "resources.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_packaged_files_are_found_in_an_installed_wheel(tmp_path: Path) -> None:
    resources = _resources_copy(tmp_path)
    data = tmp_path / "stager" / "_data"
    (data / "templates").mkdir(parents=True)
    (data / "rules.toml").write_text("# packaged\n")
    (tmp_path / "rules.toml").write_text("# not ours\n")
    assert resources.packaged_path("rules.toml") == data / "rules.toml"
    assert resources.packaged_path("templates") == data / "templates"


def test_site_packages_neighbours_are_not_taken_for_ours(tmp_path: Path) -> None:
    resources = _resources_copy(tmp_path)
    (tmp_path / "templates").mkdir()  # another distribution's stray folder
    with pytest.raises(StagerError, match="reinstall stager"):
        resources.packaged_path("templates")


# --- schema -----------------------------------------------------------------------------


def test_minimal_rules() -> None:
    rules = load(
        """
        [stager]
        base = "develop"

        [[category]]
        name = "schema-additive"
        migration = ["additive"]
        risk = "medium"

        [[category]]
        name = "models"
        title = "SQLAlchemy models"
        description = "ORM classes"
        paths = ["**/models/**", "**/models.py"]
        risk = "low"

        [[category]]
        name = "any-migration"
        migration = ["any"]
        risk = "high"

        [[category]]
        name = "sub"
        submodule = true
        risk = "medium"

        [[phase]]
        name = "foundation"
        categories = ["schema-additive", "models"]
        """
    )
    assert rules.base == "develop"
    additive, models, any_migration, sub = rules.categories
    assert additive.title == "Schema additive"
    assert additive.migration == (MigrationKind.ADDITIVE,)
    assert additive.line == 4
    assert models.title == "SQLAlchemy models"
    assert [pattern.text for pattern in models.paths] == ["**/models/**", "**/models.py"]
    assert models.match_path("app/models/user.py") is models.paths[0]
    assert models.location == "rules.toml:9"
    assert set(any_migration.migration) == set(MigrationKind)
    assert sub.submodule
    (phase,) = rules.phases
    assert (phase.number, phase.title) == (1, "Foundation")
    assert rules.phase_of_category("models") == phase
    assert rules.phase_of_category("sub") is None
    assert rules.phase(1) == phase
    assert rules.phase(2) is None


@pytest.mark.parametrize(
    ("text", "prefix", "rest"),
    [
        pytest.param(
            """
            [[category]]
            name = "models"
            pathz = ["**/models.py"]
            risk = "low"
            """,
            "rules.toml:3: category.pathz: ",
            "unknown key in [[category]] — did you mean 'paths'?",
            id="unknown-category-key",
        ),
        pytest.param(
            'extend = "default"\n' + MINIMAL,
            "rules.toml:1: extend: ",
            "unknown key in the top level — did you mean 'extends'?",
            id="unknown-top-level-key",
        ),
        pytest.param(
            MINIMAL + '\n[stager]\nbsae = "main"\n',
            "rules.toml:7: stager.bsae: ",
            "unknown key in [stager] — did you mean 'base'?",
            id="unknown-stager-key",
        ),
        pytest.param(
            MINIMAL + '\n[[phase]]\nname = "one"\ncategory = ["models"]\n',
            "rules.toml:8: phase.category: ",
            "unknown key in [[phase]] — did you mean 'categories'?",
            id="unknown-phase-key",
        ),
        pytest.param(
            """
            [[category]]
            name = "models"
            paths = ["**/models.py"]
            risk = "hihg"
            """,
            "rules.toml:4: category.risk: ",
            "unknown risk 'hihg' — did you mean 'high'?",
            id="bad-risk",
        ),
        pytest.param(
            """
            [[category]]
            name = "models"
            paths = [
                "**/models.py",
                "app/[models/**",
            ]
            risk = "low"
            """,
            "rules.toml:5: category.paths: ",
            "invalid pattern 'app/[models/**': unclosed '[' at column 5 — close it with ']'",
            id="bad-glob-on-its-own-line",
        ),
        pytest.param(
            """
            [[category]]
            name = "models"
            paths = "**/models.py"
            risk = "low"
            """,
            "rules.toml:3: category.paths: ",
            "expected an array of strings, got a string ('**/models.py') — write paths = [",
            id="paths-not-a-list",
        ),
        pytest.param(
            """
            [[category]]
            name = "sub"
            submodule = "yes"
            risk = "low"
            """,
            "rules.toml:3: category.submodule: ",
            "expected true or false, got a string ('yes') — write submodule = true",
            id="submodule-not-a-boolean",
        ),
        pytest.param(
            """
            [[category]]
            name = "models"
            paths = ["**/models.py"]
            risk = 3
            """,
            "rules.toml:4: category.risk: ",
            "expected a string, got an integer (3)",
            id="risk-not-a-string",
        ),
        pytest.param(
            """
            [[category]]
            name = "models"
            paths = ["**/models.py"]
            """,
            "rules.toml:1: category.risk: ",
            "missing key 'risk' — add risk = ",
            id="missing-risk",
        ),
        pytest.param(
            """
            [[category]]
            name = "Models"
            paths = ["**/models.py"]
            risk = "low"
            """,
            "rules.toml:2: category.name: ",
            "invalid name 'Models' — use lower-case letters",
            id="bad-name",
        ),
        pytest.param(
            """
            [[category]]
            name = "data"
            migration = ["dat"]
            risk = "high"
            """,
            "rules.toml:3: category.migration: ",
            "unknown migration kind 'dat' — did you mean 'data'?",
            id="unknown-migration-kind",
        ),
        pytest.param(
            """
            [[category]]
            name = "nothing"
            risk = "low"
            """,
            "rules.toml:1: category: ",
            "category 'nothing' matches nothing — give it paths, migration or submodule = true",
            id="category-matches-nothing",
        ),
        pytest.param(
            MINIMAL
            + dedent(
                """
                [[category]]
                name = "docs"
                paths = ["*.md"]
                risk = "low"

                [[category]]
                name = "models"
                paths = ["models/"]
                risk = "low"
            """
            ),
            "rules.toml:12: category.name: ",
            "duplicate category 'models' (first at line 1) — rename one or merge the two",
            id="duplicate-category",
        ),
        pytest.param(
            MINIMAL
            + dedent(
                """
                [[phase]]
                name = "one"

                [[phase]]
                name = "one"
            """
            ),
            "rules.toml:10: phase.name: ",
            "duplicate phase 'one' (first at line 6)",
            id="duplicate-phase",
        ),
        pytest.param(
            MINIMAL
            + dedent(
                """
                [[phase]]
                name = "one"
                categories = [
                    "models",
                    "model",
                ]
            """
            ),
            "rules.toml:10: phase.categories: ",
            "unknown category 'model' in phase 'one' — did you mean 'models'?",
            id="unknown-category-in-phase",
        ),
        pytest.param(
            MINIMAL
            + dedent(
                """
                [[phase]]
                name = "one"
                categories = ["models"]

                [[phase]]
                name = "two"
                categories = ["models"]
            """
            ),
            "rules.toml:12: phase.categories: ",
            "category 'models' is already in phase 'one'",
            id="category-in-two-phases",
        ),
        pytest.param(
            """
            [[category]]
            name = "models"
            paths = ["**/models.py"
            risk = "low"
            """,
            "rules.toml:4: toml: ",
            "invalid TOML: ",
            id="toml-syntax-error",
        ),
        pytest.param(
            '[stager]\nbase = "main"\n',
            "rules.toml:1: category: ",
            'no [[category]] table — add one, or set extends = "default"',
            id="no-categories",
        ),
        pytest.param(
            '[category]\nname = "x"\nrisk = "low"\n',
            "rules.toml:1: category: ",
            "expected [[category]] tables, got a table",
            id="single-brackets",
        ),
        pytest.param(
            'extends = "mine"\n' + MINIMAL,
            "rules.toml:1: extends: ",
            "unknown value 'mine' — the only value is extends = \"default\"",
            id="extends-unknown",
        ),
    ],
)
def test_validation_errors(text: str, prefix: str, rest: str) -> None:
    message = error_of(text)
    assert message.startswith(prefix), message
    assert rest in message[len(prefix) :], message


def test_error_is_one_line_with_a_fix() -> None:
    message = error_of(MINIMAL.replace('"low"', '"lowest"'))
    assert "\n" not in message
    assert re.fullmatch(r"rules\.toml:\d+: category\.risk: .+ — .+", message)


def test_syntax_error_names_line_and_column() -> None:
    message = error_of('[[category]]\nname = "x"\n  risk low\n')
    assert message.startswith("rules.toml:3: toml: invalid TOML: Expected '='")
    assert "column" in message


def test_headers_inside_multiline_strings_do_not_shift_lines() -> None:
    message = error_of(
        '''
        [[category]]
        name = "docs"
        description = """
        [[category]]
        name = "fake"
        """
        paths = ["*.md"]
        risk = "low"

        [[category]]
        name = "models"
        risk = "lo"
        paths = ["models/"]
        '''
    )
    assert message.startswith("rules.toml:12: category.risk: "), message


def test_key_written_quoted_is_located() -> None:
    message = error_of('[[category]]\n"name" = "x"\n"paths" = ["["]\nrisk = "low"\n')
    assert message.startswith("rules.toml:3: category.paths: "), message


def test_unknown_table_is_located_at_its_header() -> None:
    message = error_of(MINIMAL + '\n[stagr]\nbase = "main"\n')
    assert message.startswith("rules.toml:6: stagr: unknown key"), message
    nested = error_of(MINIMAL + '\n[stager]\nbase = "main"\n\n[stager.extra]\nx = 1\n')
    assert nested.startswith("rules.toml:9: stager.extra: "), nested


def test_base_line_is_kept() -> None:
    assert load(MINIMAL + '\n[stager]\n\nbase = "develop"\n').base_line == 8
    assert load(MINIMAL).base_line == 0


# --- extends -------------------------------------------------------------------------------

DEFAULT = """
[stager]
base = "main"

[[category]]
name = "migrations"
migration = ["any"]
risk = "high"

[[category]]
name = "backend"
paths = ["*.py"]
risk = "medium"

[[category]]
name = "other"
paths = ["*"]
risk = "low"

[[phase]]
name = "schema"
categories = ["migrations"]

[[phase]]
name = "code"
categories = ["backend", "other"]
"""


@pytest.fixture
def default() -> Rules:
    return load_rules(DEFAULT, "default.toml")


def test_without_extends_project_replaces_default(default: Rules) -> None:
    rules = load(MINIMAL, default=default)
    assert [category.name for category in rules.categories] == ["models"]
    assert rules.phases == ()
    assert rules.base is None


def test_extends_puts_project_entries_first(default: Rules) -> None:
    rules = load(
        """
        extends = "default"

        [[category]]
        name = "etl"
        paths = ["etl/"]
        risk = "high"

        [[phase]]
        name = "etl"
        categories = ["etl"]
        """,
        default=default,
    )
    assert rules.extends == "default"
    assert [category.name for category in rules.categories] == [
        "etl",
        "migrations",
        "backend",
        "other",
    ]
    assert [(phase.number, phase.name) for phase in rules.phases] == [
        (1, "etl"),
        (2, "schema"),
        (3, "code"),
    ]
    assert rules.categories[0].source == "rules.toml"
    assert rules.categories[1].location == "default.toml:5"
    assert rules.base == "main"
    assert rules.source == "rules.toml"


def test_extends_replaces_same_name_in_place(default: Rules) -> None:
    rules = load(
        """
        extends = "default"

        [stager]
        base = "develop"

        [[category]]
        name = "frontend"
        paths = ["*.js"]
        risk = "medium"

        [[category]]
        name = "other"
        paths = ["*"]
        risk = "medium"

        [[phase]]
        name = "code"
        title = "Code and frontend"
        categories = ["backend", "frontend", "other"]
        """,
        default=default,
    )
    names = [category.name for category in rules.categories]
    # a replaced catch-all keeps its place at the end instead of shadowing everything
    assert names == ["frontend", "migrations", "backend", "other"]
    assert rules.category("other") is not None
    assert rules.category("other").risk == Risk.MEDIUM  # type: ignore[union-attr]
    assert [(phase.number, phase.name, phase.title) for phase in rules.phases] == [
        (1, "schema", "Schema"),
        (2, "code", "Code and frontend"),
    ]
    assert rules.base == "develop"


def test_project_phase_takes_a_default_category_away_from_its_default_phase(
    default: Rules,
) -> None:
    rules = load(
        """
        extends = "default"

        [[phase]]
        name = "early-backend"
        categories = ["backend"]
        """,
        default=default,
    )
    assert [(phase.name, phase.categories) for phase in rules.phases] == [
        ("early-backend", ("backend",)),
        ("schema", ("migrations",)),
        ("code", ("other",)),
    ]
    assert rules.phase_of_category("backend") == rules.phases[0]


def test_extends_checks_phase_categories_against_merged_categories(default: Rules) -> None:
    with pytest.raises(RulesError) as info:
        load(
            'extends = "default"\n\n[[phase]]\nname = "x"\ncategories = ["backnd"]\n',
            default=default,
        )
    assert str(info.value).startswith(
        "rules.toml:5: phase.categories: unknown category 'backnd' in phase 'x' — "
        "did you mean 'backend'?"
    )


def test_extends_the_packaged_default_when_none_given() -> None:
    rules = load('extends = "default"\n' + MINIMAL)
    names = [category.name for category in rules.categories]
    assert names == [category.name for category in default_rules().categories]
    models = rules.category("models")
    assert models is not None
    assert [pattern.text for pattern in models.paths] == ["**/models.py"]
    assert models.location == "rules.toml:3"
    assert rules.phase_of_category("models") == rules.phase(1)


# --- docs ----------------------------------------------------------------------------------


def test_every_key_is_documented() -> None:
    docs = (REPO_ROOT / "docs" / "rules-toml.md").read_text(encoding="utf-8")
    for section, keys in SCHEMA.items():
        for key in keys.values():
            assert f"`{key.name}`" in docs, (section, key.name)
            assert key.doc in docs, (section, key.name, key.doc)


def test_docs_describe_the_default_categories_and_phases() -> None:
    docs = (REPO_ROOT / "docs" / "rules-toml.md").read_text(encoding="utf-8")
    rules = default_rules()
    for category in rules.categories:
        phase = rules.phase_of_category(category.name)
        assert phase is not None
        row = f"| `{category.name}` | {category.title} |"
        assert row in docs, row
        line = next(line for line in docs.splitlines() if line.startswith(row))
        assert line.endswith(f"| {category.risk.label} | {phase.number} |"), line
        for pattern in category.paths:
            assert f"`{pattern.text}`" in line, (category.name, pattern.text)
    for phase in rules.phases:
        assert f"| {phase.number} | `{phase.name}` |" in docs, phase.name
