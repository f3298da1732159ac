from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stager.rules.globs import compile_glob, match_patterns
from tests.examples import examples
from tests.gitrepo import GitRepo, sealed_env


class GitOracle:
    """Asks git itself which paths one gitignore pattern selects."""

    def __init__(self, repo: GitRepo) -> None:
        self.repo = repo
        self.env = repo.env

    def ignored(self, pattern: str, paths: list[str]) -> dict[str, bool]:
        (self.repo.path / ".git" / "info" / "exclude").write_text(pattern + "\n")
        result = subprocess.run(
            ["git", "check-ignore", "--no-index", "--stdin", "-z", "-v", "-n"],
            cwd=self.repo.path,
            env=self.env,
            input="".join(path + "\0" for path in paths).encode(),
            capture_output=True,
            check=False,
        )
        # exit 1 only means "nothing ignored"; anything else is a real failure
        assert result.returncode in (0, 1), result.stderr.decode()
        fields = result.stdout.decode().split("\0")[:-1]
        records = [fields[i : i + 4] for i in range(0, len(fields), 4)]
        return {path: source != "" for source, _line, _pattern, path in records}


@pytest.fixture(scope="module")
def oracle(tmp_path_factory: pytest.TempPathFactory) -> GitOracle:
    root = tmp_path_factory.mktemp("globs")
    home = root / "home"
    home.mkdir()
    return GitOracle(GitRepo.init(root / "repo", sealed_env(home)))


PATHS = [
    "a",
    "b",
    "ab",
    "abc",
    "a/b",
    "a/b/c",
    "a/b/c/d",
    "b/a",
    "x/a",
    "x/a/b",
    "x/ab",
    "ax/b",
    "ax/y/b",
    "a.py",
    "x/a.py",
    "x/y/a.py",
    "a.pyc",
    "models.py",
    "app/models.py",
    "app/models/user.py",
    "app/models/sub/x.py",
    "frontend/src/models/user.ts",
    "frontend/src/App.test.jsx",
    "frontend/tests/a.js",
    "etl/core/models.py",
    "backend/etl/run.py",
    ".github/workflows/ci.yml",
    "docs/a.md",
    "README.md",
    "x/README.md",
    "foo",
    "foo/bar",
    "x/foo/bar",
    "a*b",
    "a?b",
    "[a]",
    "]",
    "!a",
    "#a",
    "a b",
    "a b ",
    "-",
    "A",
    ".hidden",
    "x/.hidden/y",
    "migrations/env.py",
    "backend/alembic/versions/0001_init.py",
    "é/x",
]

PATTERNS = [
    "a",
    "/a",
    "a/",
    "/a/",
    "a/b",
    "a/*",
    "a/**",
    "**/b",
    "a/**/b",
    "a/**/",
    "**",
    "**/",
    "*/",
    "*",
    "?",
    "a?",
    "*.py",
    "**/*.py",
    "x/*.py",
    "x/**/*.py",
    "**/models/**",
    "**/models/**/*.py",
    "models.py",
    "**/models.py",
    "etl/**",
    "**/etl/**",
    "*.test.[jt]sx",
    "frontend/**/tests/**",
    ".github/",
    "[ab]",
    "[!a]",
    "[^a]",
    "[a-c]",
    "[z-a]",
    "[]]",
    "[!]]",
    "[a-]",
    "[\\]]",
    "[[:alpha:]]",
    "[[:upper:]]",
    "[[:alpha]",
    "a\\*b",
    "a\\?b",
    "\\[a]",
    "\\!a",
    "\\#a",
    "a b",
    "a b\\ ",
    "a**/b",
    "x/a**/b",
    "**a",
    "x/**a",
    "x/y**",
    "x/***/b",
    "a/b/",
    "*/b",
    "*/*/c",
    "**/versions/*.py",
    ".*",
    "é/",
]


