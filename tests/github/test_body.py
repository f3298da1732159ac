from __future__ import annotations

from stager.github.body import (
    BEGIN,
    END,
    MAX_BODY_CHARS,
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
