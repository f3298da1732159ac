"""The one TOML reading path: every file stager reads fails the same way, at FILE:LINE."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from stager.cli import cli
from stager.errors import RulesError
from stager.rules.toml_file import TomlError, parse_toml, read_toml, toml_text

UTF8_FIX = " — save the file as UTF-8 (TOML files must be UTF-8)"


def error_of(data: bytes | Path, source: str = "x.toml") -> TomlError:
    with pytest.raises(TomlError) as raised:
        read_toml(data, source, what="rules file", fix="fix it")
    return raised.value


def test_a_document_and_its_text() -> None:
    assert read_toml(b'a = "caf\xc3\xa9"\n', "x.toml") == ('a = "café"\n', {"a": "café"})


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(
            b"a = 1\n# caf\xe9\n", "x.toml:2: not UTF-8 (byte 0xe9)" + UTF8_FIX, id="latin-1"
        ),
        pytest.param(
            "a = 1\n".encode("utf-16"),
            "x.toml:1: UTF-16 text (byte order mark 0xff 0xfe)" + UTF8_FIX,
            id="utf-16",
        ),
        pytest.param(
            "a = 1\n".encode("utf-16-be"),
            "x.toml:1: a NUL byte: UTF-16 text without a byte order mark?" + UTF8_FIX,
            id="utf-16-without-bom",
        ),
        pytest.param(
            "a = 1\n".encode("utf-32"),
            "x.toml:1: UTF-32 text (byte order mark 0xff 0xfe 0x00 0x00)" + UTF8_FIX,
            id="utf-32",
        ),
        pytest.param(
            "a = 1\n".encode("utf-8-sig"),
            "x.toml:1: starts with a byte order mark (0xef 0xbb 0xbf) — save the file as "
            "UTF-8 without a byte order mark (TOML files must be UTF-8)",
            id="utf-8-bom",
        ),
        pytest.param(
            b"a = 1\nb = [\n",
            "x.toml:2: toml: invalid TOML: ",
            id="invalid-toml",
        ),
    ],
)
def test_what_is_not_a_toml_document(data: bytes, message: str) -> None:
    error = error_of(data)
    assert str(error).startswith(message), str(error)
    assert isinstance(error, RulesError)  # exit 1, one line


def test_the_line_and_the_problem_apart_for_findings() -> None:
    error = error_of(b"[tool.alembic]\nscript_location = 'm\n")
    assert error.line == 2
    assert error.detail.startswith("toml: invalid TOML: ")
    assert str(error) == f"x.toml:2: {error.detail} — fix the syntax (https://toml.io)"


def test_an_unreadable_file(tmp_path: Path) -> None:
    # root reads any file, so an unreadable path is a folder here: no regular file to read
    error = error_of(tmp_path)
    assert str(error) == (
        "cannot read rules file x.toml: not a regular file (a folder, a device or a pipe) — fix it"
    )
    assert error.line == 0
    with pytest.raises(TomlError, match=r"^cannot read plan file a\.toml: No such file"):
        toml_text(tmp_path / "a.toml", "a.toml", what="plan file", fix="f")


def test_nesting_too_deep_for_the_parser_is_an_error_at_its_line() -> None:
    text = 'extends = "default"\nx = ' + "[" * 5000 + "]" * 5000 + "\n"
    with pytest.raises(TomlError) as error:
        parse_toml(text, "rules.toml")
    assert (error.value.line, error.value.detail) == (
        2,
        "toml: arrays or inline tables nested too deeply to read",
    )


def test_a_deeply_nested_rules_file_exits_1_in_lint(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text("x = " + "{a = " * 3000 + "1" + "}" * 3000 + "\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["--rules", str(rules), "-C", str(tmp_path), "lint"])
    assert result.exit_code == 1, result.output
    assert "rules.toml:1: toml: arrays or inline tables nested too deeply" in result.output
