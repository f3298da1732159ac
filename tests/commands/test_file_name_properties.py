"""Property: whatever a branch names its files, every report prints safely and JSON keeps them.

Names mix control characters (C0, DEL, C1), quotes, backslashes, backticks,
rich markup, stager's markers, mentions and bytes that are not UTF-8. For each
drawn branch, analyze, plan and split --dry-run run in every format: none
crashes (exit 3), stdout holds no control character but line breaks and tabs
(CliRunner is no terminal, so rich writes no colour: any escape is injected),
and the JSON lists the real paths.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stager.cli import cli
from tests.gitrepo import GitRepo, sealed_env

RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
COMMANDS = (("analyze",), ("plan",), ("split", "--all", "--dry-run"))
FORMATS = ("table", "markdown", "json")

_PIECES = st.sampled_from(
    ["a", "é", " ", '"', "\\", "`", "[/]", "[bold]", "@team", "<!-- stager:end -->", "|", "*"]
)
_CONTROLS = st.characters(codec="utf-8", categories=["Cc"], exclude_characters="\x00/")
_NOT_UTF8 = st.binary(min_size=1, max_size=2).map(
    lambda raw: bytes(byte | 0x80 for byte in raw).decode("utf-8", "surrogateescape")
)
# One name (no "/", no NUL: the file system refuses them), never "." or "..".
NAMES = st.lists(st.one_of(_PIECES, _CONTROLS, _NOT_UTF8), min_size=1, max_size=6).map("".join)


def written_paths(repo: GitRepo, names: list[str]) -> set[str]:
    """The branch adds ``app/<name>.py`` for each name; the paths as git lists them."""
    repo.commit("base", {"README.md": "hello\n"})
    repo.git("checkout", "-q", "-b", "feature")
    paths = {f"app/{name}.py" for name in names}
    repo.commit("names \x1b]0;title\x07", dict.fromkeys(paths, "x = 1\n"))
    return paths


def json_paths(document: dict[str, object]) -> set[str]:
    """Every ``path`` of the files of ``document``'s phases (plan and split) or files (analyze)."""
    found: set[str] = set()
    for phase in document.get("phases", []):  # type: ignore[attr-defined]
        found |= {entry["path"] for entry in phase["files"]}
    found |= {entry["path"] for entry in document.get("files", [])}  # type: ignore[attr-defined]
    return found


@settings(
    max_examples=6,
    deadline=None,
    derandomize=True,  # the same names on every run: a failure here is one to keep
    suppress_health_check=[HealthCheck.too_slow],
)
@given(names=st.lists(NAMES, min_size=1, max_size=4, unique=True))
def test_any_file_name_prints_safely_and_round_trips(names: list[str]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder) / "home"
        home.mkdir()
        repo = GitRepo.init(Path(folder) / "repo", sealed_env(home))
        paths = written_paths(repo, names)
        for command in COMMANDS:
            for fmt in FORMATS:
                args = ["-C", str(repo.path), *command, "--format", fmt]
                result = CliRunner().invoke(cli, args, env={"HOME": str(home)})
                assert result.exit_code == 0, (args, result.output)
                assert not RAW_CONTROL.search(result.stdout), (args, result.stdout)
                if fmt == "json":
                    assert paths <= json_paths(json.loads(result.stdout)), args