@pytest.mark.parametrize("pattern", PATTERNS)
def test_agrees_with_git(oracle: GitOracle, pattern: str) -> None:
    compiled = compile_glob(pattern)
    expected = oracle.ignored(pattern, PATHS)
    assert {path: compiled.match(path) for path in PATHS} == expected


COMPONENTS = ["a", "b", "x", "ab", "foo", "*", "?", "**", "a*", "*.py", "[ab]", "[!a]", "[a-c]"]
PATH_PARTS = ["a", "b", "x", "ab", "foo", "a.py", "b.py", "c", ".x", "models"]

patterns = st.builds(
    lambda lead, parts, trail: lead + "/".join(parts) + trail,
    st.sampled_from(["", "/"]),
    st.lists(st.sampled_from(COMPONENTS), min_size=1, max_size=4),
    st.sampled_from(["", "/"]),
)
paths = st.lists(
    st.lists(st.sampled_from(PATH_PARTS), min_size=1, max_size=5).map("/".join),
    min_size=1,
    max_size=25,
)


@settings(max_examples=examples(120), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pattern=patterns, extra_paths=paths)
def test_generated_patterns_agree_with_git(
    oracle: GitOracle, pattern: str, extra_paths: list[str]
) -> None:
    compiled = compile_glob(pattern)
    candidates = sorted(set(extra_paths) | set(PATHS[:30]))
    expected = oracle.ignored(pattern, candidates)
    assert {path: compiled.match(path) for path in candidates} == expected


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("models.py", "app/deep/models.py", True),  # no '/': basename at any depth
        ("app/models.py", "x/app/models.py", False),  # a '/' anchors to the root
        ("docs/", "docs/guide/intro.md", True),  # a directory selects everything under it
        ("docs/", "docs", False),  # ... but never a file of that name
        ("**/models/**", "models/user.py", True),  # '**/' also matches zero directories
        ("a/**/b", "a/b", True),
        ("a/*", "a/b/c", True),  # 'a/b' is a directory the pattern selects
        ("*.py", "a.pyc", False),
        ("\\*.py", "*.py", True),
    ],
)
def test_documented_semantics(pattern: str, path: str, matches: bool) -> None:
    assert compile_glob(pattern).match(path) is matches


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("", "empty pattern"),
        ("[ab", "unclosed '[' at column 1"),
        ("x/[!", "unclosed '[' at column 3"),
        ("a\\", "lone '\\'"),
        ("[[:vowel:]]", "unknown character class '[:vowel:]'"),
        ("a//b", "empty path component"),
        ("//a", "empty path component"),
        ("/", "matches nothing"),
        ("!", "matches nothing"),
        ("#notes", "comment"),
        ("*.py ", "trailing whitespace"),
    ],
)
def test_invalid_patterns_say_why(pattern: str, reason: str) -> None:
    with pytest.raises(ValueError, match=None) as info:
        compile_glob(pattern)
    assert reason in str(info.value)


def test_negated_pattern_takes_back_earlier_match() -> None:
    patterns = [compile_glob("backend/**"), compile_glob("!backend/tests/")]
    assert match_patterns(patterns, "backend/api/x.py") == patterns[0]
    assert match_patterns(patterns, "backend/tests/test_x.py") is None
    assert match_patterns(patterns, "frontend/x.js") is None
    assert compile_glob("!backend/tests/").negated


def test_last_matching_pattern_decides() -> None:
    patterns = [compile_glob("*.py"), compile_glob("!x/*.py"), compile_glob("x/keep.py")]
    assert match_patterns(patterns, "x/drop.py") is None
    assert match_patterns(patterns, "x/keep.py") == patterns[2]
    assert match_patterns(patterns, "y/any.py") == patterns[0]


def test_oracle_can_disagree(oracle: GitOracle, tmp_path: Path) -> None:
    """Guards the cross-check itself: git must report both matches and non-matches."""
    result = oracle.ignored("*.py", ["a.py", "a.js"])
    assert result == {"a.py": True, "a.js": False}
