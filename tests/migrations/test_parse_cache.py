"""The parse cache: same results as parsing, bounded, and harmless when broken."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from stager.cli import cli
from stager.demo import build_demo_repository
from stager.migrations import parse_cache


def analyze(path: Path) -> dict[str, object]:
    result = CliRunner().invoke(cli, ["-C", str(path), "analyze", "--format", "json"])
    assert result.exit_code == 0, result.output
    data: dict[str, object] = json.loads(result.stdout)
    return data


def cache_files(home: Path) -> list[Path]:
    return sorted((home / ".cache" / "stager" / "parsed").glob("*.json"))


def test_a_cached_run_reports_exactly_what_a_fresh_run_does(
    tmp_path: Path, git_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    demo = build_demo_repository(tmp_path / "demo")
    fresh = analyze(demo.path)
    [cache] = cache_files(Path(git_env["HOME"]))
    assert len(parse_cache.load(cache).files) >= 20  # every revision file of the trees
    mtime = cache.stat().st_mtime_ns
    assert analyze(demo.path) == fresh
    assert cache.stat().st_mtime_ns == mtime, "nothing new parsed: the cache is not rewritten"
    monkeypatch.setenv("STAGER_NO_CACHE", "1")
    assert analyze(demo.path) == fresh


def test_a_corrupt_cache_is_ignored_and_replaced(tmp_path: Path, git_env: dict[str, str]) -> None:
    demo = build_demo_repository(tmp_path / "demo")
    fresh = analyze(demo.path)
    [cache] = cache_files(Path(git_env["HOME"]))
    cache.write_bytes(b"not JSON")
    assert parse_cache.load(cache) == parse_cache.Cached({}, {})
    assert analyze(demo.path) == fresh
    assert len(parse_cache.load(cache).files) >= 20


def test_no_cache_file_when_disabled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STAGER_NO_CACHE", "1")
    assert parse_cache.cache_file("/some/repo/.git") is None


def test_unwritable_cache_folder_is_only_a_slower_run(
    tmp_path: Path, git_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "cache-is-a-file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    demo = build_demo_repository(tmp_path / "demo")
    assert analyze(demo.path)["schema_version"] == 1


def test_the_fingerprint_covers_every_module_the_parser_imports() -> None:
    """Old entries are never loaded with a new shape: every class pickled is in the hash.

    Python's own import system is the oracle: whatever importing the parser
    loads (``stager/types.py`` for ``MigrationKind`` included) is fingerprinted.
    """
    code = (
        "import sys, stager.migrations.parse, stager.migrations.parse_cache\n"
        "print('\\n'.join(m.__file__ for n, m in sys.modules.items() if n.startswith('stager')))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout.split()
    modules = {Path(path).resolve() for path in loaded if not path.endswith("__init__.py")}
    sources = set(parse_cache.parser_sources())
    assert modules <= sources
    names = {path.name for path in sources}
    assert {"types.py", "revision_files.py", "actions.py", "kinds.py"} <= names


def test_a_changed_module_gives_another_cache_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = tmp_path / "types.py"
    sources = parse_cache.parser_sources()
    real = next(path for path in sources if path.name == "types.py")
    copy.write_text(real.read_text(encoding="utf-8") + "\n# a new field\n", encoding="utf-8")
    before = parse_cache.cache_file("/repo/.git")
    changed = [copy if path == real else path for path in sources]
    monkeypatch.setattr(parse_cache, "parser_sources", lambda: changed)
    parse_cache._parser_fingerprint.cache_clear()
    try:
        assert parse_cache.cache_file("/repo/.git") != before
    finally:
        monkeypatch.undo()
        parse_cache._parser_fingerprint.cache_clear()


class _Planted:
    """What a planted pickle would run on load: it writes a file."""

    def __reduce__(self) -> tuple[object, tuple[Path, str]]:
        return (Path.write_text, (Path(os.environ["HOME"]) / "pwned", "ran"))


def test_a_planted_cache_file_runs_no_code_and_is_not_trusted(
    tmp_path: Path, git_env: dict[str, str]
) -> None:
    demo = build_demo_repository(tmp_path / "demo")
    fresh = analyze(demo.path)
    [cache] = cache_files(Path(git_env["HOME"]))
    cache.write_bytes(pickle.dumps(_Planted()))
    assert parse_cache.load(cache) == parse_cache.Cached({}, {})
    assert not (Path(git_env["HOME"]) / "pwned").exists()
    # well-formed JSON of the wrong shape is not trusted either
    entry = {"version": 2, "files": {"a" * 40: {"path": 1}}, "sql": {}}
    cache.write_text(json.dumps(entry), encoding="utf-8")
    assert parse_cache.load(cache) == parse_cache.Cached({}, {})
    # nor an answer of the wrong shape for an SQL text
    entry = {"version": 2, "files": {}, "sql": {"SELECT 1": {"stmts": []}}}
    cache.write_text(json.dumps(entry), encoding="utf-8")
    assert parse_cache.load(cache) == parse_cache.Cached({}, {})
    assert analyze(demo.path) == fresh


_RUN_AND_SAY_IF_PGLAST_LOADED = """
import sys
from stager.cli import main
sys.argv = ["stager", "analyze", "--format", "json"]
try:
    main()
except SystemExit:
    pass
print("pglast" in sys.modules, file=sys.stderr)
"""


def test_a_second_run_takes_the_sql_statements_from_the_cache_without_pglast(
    tmp_path: Path, git_env: dict[str, str]
) -> None:
    """The demo's revisions run literal SQL: the first run parses it, the next reads it back."""
    demo = build_demo_repository(tmp_path / "demo")

    def run() -> tuple[str, bool]:
        done = subprocess.run(
            [sys.executable, "-c", _RUN_AND_SAY_IF_PGLAST_LOADED],
            cwd=demo.path,
            env=git_env,
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout, done.stderr.strip().splitlines()[-1] == "True"

    first, parsed = run()
    [cache] = cache_files(Path(git_env["HOME"]))
    statements = parse_cache.load(cache).sql
    assert parsed and statements, "the demo's SQL was parsed, and kept"
    assert any("UPDATE" in sql for sql in statements)
    mtime = cache.stat().st_mtime_ns
    second, parsed_again = run()
    assert second == first
    assert not parsed_again, "every SQL text came from the cache: pglast was not imported"
    assert cache.stat().st_mtime_ns == mtime
