"""Split one mixed migration R into an expand revision R_e and R reduced to its contract.

Databases that ran the feature branch are at R with both parts applied, so R
keeps its id and holds the contract (and data) operations; the expand
operations move to a new revision R_e, which R now revises. Each part keeps
the author's own ``downgrade()`` operations that undo its upgrade operations,
matched by object (:func:`~stager.migrations.ec_classify.object_keys`): stager
never writes an inverse. Whatever cannot be split safely gives
:class:`KeptWhole` with the reason (rule SP004). A data statement that fills
what the expand part creates is also copied into R_e when the plan needs it
there, and only when it is provably idempotent (:mod:`~stager.migrations.ec_data`).

Both files are made by cutting statements out of the original text
(:mod:`~stager.migrations.ec_rewrite`) and re-chaining it
(:mod:`~stager.migrations.rechain_file`), then read back with stager's own
parser: each part must hold exactly the original's operations it was given,
in order, or the split is refused.
"""

from __future__ import annotations

import ast
import dataclasses
import datetime
import hashlib
import posixpath
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from stager.findings import Finding
from stager.migrations import actions as a
from stager.migrations.actions import operation_actions
from stager.migrations.ec_classify import (
    ObjectKey,
    Side,
    classify,
    column_keys,
    describe,
    fresh_objects,
    object_keys,
)
from stager.migrations.ec_data import HOW, fills, not_idempotent
from stager.migrations.ec_rewrite import Unsplittable, remove_operations
from stager.migrations.parse import parse_migration
from stager.migrations.rechain_file import (
    RelinkError,
    SourceLines,
    decode_source,
    format_parents,
    module_assignment,
    relink,
)
from stager.migrations.revision_files import MigrationFile, Operation
from stager.rules.catalogue import RULES
from stager.types import RepoPath, Revision, Sha

DEFAULT_FILE_TEMPLATE = "%(rev)s_%(slug)s"
"""alembic's own default ``file_template`` (as read, after ``%%`` interpolation)."""
DEFAULT_SLUG_LENGTH = 40  # alembic's truncate_slug_length default
EXPAND_SUFFIX = "_expand"

_SLUG_WORD = re.compile(r"\w+")  # alembic.script.base._slug_re
_CREATE_DATE = re.compile(r"^[ \t]*Create Date[ \t]*:[ \t]*(.+?)[ \t]*$", re.MULTILINE)
_REVISION_ID = re.compile(r"^([ \t]*Revision ID[ \t]*:[ \t]*)(\S+)", re.MULTILINE)


@dataclass(frozen=True)
class KeptWhole:
    """Why a migration is not split; ``mixed`` False: it has nothing to split."""

    revision: Revision | None
    reason: str
    line: int
    mixed: bool = True

    def finding(self, path: RepoPath) -> Finding | None:
        """The SP004 finding of a mixed migration kept whole (None when it was not mixed)."""
        if not self.mixed:
            return None
        return RULES["SP004"].finding(
            path, self.line or None, f"mixed migration {self.revision} kept whole: {self.reason}"
        )


@dataclass(frozen=True)
class ExpandContract:
    """R split in two: both files complete, and the original's operations each holds.

    ``expand_operations`` and ``contract_operations`` are operations of the
    original (its lines), upgrade then downgrade, each in source order; a
    ``batch_alter_table`` or ``autocommit_block`` whose block keeps operations in
    both parts is in both. ``dropped`` names what the contract part drops or
    alters, which a revision placed between R_e and R must not touch;
    ``created`` what the expand part creates or widens.

    ``fills``: what the data statements (in the contract part) write of what the
    expand part creates. When code shipped before the contract reads one of
    them, the plan needs those statements in the expand revision too and takes
    ``early_data`` instead: the split that repeats them there (``repeated``:
    each is provably idempotent), or why it cannot (:class:`KeptWhole`).
    """

    revision: Revision
    expand_revision: Revision
    expand_parents: tuple[Revision, ...]
    expand_path: RepoPath
    expand_source: bytes
    contract_source: bytes
    expand_operations: tuple[Operation, ...]
    contract_operations: tuple[Operation, ...]
    dropped: tuple[ObjectKey, ...]
    created: tuple[ObjectKey, ...] = ()
    fills: tuple[ObjectKey, ...] = ()
    repeated: tuple[Operation, ...] = ()
    early_data: ExpandContract | KeptWhole | None = None


