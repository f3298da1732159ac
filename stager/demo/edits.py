"""Derive one version of a demo file from the previous one, the way a commit would."""

from __future__ import annotations


def replace_once(text: str, old: str, new: str) -> str:
    """``text`` with its single occurrence of ``old`` replaced by ``new``.

    Fails loudly when ``old`` is missing or ambiguous, so an edit to an earlier
    version of a demo file cannot silently stop applying.
    """
    count = text.count(old)
    if count != 1:
        raise ValueError(f"expected exactly one {old!r} in the demo file, found {count}")
    return text.replace(old, new)
