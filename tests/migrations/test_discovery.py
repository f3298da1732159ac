from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest
from alembic.config import Config

from stager.git.repository import TreeEntry
from stager.migrations.discovery import discover, migration_entries
from stager.migrations.revision_files import ParseProblem
from stager.types import RepoPath
from tests.migrations.builders import MemoryBlobs, migration, write_files

REV = migration("a1")


def tree_files(tree: dict[RepoPath, TreeEntry], blobs: MemoryBlobs) -> dict[str, bytes]:
    return {path: blobs.store[entry.blob] for path, entry in tree.items()}


def _ini(body: str) -> str:
    return "[alembic]\n" + body + "\n\n[loggers]\nkeys = root\n"


def test_here_and_default_versions_folder(blobs: MemoryBlobs) -> None:
    tree = blobs.tree(
        {
            "backend/alembic.ini": _ini("script_location = %(here)s/migrations"),
            "backend/migrations/versions/a1_first.py": REV,
            "backend/migrations/env.py": "",
        }
    )
    [config] = discover(tree, blobs)
    assert config.source == "backend/alembic.ini"
    assert config.script_location == "backend/migrations"
    assert config.version_locations == ("backend/migrations/versions",)
    assert not config.recursive
    assert config.problems == ()
    assert list(migration_entries([config], tree)) == ["backend/migrations/versions/a1_first.py"]
    assert len(blobs.calls) == 1


def test_relative_script_location_is_relative_to_the_ini_folder(blobs: MemoryBlobs) -> None:
    tree = blobs.tree({"app/alembic.ini": _ini("script_location = alembic")})
    [config] = discover(tree, blobs)
    assert config.script_location == "app/alembic"
    assert config.version_locations == ("app/alembic/versions",)


@pytest.mark.parametrize(
    ("separator_lines", "value"),
    [
        ("path_separator = os", f"%(here)s/one{os.pathsep}%(here)s/two"),
        ("path_separator = space", "%(here)s/one %(here)s/two"),
        ("path_separator = newline", "\n    %(here)s/one\n    %(here)s/two"),
        ("path_separator = ;", "%(here)s/one;%(here)s/two"),
        ("path_separator = :", "%(here)s/one:%(here)s/two"),
        ("version_path_separator = ;", "%(here)s/one;%(here)s/two"),
        ("version_path_separator = space", "%(here)s/one %(here)s/two"),
        ("", "%(here)s/one, %(here)s/two"),  # neither: legacy split on spaces/commas
        ("", "%(here)s/one %(here)s/two"),
        ("path_separator = ;\nversion_path_separator = space", "%(here)s/one;%(here)s/two"),
    ],
)
def test_version_locations_separators_agree_with_alembic(
    blobs: MemoryBlobs, tmp_path: Path, separator_lines: str, value: str
) -> None:
    ini = _ini(f"script_location = %(here)s/mig\n{separator_lines}\nversion_locations = {value}")
    tree = blobs.tree({"svc/alembic.ini": ini, "svc/one/a.py": REV, "svc/two/b.py": REV})
    [config] = discover(tree, blobs)
    assert config.version_locations == ("svc/one", "svc/two")
    assert config.problems == ()

    write_files(tmp_path, {"svc/alembic.ini": ini})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # alembic warns about the legacy forms
        theirs = Config(str(tmp_path / "svc" / "alembic.ini")).get_version_locations_list()
    assert theirs is not None
    assert [Path(p).relative_to(tmp_path).as_posix() for p in theirs] == list(
        config.version_locations
    )


def test_invalid_separator_is_a_problem_not_a_crash(blobs: MemoryBlobs) -> None:
    ini = _ini("script_location = mig\npath_separator = colon\nversion_locations = a:b")
    [config] = discover(blobs.tree({"alembic.ini": ini}), blobs)
    assert config.problems
    assert "path_separator" in config.problems[0].message
    assert config.problems[0].line == 4