def expand_revision_id(revision: Revision, taken: Collection[str]) -> Revision:
    """First 12 hex of sha1(R + ":expand"); on a collision with ``taken``, ":expand:2", ":3"…"""
    seed, counter = f"{revision}:expand", 1
    while True:
        candidate = hashlib.sha1(seed.encode()).hexdigest()[:12]
        if candidate not in taken and candidate != revision:
            return Revision(candidate)
        counter += 1
        seed = f"{revision}:expand:{counter}"


def slug(message: str, length: int = DEFAULT_SLUG_LENGTH) -> str:
    """alembic's slug of a message (``ScriptDirectory._rev_path``)."""
    text = "_".join(_SLUG_WORD.findall(message)).lower()
    if len(text) > length:
        text = text[:length].rsplit("_", 1)[0] + "_"
    return text


def create_date(text: str) -> datetime.datetime | None:
    """The ``Create Date:`` alembic writes in a revision's docstring, None when absent or odd."""
    match = _CREATE_DATE.search(text)
    if match is None:
        return None
    try:
        return datetime.datetime.fromisoformat(match.group(1))
    except ValueError:
        return None


def expand_filename(
    revision: Revision,
    title: str,
    created: datetime.datetime | None,
    *,
    file_template: str | None = None,
    slug_length: int | None = None,
) -> str:
    """The expand file's name by the project's ``file_template``: the original's slug + _expand.

    Without a Create Date the date fields cannot be filled: a template that
    uses them falls back to alembic's default template.
    """
    template = file_template or DEFAULT_FILE_TEMPLATE
    expand_slug = slug(title, slug_length or DEFAULT_SLUG_LENGTH).rstrip("_") + EXPAND_SUFFIX
    fields: dict[str, object] = {"rev": revision, "slug": expand_slug}
    if created is not None:
        fields.update(
            epoch=int(created.timestamp()),
            year=created.year,
            month=created.month,
            day=created.day,
            hour=created.hour,
            minute=created.minute,
            second=created.second,
        )
    try:
        return f"{template % fields}.py"
    except (KeyError, ValueError, TypeError):
        return f"{DEFAULT_FILE_TEMPLATE % fields}.py"


def _shape(operation: Operation) -> Operation:
    """An operation without its position: what parse-back must reproduce."""
    return dataclasses.replace(operation, line=0, end_line=0)


def _sides(migration: MigrationFile) -> dict[int, Side] | KeptWhole:
    """Every operation's side; downgrade operations take the side of what they undo."""
    operations = migration.operations
    fresh = fresh_objects(operations)
    sides: dict[int, Side] = {}
    touched: dict[ObjectKey, set[Side]] = {}
    tables: dict[str, set[Side]] = {}
    for index, operation in enumerate(operations):
        if operation.function != "upgrade":
            continue
        placed = classify(operation, fresh)
        if placed.side is Side.UNKNOWN:
            return KeptWhole(migration.revision, placed.reason, operation.line)
        side = Side.CONTRACT if placed.side is Side.DATA else placed.side
        sides[index] = side
        if side is Side.NEUTRAL:
            continue
        for key in object_keys(operation):
            touched.setdefault(key, set()).add(side)
            if len(key) >= 2 and key[0] in {"column", "alter", "table", "rows"}:
                tables.setdefault(key[1], set()).add(side)
    upgrade = set(sides.values())
    if Side.EXPAND not in upgrade or Side.CONTRACT not in upgrade:
        what = "expand" if Side.EXPAND not in upgrade else "contract or data"
        return KeptWhole(migration.revision, f"it has no {what} operation", 0, mixed=False)
    for key, key_sides in touched.items():
        if len(key_sides) > 1 and key[0] != "rows":
            line = next(
                op.line
                for i, op in enumerate(operations)
                if sides.get(i) is Side.CONTRACT and key in object_keys(op)
            )
            return KeptWhole(
                migration.revision,
                f"{describe(key)} is both created or widened and dropped or narrowed: "
                "its operations must run in the order written",
                line,
            )
    for index, operation in enumerate(operations):
        if operation.function != "downgrade":
            continue
        if classify(operation).side is Side.NEUTRAL:
            sides[index] = Side.NEUTRAL
            continue
        matched: set[Side] = set()
        for key in object_keys(operation):
            if key[0] == "rows":
                on_table = tables.get(key[1], set())
                # restoring rows goes with the part that brings their columns back
                matched.add(Side.CONTRACT if Side.CONTRACT in on_table else next(iter(on_table)))
                if not on_table:
                    matched.clear()
                    break
            else:
                matched |= touched.get(key, set())
        if not matched:
            # Restoring what the upgrade dropped: the part that touched its columns.
            matched = {side for key in column_keys(operation) for side in touched.get(key, ())}
        if len(matched) != 1:
            why = "matches no upgrade operation" if not matched else "undoes operations of both"
            return KeptWhole(
                migration.revision,
                f"downgrade() op.{operation.name} at line {operation.line} {why} "
                "by object: stager never writes an inverse",
                operation.line,
            )
        sides[index] = matched.pop()
    return sides


