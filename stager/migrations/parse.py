"""Read one Alembic revision file with ``ast``: identifiers, docstring, operations.

Real revision files import their application, assign other module-level names
from calls and build SQL at run time, so nothing here executes or imports
them. :func:`parse_migration` never raises: anything it cannot read becomes a
:class:`ParseProblem` with its line.
"""

from __future__ import annotations

import ast
import io
import posixpath
import re
import tokenize
from dataclasses import dataclass

from stager.migrations.kinds import classify_kind
from stager.migrations.operations import FUNCTIONS, extract_operations
from stager.migrations.revision_files import MigrationFile, ParseProblem, over_parse_limit
from stager.types import MigrationKind, RepoPath, Revision, Sha

_FIELDS = frozenset({"revision", "down_revision", "branch_labels", "depends_on"})
_REVISES = re.compile(r"^\s*Revises\s*:(.*)$", re.IGNORECASE | re.MULTILINE)
# alembic's own rule (script/revision.py: _revision_illegal_chars).
_ILLEGAL_REVISION_CHARS = frozenset("@-+")
# alembic's pre-0.2 files carry their id only in the file name.
_LEGACY_NAME = re.compile(r"([a-f0-9]+)\.py$")
# What makes such a file a revision at all (db.py, add.py, cafe.py are hex too).
_MIGRATION_DEF = re.compile(r"^def[ \t]+(?:upgrade|downgrade)[ \t]*\(", re.MULTILINE)
# Used only when the file does not compile, to keep the graph connected.
_FALLBACK_ASSIGNMENT = re.compile(
    r"^(revision|down_revision|branch_labels|depends_on)\s*(?::[^=\n]*)?=\s*(.+?)\s*$",
    re.MULTILINE,
)

# Tokens that may come before a module docstring.
_BEFORE_DOCSTRING = frozenset(
    {tokenize.ENCODING, tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT}
)
TOO_DEEP = "too deeply nested for Python's parser"
"""Why CPython gives up on a file (a RecursionError or MemoryError without a message)."""


@dataclass(frozen=True)
class _Value:
    value: object
    line: int


def assignments(statement: ast.stmt) -> list[tuple[ast.expr, ast.expr]]:
    """The (target, value) pairs a statement assigns; ``a, b = 1, 2`` gives two."""
    pairs: list[tuple[ast.expr, ast.expr]] = []
    if isinstance(statement, ast.Assign):
        for target in statement.targets:
            if isinstance(target, ast.Tuple | ast.List) and isinstance(
                statement.value, ast.Tuple | ast.List
            ):
                pairs.extend(zip(target.elts, statement.value.elts, strict=False))
            else:
                pairs.append((target, statement.value))
    elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
        pairs.append((statement.target, statement.value))
    return pairs


def _assignments(module: ast.Module, problems: list[ParseProblem]) -> dict[str, _Value]:
    """Module-level ``revision = ...``-style assignments; the last one wins, as at import."""
    found: dict[str, _Value] = {}
    for statement in module.body:
        for target, value in assignments(statement):
            if not (isinstance(target, ast.Name) and target.id in _FIELDS):
                continue
            try:
                literal = ast.literal_eval(value)
            except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                problems.append(
                    ParseProblem(
                        statement.lineno,
                        f"{target.id} is not a literal (found `{_excerpt(value)}`): "
                        "stager reads revision files without running them",
                    )
                )
                continue
            found[target.id] = _Value(literal, statement.lineno)
    return found


def _excerpt(node: ast.expr) -> str:
    try:
        text = ast.unparse(node)
    except Exception:
        return "?"
    return text if len(text) <= 60 else text[:57] + "..."


