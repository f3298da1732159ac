"""The generated part of a pull request's body, between two markers.

Everything outside ``<!-- stager:begin -->`` … ``<!-- stager:end -->`` belongs
to people and survives every run. GitHub stores bodies edited in its web UI
with CRLF line endings: comparisons normalise them, so a re-run with nothing
changed writes nothing.
"""

from __future__ import annotations

BEGIN = "<!-- stager:begin -->"
END = "<!-- stager:end -->"
MAX_BODY_CHARS = 65_536
"""GitHub rejects a pull request body longer than this (422)."""


def normalise(text: str) -> str:
    """Line endings as ``\\n`` and no blank lines at either end: what 'the same' means."""
    return text.replace("\r\n", "\n").replace("\r", "\n").strip("\n")


def generated_part(body: str | None) -> str | None:
    """The text between the markers, or None when the body has no (complete) marked part."""
    if not body:
        return None
    start = body.find(BEGIN)
    end = body.find(END, start + len(BEGIN)) if start >= 0 else -1
    if start < 0 or end < 0:
        return None
    return body[start + len(BEGIN) : end]


def merge_body(existing: str | None, generated: str) -> str:
    """``existing`` with its marked part replaced by ``generated``, people's text kept.

    A body without markers (a PR opened by hand, or markers deleted) keeps all
    its text and gets the generated part appended. The result never exceeds
    GitHub's limit: the generated part is shortened, with a note, if needed.
    """
    text = existing or ""
    start = text.find(BEGIN)
    end = text.find(END, start + len(BEGIN)) if start >= 0 else -1
    if start >= 0 and end >= 0:
        before, after = text[:start], text[end + len(END) :]
    else:
        before, after = (text.rstrip() + "\n\n" if text.strip() else ""), ""
    room = MAX_BODY_CHARS - len(before) - len(after) - len(BEGIN) - len(END) - 2
    inner = shorten(normalise(generated), room)
    return f"{before}{BEGIN}\n{inner}\n{END}{after}"


def shorten(text: str, limit: int) -> str:
    """``text`` cut at a line boundary to fit ``limit`` characters, with a note saying so."""
    if len(text) <= limit:
        return text
    note = (
        f"\n\n> ✂️ stager shortened this description: the full text has {len(text):,} "
        f"characters, over GitHub's limit of {MAX_BODY_CHARS:,}. "
        "`stager open-pr --dry-run` prints all of it."
    )
    room = limit - len(note)
    if room <= 0:
        return note.strip()[: max(limit, 0)]
    cut = text.rfind("\n", 0, room)
    return text[: cut if cut > 0 else room].rstrip() + note


def same_body(existing: str | None, merged: str) -> bool:
    """Whether writing ``merged`` over ``existing`` would change nothing but line endings."""
    return normalise(existing or "") == normalise(merged)
