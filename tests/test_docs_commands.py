"""The docs and the tool agree: every ```console block of README.md and docs/ runs on the demo.

A command in the docs is a ```console block whose commands start with
``$ stager``; the lines after a command, up to the next one, are what it
prints (``…`` stands for what is left out: a line of it alone skips lines, one
inside a line skips the rest of that stretch). Each file's blocks run in order
on one copy of the demo repository, in process (``CliRunner``), so a block may
rely on the one before it (``split`` before ``verify``). A comment just before
a block changes how it runs:

- ``<!-- docs-test: exit 4 -->``: its commands exit 4 (default 0);
- ``<!-- docs-test: skip: REASON -->``: it does not run, for the reason given.

A command with ``--format json`` must print JSON, and every ``"key":`` its block
shows must be a key of what it printed. A fenced block that is not a console
block may show no ``stager`` command, except a synopsis (``[--option]``).
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner

from stager.cli import cli
from stager.demo import DemoRepository
from tests.demo_copies import copy_demo

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_DIRECTIVE = re.compile(r"^<!-- docs-test: (exit (?P<exit>\d+)|skip: (?P<skip>.+?)) -->$")
_ELISION = re.compile(r"…|\.\.\.")


@dataclass
class Command:
    args: list[str]
    expected: list[str] = field(default_factory=list)


@dataclass
class Block:
    where: str  # FILE:LINE
    exit_code: int = 0
    skip: str | None = None
    commands: list[Command] = field(default_factory=list)


def console_blocks(path: Path) -> Iterator[Block]:
    """The console blocks of ``path``, with their directives; AssertionError for a bad one."""
    lines = path.read_text(encoding="utf-8").splitlines()
    directive: re.Match[str] | None = None
    index = 0
    while index < len(lines):
        line = lines[index]
        where = f"{path.relative_to(ROOT)}:{index + 1}"
        if line.startswith("<!-- docs-test:"):
            directive = _DIRECTIVE.match(line)
            assert directive is not None, f"{where}: a directive is `exit N` or `skip: REASON`"
        elif line.startswith("```"):
            end = lines.index("```", index + 1)
            body = lines[index + 1 : end]
            if line == "```console":
                yield _block(where, body, directive)
            else:
                _no_command_outside_console(where, body)
            directive, index = None, end
        elif line.strip():
            directive = None  # a directive belongs to the block right after it
        index += 1


def _block(where: str, body: list[str], directive: re.Match[str] | None) -> Block:
    block = Block(where)
    if directive is not None:
        block.exit_code = int(directive["exit"] or 0)
        block.skip = directive["skip"]
    for line in body:
        if line.startswith("$"):
            words = shlex.split(line[1:], comments=True)
            # a skipped block may show the commands around stager's (pip install, cd)
            assert words[:1] == ["stager"] or block.skip, f"{where}: a command is `$ stager …`"
            block.commands.append(Command(words[1:]))
        else:
            assert block.commands, f"{where}: output before the first `$ stager` command"
            block.commands[-1].expected.append(line)
    assert block.commands, f"{where}: a console block without a command"
    return block


def _no_command_outside_console(where: str, body: list[str]) -> None:
    for line in body:
        stripped = line.lstrip("$ ")
        synopsis = "[--" in line or "(--" in line
        assert not stripped.startswith("stager ") or synopsis, (
            f"{where}: `{line}` is a command: put it in a ```console block as `$ {stripped}`"
        )


def _words(text: str) -> str:
    return " ".join(text.split())


def _matches(expected: str, actual: str) -> bool:
    """``actual`` shows ``expected``: the same words, ``…`` standing for any."""
    pieces = [_words(piece) for piece in _ELISION.split(expected)]
    shown = _words(actual)
    if not shown.startswith(pieces[0]):
        return False
    at = len(pieces[0])
    for piece in pieces[1:]:
        found = shown.find(piece, at)
        if found < 0:
            return False
        at = found + len(piece)
    return True


def _check_output(where: str, command: Command, output: str) -> None:
    if "json" in command.args and "--format" in command.args and "--output" not in command.args:
        keys = _keys(json.loads(output))
        shown = set(re.findall(r'"([A-Za-z_]+)":', "\n".join(command.expected)))
        assert shown <= keys, f"{where}: keys the docs show but the tool does not: {shown - keys}"
        return
    actual = output.splitlines()
    position = 0
    for expected in command.expected:
        if not _words(expected) or _words(expected) in {"…", "..."}:
            continue
        found = next(
            (i for i in range(position, len(actual)) if _matches(expected, actual[i])), None
        )
        assert found is not None, (
            f"{where}: `stager {shlex.join(command.args)}` printed no line like\n  {expected}\n"
            f"after line {position}; it printed:\n{output}"
        )
        position = found + 1


def _keys(value: object) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {key for item in value.values() for key in _keys(item)}
    if isinstance(value, list):
        return {key for item in value for key in _keys(item)}
    return set()


@pytest.mark.parametrize("doc", DOCS, ids=[path.name for path in DOCS])
def test_the_console_blocks_of_a_doc_run_as_shown(
    doc: Path, tmp_path: Path, demo_template: DemoRepository
) -> None:
    blocks = list(console_blocks(doc))
    runnable = [block for block in blocks if block.skip is None]
    if not runnable:
        return
    demo = copy_demo(demo_template, tmp_path / "demo")
    for block in runnable:
        for command in block.commands:
            result = CliRunner().invoke(cli, ["-C", str(demo.path), *command.args])
            assert result.exit_code == block.exit_code, (
                f"{block.where}: `stager {shlex.join(command.args)}` exited {result.exit_code}, "
                f"not {block.exit_code}:\n{result.output}"
            )
            _check_output(block.where, command, result.stdout)


def test_every_skipped_block_says_why() -> None:
    for doc in DOCS:
        for block in console_blocks(doc):
            assert block.skip is None or len(block.skip.split()) >= 3, block.where