def _strings(name: str, assigned: _Value | None, problems: list[ParseProblem]) -> tuple[str, ...]:
    """None, a string, or a tuple/list/set of strings, as ``alembic.util.to_tuple`` reads them."""
    if assigned is None or assigned.value is None:
        return ()
    value = assigned.value
    if isinstance(value, str):
        return (value,)
    if isinstance(value, tuple | list | set | frozenset) and all(
        isinstance(item, str) for item in value
    ):
        items = sorted(value) if isinstance(value, set | frozenset) else value
        return tuple(str(item) for item in items)
    problems.append(
        ParseProblem(
            assigned.line,
            f"{name} must be None, a string or a tuple of strings, not {type(value).__name__}",
        )
    )
    return ()


def _named(name: str, assigned: _Value | None, problems: list[ParseProblem]) -> tuple[str, ...]:
    """The revisions ``down_revision`` or ``depends_on`` names; an empty string names none.

    Alembic 1.12 still read ``down_revision = ""`` as a root, and projects kept it
    for years (Netflix/dispatch until it moved to Alembic 1.14); newer Alembic
    stops on it (``KeyError: ''``). Read as a parent named "", a branch that
    fixes it to None would look re-parented.
    """
    values = _strings(name, assigned, problems)
    if "" in values and assigned is not None:
        problems.append(
            ParseProblem(
                assigned.line,
                f"{name} '' names no revision: stager reads it as none, as Alembic 1.12 "
                "did, but newer Alembic stops on it (KeyError: ''): write None",
            )
        )
    return tuple(value for value in values if value)


def _docstring(docstring: str | None) -> tuple[str, tuple[Revision, ...] | None]:
    """First docstring line, and the ``Revises:`` line's revisions (None when absent)."""
    if not docstring:
        return "", None
    title = next((line.strip() for line in docstring.splitlines() if line.strip()), "")
    match = _REVISES.search(docstring)
    if match is None:
        return title, None
    revises = tuple(Revision(part.strip()) for part in match.group(1).split(",") if part.strip())
    return title, revises


def _leading_docstring(text: str) -> str | None:
    """The module docstring of a file ``ast`` does not read: its first tokens only."""
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type in _BEFORE_DOCSTRING:
                continue
            if token.type != tokenize.STRING:
                return None
            value = ast.literal_eval(token.string)
            return value if isinstance(value, str) else None
    except (SyntaxError, ValueError, tokenize.TokenError):
        return None
    return None


def _fallback(text: str) -> dict[str, _Value]:
    """Identifiers of a file that does not compile, read line by line."""
    found: dict[str, _Value] = {}
    for match in _FALLBACK_ASSIGNMENT.finditer(text):
        try:
            value = ast.literal_eval(match.group(2))
        except Exception:
            continue
        line = text.count("\n", 0, match.start()) + 1
        found[match.group(1)] = _Value(value, line)
    return found


def revision_id_problem(value: str) -> str | None:
    """Why ``value`` cannot be a revision id stager uses, None when it can.

    An id goes into commit trailers and other files' ``Revises:`` lines, so a
    line break or any other whitespace or control character would forge lines.
    """
    if not value:
        return "is empty"
    if any(char.isspace() or not char.isprintable() for char in value):
        return "contains whitespace or control characters"
    return None


def _check_ids(name: str, values: tuple[str, ...], line: int, problems: list[ParseProblem]) -> None:
    for value in values:
        why = revision_id_problem(value)
        if why is not None:
            problems.append(
                ParseProblem(
                    line,
                    f"{name} {value!r} {why}: use letters, digits and underscores "
                    "(stager refuses to re-chain it)",
                )
            )


def _looks_like_revision(
    module: ast.Module | None, source: bytes, assigned: dict[str, _Value]
) -> bool:
    """True when the file assigns ``down_revision`` or defines ``upgrade()``/``downgrade()``."""
    if "down_revision" in assigned:
        return True
    if module is None:
        return _MIGRATION_DEF.search(source.decode("utf-8", errors="replace")) is not None
    return any(
        isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef)
        and statement.name in FUNCTIONS
        for statement in module.body
    )