def test_recursive_and_multiple_locations(blobs: MemoryBlobs) -> None:
    ini = _ini(
        "script_location = %(here)s/db\npath_separator = os\n"
        f"version_locations = %(here)s/db/versions{os.pathsep}%(here)s/plugins/versions\n"
        "recursive_version_locations = true"
    )
    tree = blobs.tree(
        {
            "alembic.ini": ini,
            "db/versions/b.py": REV,
            "db/versions/a.py": REV,
            "db/versions/2024/z.py": REV,
            "db/versions/2023/y.py": REV,
            "db/versions/__init__.py": "",
            "db/versions/README.md": "",
            "db/versions/.#a.py": "",
            "db/versions/__pycache__/a.cpython-311.py": "",
            "plugins/versions/p.py": REV,
            "db/env.py": "",
        }
    )
    [config] = discover(tree, blobs)
    assert config.recursive
    assert config.version_locations == ("db/versions", "plugins/versions")
    # alembic's order: each folder's files by name, then its subfolders by name
    assert list(migration_entries([config], tree)) == [
        "db/versions/a.py",
        "db/versions/b.py",
        "db/versions/2023/y.py",
        "db/versions/2024/z.py",
        "plugins/versions/p.py",
    ]
    flat: dict[str, str | bytes] = {
        **tree_files(tree, blobs),
        "alembic.ini": ini.replace("= true", "= false"),
    }
    [flat_config] = discover(blobs.tree(flat), blobs)
    assert not flat_config.recursive
    assert "db/versions/2023/y.py" not in migration_entries([flat_config], blobs.tree(flat))


def test_recursive_other_than_lowercase_true_is_false_like_alembic(blobs: MemoryBlobs) -> None:
    ini = _ini("script_location = mig\nrecursive_version_locations = True")
    [config] = discover(blobs.tree({"alembic.ini": ini}), blobs)
    assert not config.recursive
    assert "only accepts 'true'" in config.problems[0].message


def test_pyproject_tool_alembic(blobs: MemoryBlobs) -> None:
    pyproject = """
[project]
name = "svc"

[tool.alembic]
script_location = "%(here)s/alembic"
version_locations = ["%(here)s/alembic/versions", "%(here)s/extra"]
recursive_version_locations = true
"""
    tree = blobs.tree({"svc/pyproject.toml": pyproject, "pyproject.toml": "[project]\nname='x'\n"})
    [config] = discover(tree, blobs)
    assert config.source == "svc/pyproject.toml"
    assert config.script_location == "svc/alembic"
    assert config.version_locations == ("svc/alembic/versions", "svc/extra")
    assert config.recursive


def test_ini_options_win_over_pyproject_in_the_same_folder(blobs: MemoryBlobs) -> None:
    tree = blobs.tree(
        {
            "alembic.ini": _ini("sqlalchemy.url = sqlite://\nrecursive_version_locations = false"),
            "pyproject.toml": '[tool.alembic]\nscript_location = "migrations"\n'
            "recursive_version_locations = true\n",
        }
    )
    [config] = discover(tree, blobs)
    assert config.script_location == "migrations"
    assert config.version_locations == ("migrations/versions",)
    assert not config.recursive
    assert config.source == "alembic.ini"


def test_package_resource_script_location(blobs: MemoryBlobs) -> None:
    tree = blobs.tree(
        {
            "alembic.ini": _ini("script_location = myapp.db:migrations"),
            "src/myapp/__init__.py": "",
            "src/myapp/db/__init__.py": "",
            "src/myapp/db/migrations/env.py": "",
            "src/myapp/db/migrations/versions/a1.py": REV,
        }
    )
    [config] = discover(tree, blobs)
    assert config.script_location == "src/myapp/db/migrations"
    assert config.version_locations == ("src/myapp/db/migrations/versions",)


def test_unknown_package_resource_is_reported(blobs: MemoryBlobs) -> None:
    [config] = discover(
        blobs.tree({"alembic.ini": _ini("script_location = nopkg:migrations")}), blobs
    )
    assert config.script_location is None
    assert "nopkg:migrations" in config.problems[0].message
    assert config.problems[0].line == 2


def test_paths_outside_the_repository(blobs: MemoryBlobs) -> None:
    tree = blobs.tree(
        {
            "alembic.ini": _ini("script_location = ../elsewhere"),
            "svc/alembic.ini": _ini("script_location = /app/svc/migrations"),
            "svc/migrations/versions/a1.py": REV,
        }
    )
    outside, absolute = discover(tree, blobs)
    assert outside.script_location is None
    assert "outside the repository" in outside.problems[0].message
    # a container path is matched by its longest suffix present in the tree
    assert absolute.script_location == "svc/migrations"


