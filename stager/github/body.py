"""The generated part of a pull request's body, between two markers.

Everything outside ``<!-- stager:begin -->`` … ``<!-- stager:end -->`` belongs
to people and survives every run. GitHub stores bodies edited in its web UI
with CRLF line endings: comparisons normalise them, so a re-run with nothing
changed writes nothing.
"""

from __future__ import annotations

from stager.errors import StagerError
from stager.render.quoting import neutralise

BEGIN = "<!-- stager:begin -->"
END = "<!-- stager:end -->"
MAX_BODY_CHARS = 65_536
"""GitHub rejects a pull request body longer than this (422)."""
MIN_GENERATED_CHARS = 1_000
"""Less room than this for the generated part: people's text must be shortened first."""


class PeoplesTextTooLong(StagerError):
    """The text outside the markers leaves no room for the generated part under the limit.

    open-pr catches it, leaves the body as people wrote it and says so.
    """

    def __init__(self, length: int) -> None:
        self.length = length
        super().__init__(
            f"{length:,} characters outside the stager markers leave no room for the "
            f"generated part under GitHub's limit of {MAX_BODY_CHARS:,}",
            "shorten the pull request's description on GitHub",
        )


def normalise(text: str) -> str:
    """Line endings as ``\\n`` and no blank lines at either end: what 'the same' means."""
    return text.replace("\r\n", "\n").replace("\r", "\n").strip("\n")


def _marked(text: str) -> tuple[int, int] | None:
    """Where the marked part starts (its BEGIN) and ends (its END), or None.

    The first END and the last BEGIN before it: a BEGIN whose END a person
    deleted is their text now (stager appends a new marked part after it), so
    it must never pair with a later END and swallow what follows it.
    """
    end = text.find(END)
    start = text.rfind(BEGIN, 0, end) if end >= 0 else -1
    return (start, end) if start >= 0 else None


def generated_part(body: str | None) -> str | None:
    """The text between the markers, or None when the body has no (complete) marked part."""
    marked = _marked(body or "")
    if marked is None or body is None:
        return None
    return body[marked[0] + len(BEGIN) : marked[1]]


def merge_body(existing: str | None, generated: str) -> str:
    """``existing`` with its marked part replaced by ``generated``, people's text kept.

    A body without markers (a PR opened by hand, or markers deleted) keeps all
    its text and gets the generated part appended. The result never exceeds
    GitHub's limit: the generated part is shortened, with a note, if needed;
    PeoplesTextTooLong when people's own text leaves no room for it (stager
    never cuts what people wrote).
    """
    text = existing or ""
    marked = _marked(text)
    if marked is not None:
        before, after = text[: marked[0]], text[marked[1] + len(END) :]
    else:
        before, after = (text.rstrip() + "\n\n" if text.strip() else ""), ""
    room = MAX_BODY_CHARS - len(before) - len(after) - len(BEGIN) - len(END) - 2
    if room < MIN_GENERATED_CHARS:
        raise PeoplesTextTooLong(len(before) + len(after))
    inner = shorten(normalise(without_markers(generated)), room)
    return f"{before}{BEGIN}\n{inner}\n{END}{after}"


def without_markers(generated: str) -> str:
    """``generated`` with any marker in it neutralised, so the next run finds this part whole.

    The templates already neutralise every value; this holds for a project's
    template that writes a marker as its own text too.
    """
    return generated.replace(BEGIN, neutralise(BEGIN)).replace(END, neutralise(END))


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