def _revision(
    path: RepoPath,
    assigned: dict[str, _Value],
    problems: list[ParseProblem],
    *,
    legacy_name: bool = True,
) -> tuple[Revision | None, int]:
    value = assigned.get("revision")
    if value is None and any(p.message.startswith("revision is not") for p in problems):
        return None, next(p.line for p in problems if p.message.startswith("revision is not"))
    if value is None:
        # Only a file that is a revision otherwise: a plain module named
        # db.py or add.py is no pre-0.2 revision "db"/"add".
        legacy = _LEGACY_NAME.match(posixpath.basename(path)) if legacy_name else None
        if legacy:
            return Revision(legacy.group(1)), 0
        problems.append(
            ParseProblem(1, "no module-level `revision = '...'`: alembic cannot load this file")
        )
        return None, 0
    if not isinstance(value.value, str) or not value.value:
        problems.append(ParseProblem(value.line, "revision must be a non-empty string"))
        return None, value.line
    _check_ids("revision", (value.value,), value.line, problems)
    illegal = _ILLEGAL_REVISION_CHARS.intersection(value.value)
    if illegal:
        problems.append(
            ParseProblem(
                value.line,
                f"revision {value.value!r} contains {', '.join(sorted(illegal))}, "
                "which alembic does not allow",
            )
        )
    return Revision(value.value), value.line


def parse_migration(path: RepoPath, blob: Sha, source: bytes) -> MigrationFile:
    """Read a revision file's identifiers, docstring and operations; never raises."""
    problems: list[ParseProblem] = []
    module: ast.Module | None = None
    too_large = over_parse_limit(len(source))
    if too_large is not None:
        problems.append(
            ParseProblem(
                1,
                f"cannot parse: {too_large}: its operations are not checked (revision and "
                "down_revision were read line by line); review it by hand",
            )
        )
    else:
        try:
            module = ast.parse(source, filename=path)
        except SyntaxError as error:
            problems.append(ParseProblem(error.lineno or 1, f"cannot parse: {error.msg}"))
        except ValueError as error:  # NUL bytes or an undecodable encoding
            problems.append(ParseProblem(1, f"cannot parse: {error}"))
        except (MemoryError, RecursionError):  # CPython's own limits, without a message
            problems.append(ParseProblem(1, f"cannot parse: {TOO_DEEP}"))

    if module is not None:
        assigned = _assignments(module, problems)
        title, revises = _docstring(ast.get_docstring(module, clean=False))
        try:
            operations = extract_operations(module)
            kind = classify_kind(operations)
        except Exception as error:
            # Deep nesting (RecursionError) or an AST shape stager does not
            # know must not stop the analysis of the other files.
            problems.append(
                ParseProblem(1, f"cannot read operations: {type(error).__name__}: {error}")
            )
            operations, kind = (), MigrationKind.DATA
    else:
        text = source.decode("utf-8", errors="replace")
        assigned = _fallback(text)
        title, revises = _docstring(_leading_docstring(text))
        # Nothing is known about what an unreadable file does: assume a data change.
        operations, kind = (), MigrationKind.DATA

    revision, revision_line = _revision(
        path, assigned, problems, legacy_name=_looks_like_revision(module, source, assigned)
    )
    down = assigned.get("down_revision")
    depends = assigned.get("depends_on")
    down_revisions = _named("down_revision", down, problems)
    depends_on = _named("depends_on", depends, problems)
    _check_ids("down_revision", down_revisions, down.line if down else 0, problems)
    _check_ids("depends_on", depends_on, depends.line if depends else 0, problems)
    return MigrationFile(
        path=path,
        blob=blob,
        revision=revision,
        down_revisions=tuple(Revision(item) for item in down_revisions),
        branch_labels=_strings("branch_labels", assigned.get("branch_labels"), problems),
        depends_on=tuple(Revision(item) for item in depends_on),
        title=title,
        revises=revises,
        revision_line=revision_line,
        down_revision_line=down.line if down is not None else 0,
        operations=operations,
        kind=kind,
        problems=tuple(sorted(problems, key=lambda problem: problem.line)),
        depends_on_line=depends.line if depends is not None else 0,
    )
