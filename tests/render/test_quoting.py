"""Repository text made safe to show: git's own quoting, and markdown as a parser reads it."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from stager.render.quoting import (
    WORD_JOINER,
    code_span,
    escape_controls,
    neutralise,
    one_line,
    quote_path,
    table_cell,
)
from tests.examples import examples
from tests.gitrepo import GitRepo

RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
COMMONMARK = MarkdownIt("commonmark").enable("table")  # GitHub's markdown is CommonMark + GFM


def test_paths_are_quoted_exactly_as_git_quotes_them(repo: GitRepo) -> None:
    names = [
        "evil\x1b]0;pwned\x07.py",
        "new\nline.py",
        'say "hi".py',
        "back\\slash.py",
        "tab\there.py",
        "bell\x07\x7f.py",
        "plain é ü.py",
        "spaces are fine.py",
    ]
    for name in names:
        repo.write(name, "x\n")
    repo.git("add", "-A")
    listed = repo.git("-c", "core.quotePath=false", "ls-files").splitlines()
    assert sorted(quote_path(name) for name in names) == sorted(listed)


def test_what_git_passes_through_is_quoted_too() -> None:
    assert quote_path("csi\x9b2J.py") == '"csi\\302\\2332J.py"'  # a C1 control, as UTF-8 bytes
    assert quote_path("not-utf8-\udcff.py") == '"not-utf8-\\377.py"'  # surrogateescape's byte


def test_free_text_is_one_line_and_multi_line_text_keeps_its_lines() -> None:
    title = "Add col \x1b]0;pwned\x07 and\nmore\tstuff"
    assert one_line(title) == "Add col \\033]0;pwned\\a and\\nmore\\tstuff"
    assert escape_controls(title) == "Add col \\033]0;pwned\\a and\nmore\tstuff"
    assert one_line('quotes " and \\ stay') == 'quotes " and \\ stay'


def test_markers_comments_mentions_and_entities_are_neutralised() -> None:
    text = "<!-- stager:end --> ping @team and @org/team, &#64;all, mail ada@example.com"
    shown = neutralise(text)
    assert "<!--" not in shown and "@team" not in shown and "@org" not in shown
    assert "&#64;" not in shown
    assert "ada@example.com" in shown  # not a mention: nothing to break
    assert shown.replace(WORD_JOINER, "") == text  # nothing visible changed
    assert neutralise(shown) == shown
    assert neutralise("a.py\n# heading\n```") == "a.py # heading ```"  # starts no block
    # what stager writes itself survives: a placeholder and a shell's &&
    command = "`git revert -m 1 <merge commit>` && `alembic upgrade head`"
    assert neutralise(command) == command


def test_a_comment_is_no_comment_for_a_markdown_parser() -> None:
    html = COMMONMARK.render(f"before {neutralise('<!-- stager:end --> hidden')} after")
    assert "<!--" not in html and "hidden" in html


@settings(max_examples=examples(200), deadline=None)
@given(st.text(alphabet=st.sampled_from("`a |\\\n\x1b<!-@")))
def test_a_code_span_shows_its_text_exactly(text: str) -> None:
    tokens = COMMONMARK.parseInline(code_span(text))[0].children or []
    assert [token.type for token in tokens] == ["code_inline"]
    assert tokens[0].content == (quote_path(text) or '""')  # an empty one shows ""


@settings(max_examples=examples(100), deadline=None)
@given(st.text(alphabet=st.sampled_from("`a |\\\n")))
def test_a_code_span_in_a_table_cell_stays_in_its_cell(text: str) -> None:
    row = f"| {table_cell(code_span(text))} | next |"
    html = COMMONMARK.render(f"| a | b |\n|---|---|\n{row}\n")
    cells = re.findall(r"<td>(.*?)</td>", html)
    assert len(cells) == 2 and cells[1] == "next"
    assert cells[0].startswith("<code>")


def test_no_control_character_is_left(tmp_path: Path) -> None:
    every = "".join(map(chr, range(0xA0))) + "\udc80\udcff"
    for shown in (quote_path(every), one_line(every), code_span(every)):
        assert not RAW_CONTROL.search(shown) and "\n" not in shown and "\t" not in shown
    assert not RAW_CONTROL.search(escape_controls(every))
    assert not RAW_CONTROL.search(neutralise(every))
    # what is shown can be written anywhere, even where surrogates cannot go
    (tmp_path / "shown.txt").write_text(one_line(every), encoding="utf-8")


def test_git_agrees_on_a_name_that_is_not_utf8(repo: GitRepo) -> None:
    name = b"caf\xe9.py"
    (repo.path / name.decode("utf-8", "surrogateescape")).write_text("x\n")
    repo.git("add", "-A")
    listed = subprocess.run(  # git's default quoting, as with core.quotePath=false, octal
        ["git", "ls-files"],
        cwd=repo.path,
        env=repo.env,
        capture_output=True,
        check=True,
    ).stdout.decode()
    assert listed.strip() == quote_path(name.decode("utf-8", "surrogateescape"))
