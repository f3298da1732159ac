from __future__ import annotations

import pytest

from stager.errors import StagerError
from stager.github.body import (
    BEGIN,
    END,
    MAX_BODY_CHARS,
    PeoplesTextTooLong,
    generated_part,
    merge_body,
    same_body,
    shorten,
)


def test_new_body_is_the_marked_part() -> None:
    body = merge_body(None, "## Overview\n\nhello\n")
    assert body == f"{BEGIN}\n## Overview\n\nhello\n{END}"
    assert generated_part(body) == "\n## Overview\n\nhello\n"


def test_text_outside_the_markers_is_kept() -> None:
    existing = f"Reviewer notes: see Slack\r\n\r\n{BEGIN}\r\nold text\r\n{END}\r\n\r\nThanks!"
    merged = merge_body(existing, "new text\n")
    assert merged.startswith("Reviewer notes: see Slack\r\n\r\n")
    assert merged.endswith("\r\n\r\nThanks!")
    assert generated_part(merged) == "\nnew text\n"


def test_line_endings_do_not_make_a_change() -> None:
    ours = merge_body(None, "a\nb\n")
    as_github_returns_it = ours.replace("\n", "\r\n")
    assert same_body(as_github_returns_it, merge_body(as_github_returns_it, "a\nb\n"))
    assert not same_body(as_github_returns_it, merge_body(as_github_returns_it, "a\nc\n"))


def test_a_body_without_markers_keeps_its_text_and_gains_the_part() -> None:
    merged = merge_body("Opened by hand.", "generated")
    assert merged == f"Opened by hand.\n\n{BEGIN}\ngenerated\n{END}"
    assert merge_body(merged, "generated") == merged  # stable on the next run


def test_a_too_long_body_is_shortened_with_a_note() -> None:
    generated = "".join(f"- line {i} " + "x" * 80 + "\n" for i in range(2000))
    person = "Please read the runbook first.\n\n"
    merged = merge_body(person + f"{BEGIN}\nold\n{END}", generated)
    assert len(merged) <= MAX_BODY_CHARS
    assert merged.startswith(person)
    assert merged.endswith(END)
    assert "stager shortened this description" in merged
    inner = generated_part(merged) or ""
    kept = inner.split("\n\n> ✂️")[0].strip("\n").splitlines()
    assert kept and all(line.startswith("- line ") for line in kept)  # cut between lines
    assert merge_body(merged, generated) == merged  # and the same on the next run


def test_shorten_leaves_short_text_alone() -> None:
    assert shorten("abc", 10) == "abc"
    assert len(shorten("a\n" * 100, 150)) <= 150


def test_a_begin_marker_without_its_end_is_peoples_text() -> None:
    """Someone deleted the end marker: what follows the lone BEGIN is theirs, on every run."""
    existing = f"Top notes\n\n{BEGIN}\nhuman notes I care about\n"
    assert generated_part(existing) is None
    first = merge_body(existing, "generated\n")
    assert first.startswith(existing.rstrip())
    assert generated_part(first) == "\ngenerated\n"
    second = merge_body(first, "generated again\n")
    assert "human notes I care about" in second and "Top notes" in second
    assert generated_part(second) == "\ngenerated again\n"
    assert merge_body(second, "generated again\n") == second


def test_peoples_text_leaving_no_room_is_an_error_not_a_cut() -> None:
    with pytest.raises(PeoplesTextTooLong) as raised:
        merge_body("x" * MAX_BODY_CHARS, "generated\n")
    assert raised.value.length >= MAX_BODY_CHARS
    assert isinstance(raised.value, StagerError)  # uncaught, still one clear line
    long_but_fitting = merge_body("y" * 60_000, "z\n" * 10_000)
    assert len(long_but_fitting) <= MAX_BODY_CHARS and long_but_fitting.startswith("y" * 60_000)


def test_a_marker_in_the_generated_part_cannot_end_it() -> None:
    # a project's template may write a marker as its own text: it is neutralised
    generated = f"## Overview\n\nsee {END} and {BEGIN}\n"
    merged = merge_body("Notes.", generated) + "\n\nThanks!"
    assert merged.count(END) == merged.count(BEGIN) == 1
    inner = generated_part(merged) or ""
    assert "## Overview" in inner and inner.rstrip().endswith("and <\u2060!-- stager:begin -->")
    assert same_body(merged, merge_body(merged, generated))  # found whole on the next run