def _retitle(text: str, revision: Revision, new_revision: Revision, title: str) -> str:
    """Docstring title and ``Revision ID:``, ``revision =`` and ``branch_labels = None``."""
    module = ast.parse(text)
    lines = SourceLines(text)
    edits: list[tuple[int, int, str]] = []
    for field, value in (("revision", new_revision), ("branch_labels", None)):
        node = module_assignment(module, field)
        if node is None or node.end_lineno is None or node.end_col_offset is None:
            continue
        start = lines.offset(node.lineno, node.col_offset)
        end = lines.offset(node.end_lineno, node.end_col_offset)
        parents = (value,) if value else ()
        edits.append((start, end, format_parents(parents, node, text[start:end])))
    new_title = f"Expand part of {revision}: {title}" if title else f"Expand part of {revision}"
    first = module.body[0] if module.body else None
    if (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    ):
        start = lines.offset(first.lineno, first.col_offset)
        end = lines.offset(first.end_lineno or first.lineno, first.end_col_offset or 0)
        docstring = text[start:end]
        at = docstring.find(title) if title else -1
        if title and at >= 0:
            edits.append((start + at, start + at + len(title), new_title))
        else:
            quote = docstring[:3] if docstring[:3] in {'"""', "'''"} else docstring[:1]
            edits.append((start + len(quote), start + len(quote), new_title + "\n\n"))
        found = _REVISION_ID.search(docstring)
        if found is not None:
            edits.append((start + found.start(2), start + found.end(2), new_revision))
    else:
        edits.append((0, 0, f'"""{new_title}"""\n'))
    for start, end, replacement in sorted(edits, reverse=True):
        text = text[:start] + replacement + text[end:]
    return text


