"""The one way stager reads a TOML file: bytes → text → document, errors at ``FILE:LINE``.

rules.toml, the editable plan file and pyproject.toml's ``[tool.alembic]`` all
come through here, so an unreadable file, one that is not UTF-8 (UTF-16 from
an editor, a byte order mark) or invalid TOML reads the same whichever it is.
"""

from __future__ import annotations

import re
import stat
import tomllib
from pathlib import Path
from typing import Any

from stager.errors import RulesError

UTF8_FIX = "save the file as UTF-8 (TOML files must be UTF-8)"

# Longest first: UTF-32's marks begin with UTF-16's.
_BYTE_ORDER_MARKS = (
    (b"\xff\xfe\x00\x00", "UTF-32 text (byte order mark {})", UTF8_FIX),
    (b"\x00\x00\xfe\xff", "UTF-32 text (byte order mark {})", UTF8_FIX),
    (b"\xff\xfe", "UTF-16 text (byte order mark {})", UTF8_FIX),
    (b"\xfe\xff", "UTF-16 text (byte order mark {})", UTF8_FIX),
    # tomllib (and so alembic and pip) refuses it too
    (
        b"\xef\xbb\xbf",
        "starts with a byte order mark ({})",
        "save the file as UTF-8 without a byte order mark (TOML files must be UTF-8)",
    ),
)


class TomlError(RulesError):
    """A TOML file stager cannot read; ``line`` (0: none) and ``detail`` for findings."""

    def __init__(self, where: str, line: int, detail: str, fix: str) -> None:
        self.line = line
        self.detail = detail
        super().__init__(f"{where}:{line}: {detail}" if line else f"{where}: {detail}", fix)


MAX_BYTES = 16 * 1024 * 1024  # far beyond any rules or plan file; /dev/zero never ends


def _read_regular_file(path: Path, where: str, fix: str) -> bytes:
    """A regular file's bytes; a folder, device, pipe or huge file is a TomlError, never a hang."""
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise TomlError(where, 0, "not a regular file (a folder, a device or a pipe)", fix)
        if info.st_size > MAX_BYTES:
            size = f"{info.st_size / 2**20:.0f} MiB"
            raise TomlError(where, 0, f"{size}: larger than stager reads", fix)
        return path.read_bytes()
    except OSError as error:
        raise TomlError(where, 0, error.strerror or str(error), fix) from None


def toml_text(data: bytes | Path, source: str, *, what: str = "file", fix: str = "") -> str:
    """The text of a TOML file (read from disk for a Path); TomlError unless it is UTF-8.

    ``what`` and ``fix`` name the file and the fix when it cannot be read at all.
    """
    if isinstance(data, Path):
        data = _read_regular_file(data, f"cannot read {what} {source}", fix)
    for mark, detail, mark_fix in _BYTE_ORDER_MARKS:
        if data.startswith(mark):
            shown = " ".join(f"{byte:#04x}" for byte in mark)
            raise TomlError(source, 1, detail.format(shown), mark_fix)
    if b"\x00" in data:
        # UTF-16 without a byte order mark: every other byte of ASCII text is NUL
        line = data.count(b"\n", 0, data.index(b"\x00")) + 1
        detail = "a NUL byte: UTF-16 text without a byte order mark?"
        raise TomlError(source, line, detail, UTF8_FIX)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        detail = f"not UTF-8 (byte {data[error.start]:#04x})"
        raise TomlError(source, line, detail, UTF8_FIX) from None


def parse_toml(text: str, source: str) -> dict[str, Any]:
    """The document, or a TomlError at the line and column tomllib names."""
    try:
        return tomllib.loads(text)
    except RecursionError:  # tomllib descends once per nested array or inline table
        raise TomlError(
            source,
            _deepest_line(text),
            "toml: arrays or inline tables nested too deeply to read",
            "flatten the nesting: stager's files need a few levels at most",
        ) from None
    except tomllib.TOMLDecodeError as error:
        message = str(error)
        found = re.search(r"\s*\(at line (\d+), column (\d+)\)$", message)
        if found:
            line, where = int(found[1]), f" at column {found[2]}"
            message = message[: found.start()]
        else:
            line, where = max(1, len(text.splitlines())), ""
            message = re.sub(r"\s*\(at end of document\)$", "", message)
        raise TomlError(
            source,
            line,
            f"toml: invalid TOML: {message}{where}",
            "fix the syntax (https://toml.io)",
        ) from None


def _deepest_line(text: str) -> int:
    """The line where brackets and braces first nest deeper than any stager file needs."""
    depth = 0
    for number, line in enumerate(text.splitlines(), start=1):
        for character in line:
            depth += character in "[{"
            depth -= character in "]}"
            if depth > _DEEP:
                return number
    return 1


_DEEP = 100


def read_toml(
    data: bytes | Path, source: str, *, what: str = "file", fix: str = ""
) -> tuple[str, dict[str, Any]]:
    """The text and the document of a TOML file: :func:`toml_text`, then :func:`parse_toml`."""
    text = toml_text(data, source, what=what, fix=fix)
    return text, parse_toml(text, source)
