"""verify's compile check: a phase's Python files compile, for the project's own Python.

A project may target a newer Python than stager runs on (``except A, B:`` is
valid from 3.14 on), so the files are compiled by the project's interpreter:
``[verify] python`` in rules.toml, by default ``python3`` on PATH. It runs
once per phase, ``-I`` (isolated: no repository folder or user site on its
path), with the files on its standard input; it compiles them, it never
imports or runs them. When that interpreter does not start, stager compiles
them itself, and a file its own parser refuses is "not checked", never a
FAIL: it may be valid for the project's Python.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from stager.types import RepoPath

_OWN = f"{sys.version_info.major}.{sys.version_info.minor}"
_TIMEOUT = 600  # seconds for one phase's files: a hung interpreter must not hang verify
_MARK = "stager-compile"
_DEEP = "too deeply nested to compile"
# Run by the project's interpreter: only builtins and sys, so nothing of the
# repository can be imported; each file arrives as "<size>\n<bytes>".
_SCRIPT = f"""
import sys
read, write = sys.stdin.buffer, sys.stdout.write
write("{_MARK} version %d.%d\\n" % sys.version_info[:2])
index = 0
while True:
    header = read.readline()
    if not header:
        break
    source = read.read(int(header))
    try:
        compile(source, "<stager>", "exec", dont_inherit=True)
    except SyntaxError as error:
        message = " ".join(str(error.msg).split())
        write("{_MARK} %d %d %s\\n" % (index, error.lineno or 1, message))
    except ValueError as error:
        write("{_MARK} %d 0 %s\\n" % (index, " ".join(str(error).split())))
    except (RecursionError, MemoryError):
        write("{_MARK} %d 0 {_DEEP}\\n" % index)
    index += 1
write("{_MARK} done\\n")
"""


@dataclass(frozen=True)
class Compiled:
    """What the check found: files that do not compile, and notes that pass."""

    problems: tuple[str, ...]
    notes: tuple[str, ...] = ()


class _NotStarted(Exception):
    """The project's interpreter did not run the compile script: why."""


def compile_sources(sources: Mapping[RepoPath, bytes], python: str, root: Path | None) -> Compiled:
    """Compile ``sources`` with the interpreter ``python`` (a command line), else with stager's.

    A relative interpreter path (``.venv/bin/python``) is found from ``root``,
    the repository's work tree.
    """
    if not sources:
        return Compiled(())
    try:
        version, problems = _with_project(sources, python, root)
    except _NotStarted as error:
        own = _with_own(sources)
        note = f"{python} {error}: compiled by stager's own Python {_OWN} instead"
        return Compiled(own.problems, (note, *own.notes))
    if problems and any(not line.endswith(_DEEP) for line in problems):
        hint = (
            f"compiled by {python} (Python {version}); if the project targets a newer Python, "
            "set [verify] python in rules.toml to its interpreter"
        )
        return Compiled(problems, (hint,))
    return Compiled(problems)


def _command(python: str, root: Path | None) -> list[str]:
    try:
        words = shlex.split(python)
    except ValueError as error:
        raise _NotStarted(f"is not a command line ({error})") from None
    if not words:
        raise _NotStarted("is empty")
    program = words[0]
    if "/" in program and not Path(program).is_absolute() and root is not None:
        program = str(root / program)
    found = shutil.which(program)
    if found is None:
        raise _NotStarted("was not found" + ("" if "/" in program else " on PATH"))
    return [found, *words[1:], "-I", "-c", _SCRIPT]


def _with_project(
    sources: Mapping[RepoPath, bytes], python: str, root: Path | None
) -> tuple[str, tuple[str, ...]]:
    """The interpreter's version and the problems it found, one line per file."""
    paths = sorted(sources)
    payload = b"".join(b"%d\n%b" % (len(sources[path]), sources[path]) for path in paths)
    try:
        completed = subprocess.run(
            _command(python, root),
            input=payload,
            capture_output=True,
            cwd=root,
            timeout=_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise _NotStarted(f"did not finish in {_TIMEOUT} s") from None
    except OSError as error:
        raise _NotStarted(f"did not start ({error.strerror or error})") from None
    lines = [
        line.split(" ", 3)[1:]
        for line in completed.stdout.decode("utf-8", "replace").splitlines()
        if line.startswith(f"{_MARK} ")
    ]
    if completed.returncode != 0 or not lines or lines[-1] != ["done"] or lines[0][0] != "version":
        said = completed.stderr.decode("utf-8", "replace").strip().splitlines()
        raise _NotStarted(f"failed (exit {completed.returncode}{': ' + said[-1] if said else ''})")
    problems = []
    for index, line, message in (fields for fields in lines[1:-1] if len(fields) == 3):
        path = paths[int(index)]
        problems.append(f"{path}:{line}: {message}" if line != "0" else f"{path}: {message}")
    return lines[0][1], tuple(problems)


def _with_own(sources: Mapping[RepoPath, bytes]) -> Compiled:
    """stager's own compile: a syntax error may be syntax newer than its Python."""
    problems: list[str] = []
    notes: list[str] = []
    for path, source in sorted(sources.items()):
        try:
            compile(source, path, "exec", dont_inherit=True)
        except SyntaxError as error:
            notes.append(
                f"{path}:{error.lineno or 1}: not checked: Python {_OWN} cannot parse it "
                f"({error.msg}): syntax newer than Python {_OWN}? Set [verify] python in "
                "rules.toml to the project's interpreter"
            )
        except ValueError as error:  # NUL bytes, bad encoding: no Python reads them
            problems.append(f"{path}: {error}")
        except (RecursionError, MemoryError):  # CPython's own limit: importing it fails too
            problems.append(f"{path}: {_DEEP}")
    return Compiled(tuple(problems), tuple(notes))
