"""Where a command's report goes: the table live on the terminal, or text on stdout or in a file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from stager.errors import OutputError
from stager.render.console import plain_console, terminal_console
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
        table(terminal_console(highlight=False))
        return
    else:
        console = plain_console()
        table(console)
        text = console.export_text()
    if output is None:
        print(text, end="")
    else:
        write_file(output, text, "--output")


def write_file(path: Path, text: str, option: str) -> None:
    """Write what ``option`` asked for; OutputError naming the option when it cannot."""
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as error:
        raise OutputError(
            f"cannot write {path}: {error.strerror}", f"choose a writable {option} path"
        ) from None
