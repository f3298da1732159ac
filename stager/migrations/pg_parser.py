"""PostgreSQL's own parser (libpg_query, through pglast), its answers kept by SQL text.

Every reading of literal SQL (the statements of ``op.execute`` and of SQL
migration files, the columns some code's SQL names, the data statements of an
expand/contract split) asks :func:`parse_sql_json`. An answer is a pure
function of the text, so it is kept for the process, and the parse cache
(:mod:`stager.migrations.parse_cache`) keeps a run's answers for the next:
within :func:`recording`, what the cache holds is taken instead of parsing,
and a run that finds every text there does not even import pglast (about
25 ms). A text the parser rejects is kept as rejected.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping

# libpg_query's tree as JSON text, or None when it rejects the SQL.
Answer = str | None


class Rejected(ValueError):
    """PostgreSQL's parser rejects the SQL."""


# Every SQL text this process asked about.
_known: dict[str, Answer] = {}
# Read back from the parse cache and not asked about yet.
_stored: dict[str, Answer] = {}
# The texts the current run asked about, when one records them.
_asked: list[dict[str, Answer]] = []


def parse_sql_json(sql: str) -> str:
    """libpg_query's tree of ``sql`` as JSON text; :class:`Rejected` when it rejects it."""
    if sql in _known:
        found = _known[sql]
    else:
        found = _stored.pop(sql) if sql in _stored else _parse(sql)
        _known[sql] = found
    if _asked:
        _asked[-1][sql] = found
    if found is None:
        raise Rejected("PostgreSQL's parser rejects this SQL")
    return found


def _parse(sql: str) -> Answer:
    from pglast.parser import ParseError
    from pglast.parser import parse_sql_json as parse

    try:
        return str(parse(sql))
    except ParseError:
        return None


@contextlib.contextmanager
def recording(stored: Mapping[str, Answer]) -> Iterator[dict[str, Answer]]:
    """Within: ``stored`` (read back from the parse cache) is taken instead of parsing,
    and the dict yielded gets every SQL text asked about, with its answer.

    What a run asked about is what the parse cache keeps for the next run.
    """
    _stored.update(stored)
    asked: dict[str, Answer] = {}
    _asked.append(asked)
    try:
        yield asked
    finally:
        _asked.pop()
        _stored.clear()
