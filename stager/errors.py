"""One error hierarchy: every error a user can cause is a StagerError.

A StagerError's message says what is wrong, where, and how to fix it; the CLI
prints it on one line and exits 1. Anything else is a bug: exit 3 and a log.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def near_miss(value: str, choices: Iterable[str]) -> str | None:
    """The one of ``choices`` that ``value`` most likely misspells (``mian``: ``main``), or None."""
    close = difflib.get_close_matches(value, sorted(set(choices)), n=1)
    return close[0] if close else None


def suggest(value: str, choices: Iterable[str], what: str) -> str:
    """``did you mean …?`` for a near miss, else the list of what is known."""
    known = sorted(set(choices))
    close = near_miss(value, known)
    if close:
        return f"did you mean {close!r}?"
    return f"known {what}: {', '.join(known)}"


class StagerError(Exception):
    """An error the user can fix; ``str(error)`` is the whole message."""

    exit_code = 1

    def __init__(self, problem: str, fix: str | None = None) -> None:
        self.problem = problem
        self.fix = fix
        super().__init__(f"{problem} — {fix}" if fix else problem)


class GitError(StagerError):
    """git failed or refused what stager asked of it."""


class GitTooOld(GitError):
    """The installed git lacks a feature stager needs."""


class NotARepository(GitError):
    """The folder is not inside a git repository."""


class UnknownRef(GitError):
    """A branch, tag or revision expression that does not resolve to a commit."""


class NoMergeBase(GitError):
    """Base and head share no history, or share it ambiguously (criss-cross)."""


class RulesError(StagerError):
    """rules.toml is malformed: message is ``file:LINE: key: problem — fix``."""


class MigrationError(StagerError):
    """An Alembic configuration or revision file stager cannot read."""


class OutputError(StagerError):
    """A report could not be written where the user asked."""