def plan_split(
    migration: MigrationFile,
    source: bytes,
    *,
    taken_ids: Collection[str],
    expand_parents: Sequence[Revision] | None = None,
    file_template: str | None = None,
    slug_length: int | None = None,
    data_needed_early: bool = False,
) -> ExpandContract | KeptWhole:
    """Split ``migration`` (read from ``source``) into expand and contract revisions.

    ``taken_ids``: every revision id of the base and the head (the new id
    avoids them). ``expand_parents``: what R_e revises, by default what R
    revised (R_e takes R's place, and R then revises R_e); the caller
    re-chains either file as the plan needs. ``data_needed_early``: code
    shipped before the contract reads what the data statements fill, so each
    statement filling something the expand part creates is repeated in R_e,
    after the operations before it, when it is provably idempotent
    (:mod:`~stager.migrations.ec_data`); otherwise the migration stays whole.
    """
    revision = migration.revision
    if revision is None or migration.problems:
        line = migration.problems[0].line if migration.problems else 0
        return KeptWhole(revision, "stager cannot read the revision file fully", line)
    sides = _sides(migration)
    if isinstance(sides, KeptWhole):
        return sides
    operations = migration.operations
    to_expand = {i for i, side in sides.items() if side is Side.EXPAND}
    created = tuple(
        dict.fromkeys(
            key
            for i in sorted(to_expand)
            if operations[i].function == "upgrade"
            for key in object_keys(operations[i])
        )
    )
    filling = {
        i: found
        for i, side in sides.items()
        if side is Side.CONTRACT
        and operations[i].function == "upgrade"
        and _writes_rows(operations[i])
        and (found := fills(operations[i], created))
    }
    repeat: set[int] = set()
    if data_needed_early and filling:
        for i, found in filling.items():
            why = not_idempotent(operations[i])
            if why:
                names = ", ".join(describe(key) for key in sorted(found))
                return KeptWhole(
                    revision,
                    f"the data statement at line {operations[i].line} fills {names}, which code "
                    f"shipped before the contract reads: it would have to run in the expand "
                    f"revision too, so twice, and {why}; {HOW}",
                    operations[i].line,
                )
        repeat = set(filling)
    to_contract = {i for i, side in sides.items() if side is Side.CONTRACT}
    new_id = expand_revision_id(revision, taken_ids)
    parents = tuple(migration.down_revisions if expand_parents is None else expand_parents)
    try:
        text, encoding = decode_source(source)
        expand_text, expand_gone = remove_operations(text, operations, to_contract - repeat)
        contract_text, contract_gone = remove_operations(text, operations, to_expand)
        expand_text = _retitle(expand_text, revision, new_id, migration.title)
        expand_bytes = relink(expand_text.encode(encoding), parents).source
        contract_bytes = relink(contract_text.encode(encoding), (new_id,)).source
    except Unsplittable as error:
        return KeptWhole(revision, error.reason, error.line)
    except (RelinkError, SyntaxError, ValueError) as error:
        return KeptWhole(revision, f"stager cannot rewrite the file: {error}", 0)
    expand_ops = tuple(op for i, op in enumerate(operations) if i not in expand_gone)
    contract_ops = tuple(op for i, op in enumerate(operations) if i not in contract_gone)
    folder = posixpath.dirname(migration.path)
    name = expand_filename(
        new_id,
        migration.title,
        create_date(text),
        file_template=file_template,
        slug_length=slug_length,
    )
    expand_path = RepoPath(posixpath.join(folder, name))
    for path, written, expected in (
        (expand_path, expand_bytes, expand_ops),
        (migration.path, contract_bytes, contract_ops),
    ):
        parsed = parse_migration(path, Sha("0" * 40), written)
        if parsed.problems or tuple(map(_shape, parsed.operations)) != tuple(map(_shape, expected)):
            return KeptWhole(
                revision,
                f"the {posixpath.basename(path)} stager wrote does not read back as the "
                "operations it was given (a stager bug: please report it)",
                0,
            )
    dropped = dict.fromkeys(
        key
        for i in sorted(to_contract)
        if operations[i].function == "upgrade"
        for key in object_keys(operations[i])
    )
    split = ExpandContract(
        revision=revision,
        expand_revision=new_id,
        expand_parents=parents,
        expand_path=expand_path,
        expand_source=expand_bytes,
        contract_source=contract_bytes,
        expand_operations=expand_ops,
        contract_operations=contract_ops,
        dropped=tuple(dropped),
        created=created,
        fills=tuple(dict.fromkeys(key for found in filling.values() for key in sorted(found))),
        repeated=tuple(operations[i] for i in sorted(repeat)),
    )
    if filling and not data_needed_early:
        early = plan_split(
            migration,
            source,
            taken_ids=taken_ids,
            expand_parents=expand_parents,
            file_template=file_template,
            slug_length=slug_length,
            data_needed_early=True,
        )
        split = dataclasses.replace(split, early_data=early)
    return split


_DATA_VERBS = frozenset({a.INSERT, a.UPDATE, a.DELETE, a.TRUNCATE, a.COPY, a.SELECT, a.OPAQUE})


def _writes_rows(operation: Operation) -> bool:
    """A data statement, alone or in one ``execute`` with contract statements."""
    if operation.name == "bulk_insert" or classify(operation).side is Side.DATA:
        return True
    return any(action.verb in _DATA_VERBS for action in operation_actions(operation))