def test_flask_migrate_ini_without_script_location(blobs: MemoryBlobs) -> None:
    tree = blobs.tree(
        {
            "migrations/alembic.ini": "[alembic]\n# template used to generate files\n",
            "migrations/env.py": "",
            "migrations/versions/a1.py": REV,
        }
    )
    [config] = discover(tree, blobs)
    assert config.script_location == "migrations"
    assert config.problems == ()


def test_ini_without_script_location_is_reported(blobs: MemoryBlobs) -> None:
    [config] = discover(blobs.tree({"alembic.ini": "[loggers]\nkeys = root\n"}), blobs)
    assert config.script_location is None
    assert "script_location" in config.problems[0].message


def test_malformed_ini_is_a_problem(blobs: MemoryBlobs) -> None:
    [config] = discover(blobs.tree({"alembic.ini": "[alembic\nscript_location = x\n"}), blobs)
    assert config.problems


def test_fallback_versions_folder_without_config(blobs: MemoryBlobs) -> None:
    tree = blobs.tree(
        {
            "db/migrations/versions/a1.py": REV,
            "db/migrations/versions/old/a0.py": migration("a0"),
            "docs/versions/conf.py": "release = '1.0'\n",
            "node_modules/x/versions/a.py": REV,
        }
    )
    configs = discover(tree, blobs)
    assert [(c.source, c.version_locations, c.recursive) for c in configs] == [
        (None, ("db/migrations/versions",), True)
    ]
    assert list(migration_entries(configs, tree)) == [
        "db/migrations/versions/a1.py",
        "db/migrations/versions/old/a0.py",
    ]


def test_fallback_only_when_no_config_finds_files(blobs: MemoryBlobs) -> None:
    tree = blobs.tree(
        {
            "alembic.ini": _ini("script_location = alembic"),
            "alembic/versions/a1.py": REV,
            "other/versions/b1.py": migration("b1"),
        }
    )
    configs = discover(tree, blobs)
    assert [c.version_locations for c in configs] == [("alembic/versions",)]


def test_no_alembic_at_all(blobs: MemoryBlobs) -> None:
    tree = blobs.tree({"README.md": "hi", "src/app.py": "x = 1\n"})
    assert discover(tree, blobs) == []
    assert migration_entries([], tree) == {}


def test_entries_agree_with_alembic_listing(blobs: MemoryBlobs, tmp_path: Path) -> None:
    from alembic.script import ScriptDirectory

    files = {
        "alembic.ini": _ini("script_location = %(here)s/mig\nrecursive_version_locations = true"),
        "mig/versions/b2.py": migration("b2", "a1"),
        "mig/versions/a1.py": migration("a1"),
        "mig/versions/sub/c3.py": migration("c3", "b2"),
        "mig/versions/sub/deeper/d4.py": migration("d4", "c3"),
        "mig/versions/aa/e5.py": migration("e5", "d4"),
    }
    write_files(tmp_path, files)
    script = ScriptDirectory.from_config(Config(str(tmp_path / "alembic.ini")))
    theirs = [Path(s.path).relative_to(tmp_path).as_posix() for s in script._load_revisions()]
    tree = blobs.tree(files)
    assert list(migration_entries(discover(tree, blobs), tree)) == theirs


def test_named_sections_are_environments_of_their_own(blobs: MemoryBlobs) -> None:
    ini = (
        "[users]\nscript_location = users_db\n\n"
        "[orders]\nscript_location = orders_db\nversion_locations = %(here)s/orders_db/v\n"
        "\n[loggers]\nkeys = root\n"
    )
    tree = blobs.tree(
        {
            "alembic.ini": ini,
            "users_db/versions/u1.py": migration("u1"),
            "orders_db/v/o1.py": migration("o1"),
        }
    )
    configs = discover(tree, blobs)
    assert [(c.source, c.script_location, c.version_locations) for c in configs] == [
        ("alembic.ini", "users_db", ("users_db/versions",)),
        ("alembic.ini", "orders_db", ("orders_db/v",)),
    ]
    assert all(c.problems == () for c in configs)  # no "no script_location" for [alembic]
    assert list(migration_entries(configs, tree)) == [
        "users_db/versions/u1.py",
        "orders_db/v/o1.py",
    ]


def test_named_sections_next_to_alembic_section(blobs: MemoryBlobs) -> None:
    ini = "[alembic]\nscript_location = main_db\n\n[audit]\nscript_location = audit_db\n"
    configs = discover(blobs.tree({"alembic.ini": ini}), blobs)
    assert [c.script_location for c in configs] == ["main_db", "audit_db"]


