"""Every command exits 141, silently, when its reader goes away (`stager … | head -1`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.gitrepo import sealed_env
from tests.progress_lines import without_progress

FORMATS = ("table", "markdown", "json")
COMMANDS = {
    "analyze": ["analyze"],
    "plan": ["plan"],
    "lint": ["lint", "backend/migrations/versions"],
    "split": ["split", "--all", "--dry-run", "--force"],
    "verify": ["verify"],
    "open-pr": ["open-pr", "--all", "--dry-run"],
}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """The demo repository, split once (verify needs the branches), with a sealed environment."""
    root = tmp_path_factory.mktemp("closed-pipe")
    home = root / "home"
    home.mkdir()
    env = sealed_env(home)
    path = root / "demo"
    subprocess.run(
        [sys.executable, "-m", "stager", "demo", str(path)],
        env=env,
        check=True,
        capture_output=True,
    )
    return path, env


def _closed_reader(arguments: list[str], path: Path, env: dict[str, str]) -> tuple[int, str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "stager", "-C", str(path), *arguments],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # before stager writes anything: its first write fails
    err = without_progress(process.stderr.read().decode())
    return process.wait(), err


@pytest.mark.parametrize("output_format", FORMATS)
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_exits_141_when_its_reader_goes_away(
    demo: tuple[Path, dict[str, str]], command: str, output_format: str
) -> None:
    path, env = demo
    code, err = _closed_reader([*COMMANDS[command], f"--format={output_format}"], path, env)
    assert (code, err) == (141, "")


def test_demo_exits_141_when_its_reader_goes_away(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    code, err = _closed_reader(["demo", str(tmp_path / "demo")], tmp_path, sealed_env(home))
    assert (code, err) == (141, "")
