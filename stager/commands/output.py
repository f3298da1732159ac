"""Where a command's report goes: the table live on the terminal, or text on stdout or in a file."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from stager.errors import OutputError
from stager.git.repository import git_dir_holding
from stager.render.console import plain_console, stdout_console
from stager.render.formats import Format

if TYPE_CHECKING:
    from rich.console import Console

EXIT_FINDINGS = 4
"""The exit code when a finding reaches --fail-on, or a check of verify fails."""


def emit(
    output_format: Format,
    table: Callable[[Console], None],
    markdown: Callable[[], str],
    json: Callable[[], str],
    output: Path | None = None,
) -> None:
    """Print the report in ``output_format``, or write it to ``output`` (--output FILE).

    The table is printed live, with colours where the terminal has them, and
    written to a file as plain text; only the asked format is rendered.
    """
    if output_format is Format.JSON:
        text = json()
    elif output_format is Format.MARKDOWN:
        text = markdown()
    elif output is None:
        table(stdout_console())
        return
    else:
        console = plain_console()
        table(console)
        text = console.export_text()
    if output is None:
        print(text, end="")
    else:
        write_file(output, text, "--output")


def check_writable(path: Path, option: str) -> None:
    """OutputError unless ``path`` is a file stager may write for ``option``.

    Never through a symbolic link (a committed link would overwrite its target,
    anywhere), never inside a git directory (``-o .git/HEAD`` would break the
    repository).
    """
    if path.is_symlink():
        raise OutputError(
            f"{option} {path} is a symbolic link: stager never writes through a link",
            f"remove the link or choose another {option} path",
        )
    git_dir = git_dir_holding(path)
    if git_dir is not None:
        raise OutputError(
            f"{option} {path} is inside the git directory {git_dir}",
            f"choose an {option} path outside {git_dir}",
        )


def write_file(path: Path, text: str, option: str) -> None:
    """Write what ``option`` asked for; OutputError naming the option when it cannot."""
    check_writable(path, option)
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    try:
        # O_NOFOLLOW: a link planted after the check is refused (ELOOP), not followed.
        with os.fdopen(os.open(path, flags, 0o666), "w", encoding="utf-8") as file:
            file.write(text)
    except OSError as error:
        raise OutputError(
            f"cannot write {path}: {error.strerror}", f"choose a writable {option} path"
        ) from None