def test_a_pyproject_that_is_not_utf8_is_reported_as_every_toml_file_is(
    blobs: MemoryBlobs,
) -> None:
    # alembic reads pyproject.toml with tomllib, which refuses it too
    pyproject = b'[project]\nname = "caf\xe9"\n[tool.alembic]\nscript_location = "m"\n'
    [config] = discover(blobs.tree({"svc/pyproject.toml": pyproject}), blobs)
    assert config.source == "svc/pyproject.toml"
    assert config.problems[0] == ParseProblem(
        2, "not UTF-8 (byte 0xe9) — save the file as UTF-8 (TOML files must be UTF-8)"
    )


def test_malformed_ini_problem_is_one_line_with_its_line(blobs: MemoryBlobs) -> None:
    ini = "[alembic]\nscript_location = m\nthis line is not an option\n"
    [config] = discover(blobs.tree({"alembic.ini": ini}), blobs)
    problem = config.problems[0]
    assert problem.line == 3 and "\n" not in problem.message


def test_missing_version_locations_folder_is_a_problem(blobs: MemoryBlobs) -> None:
    ini = _ini("script_location = m\nversion_locations = %(here)s/m/versionz")
    tree = blobs.tree({"alembic.ini": ini, "m/versions/a1.py": REV})
    configs = discover(tree, blobs)
    [problem] = configs[0].problems
    assert problem.line == 3 and "'m/versionz'" in problem.message


def test_malformed_pyproject_with_tool_alembic_is_reported(blobs: MemoryBlobs) -> None:
    pyproject = '[project]\nname = "x"\n\n[tool.alembic]\nscript_location = "m\n'
    [config] = discover(blobs.tree({"svc/pyproject.toml": pyproject}), blobs)
    assert config.source == "svc/pyproject.toml"
    assert config.problems[0].line == 5
    assert config.problems[0].message.startswith("toml: invalid TOML: ")
    # a pyproject.toml that only mentions alembic declares nothing
    other = '[project]\ndependencies = ["alembic"\n'
    assert discover(blobs.tree({"pyproject.toml": other}), blobs) == []


def test_a_location_outside_the_repository_is_named_as_written(blobs: MemoryBlobs) -> None:
    """%(here)s is shown as the user wrote it, never as stager's internal placeholder."""
    tree = blobs.tree(
        {
            "backend/alembic.ini": _ini(
                "script_location = %(here)s/migrations\nversion_locations = %(here)s/../../x"
            ),
            "backend/migrations/env.py": "",
        }
    )
    [config] = discover(tree, blobs)
    messages = [problem.message for problem in config.problems]
    assert messages == ["'%(here)s/../../x' points outside the repository"], messages


def test_file_template_is_read_as_alembic_reads_it(blobs: MemoryBlobs) -> None:
    template = "%%(year)d_%%(month).2d_%%(day).2d-%%(rev)s_%%(slug)s"
    ini = _ini(f"script_location = mig\nfile_template = {template}\ntruncate_slug_length = 20")
    tree = blobs.tree({"alembic.ini": ini, "mig/versions/a1.py": REV})
    [config] = discover(tree, blobs)
    assert config.file_template == "%(year)d_%(month).2d_%(day).2d-%(rev)s_%(slug)s"
    assert config.truncate_slug_length == 20
    [default] = discover(blobs.tree({"alembic.ini": _ini("script_location = mig")}), blobs)
    assert (default.file_template, default.truncate_slug_length) == (None, None)


def test_file_template_from_pyproject(blobs: MemoryBlobs) -> None:
    pyproject = (
        '[tool.alembic]\nscript_location = "mig"\n'
        'file_template = "%%(rev)s-%%(slug)s"\ntruncate_slug_length = 12\n'
    )
    [config] = discover(blobs.tree({"pyproject.toml": pyproject}), blobs)
    assert (config.file_template, config.truncate_slug_length) == ("%(rev)s-%(slug)s", 12)


def test_bad_truncate_slug_length_is_a_problem(blobs: MemoryBlobs) -> None:
    ini = _ini("script_location = mig\ntruncate_slug_length = long")
    [config] = discover(blobs.tree({"alembic.ini": ini}), blobs)
    assert config.truncate_slug_length is None
    assert [problem.line for problem in config.problems] == [3]
    assert "truncate_slug_length" in config.problems[0].message
