"""Remove operations from a revision file's text by the line ranges ``ast`` gives.

Granularity is the statement of ``upgrade()``/``downgrade()``: a statement
spanning several lines goes whole, with the comment lines right above it; a
``with op.batch_alter_table(...)`` or ``autocommit_block`` block is entered, so
its inner statements can go to different revisions. Every other line keeps
its bytes, so a reviewer's diff shows only what moved. What cannot be cut at
statement level (two parts' operations in one statement, statements sharing a
line, operations inside a helper function) raises :class:`Unsplittable`.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from stager.migrations.operations import FUNCTIONS
from stager.migrations.rechain_file import SourceLines
from stager.migrations.revision_files import Operation

_CONTAINERS = frozenset({"batch_alter_table", "autocommit_block"})
_INDENT = re.compile(r"[ \t]*")


class Unsplittable(Exception):
    """The file cannot be cut between the two parts at statement level."""

    def __init__(self, reason: str, line: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line


@dataclass
class _Cut:
    lines: set[int]  # 1-based line numbers removed
    passes: dict[int, str]  # line number → the ``pass`` line that replaces it
    removed: set[int]  # indices of operations removed
    bound: dict[str, set[str]]  # function → names the removed statements assigned


def _is_comment(line: str) -> bool:
    stripped = line.strip()
    # alembic's "# ### commands auto generated ###" markers belong to the function
    return stripped.startswith("#") and not stripped.startswith("# ###")


class _Cutter:
    def __init__(
        self, lines: SourceLines, operations: Sequence[Operation], remove: Collection[int]
    ):
        self.lines = lines
        self.operations = operations
        self.remove = remove
        self.cut = _Cut(set(), {}, set(), {})
        self.function = ""
        self.located: set[int] = set()

    def _inside(self, node: ast.stmt, ops: list[int]) -> list[int]:
        end = node.end_lineno or node.lineno
        return [index for index in ops if node.lineno <= self.operations[index].line <= end]

    def _drop(self, node: ast.stmt, boundary: int, inside: list[int]) -> None:
        start = node.lineno
        while start - 1 > boundary and _is_comment(self.lines.lines[start - 2]):
            start -= 1
        self.cut.lines.update(range(start, (node.end_lineno or node.lineno) + 1))
        self.cut.removed.update(inside)
        names = self.cut.bound.setdefault(self.function, set())
        for child in ast.walk(node):
            if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Store):
                names.add(child.id)

    def body(self, body: list[ast.stmt], ops: list[int], header: int) -> bool:
        """Cut what goes from ``body``; True when every statement went."""
        gone = 0
        for position, node in enumerate(body):
            inside = self._inside(node, ops)
            self.located.update(inside)
            steps = [i for i in inside if self.operations[i].name not in _CONTAINERS]
            leaving = [i for i in steps if i in self.remove]
            if not leaving:
                continue
            previous = (body[position - 1].end_lineno or 0) if position else header
            following = body[position + 1].lineno if position + 1 < len(body) else None
            if previous == node.lineno or following == node.end_lineno:
                raise Unsplittable(
                    f"line {node.lineno} shares its line with another statement: "
                    "put each operation on lines of its own",
                    node.lineno,
                )
            if len(leaving) == len(steps):
                self._drop(node, previous, inside)
                gone += 1
            elif isinstance(node, ast.With) and any(
                self.operations[i].name in _CONTAINERS for i in inside
            ):
                first = node.body[0].lineno
                self.located.update(i for i in inside if self.operations[i].line < first)
                inner = [i for i in inside if self.operations[i].line >= first]
                self.body(node.body, inner, node.lineno)
            else:
                raise Unsplittable(
                    f"the statement at line {node.lineno} holds operations of both parts: "
                    "write them as separate statements",
                    node.lineno,
                )
        return gone == len(body)


def remove_operations(
    text: str, operations: Sequence[Operation], remove: Collection[int]
) -> tuple[str, frozenset[int]]:
    """``text`` without the statements of ``operations[i]`` for each i in ``remove``.

    Returns the new text and the indices of every operation removed (the
    containers of emptied blocks included). A function left empty gets ``pass``.
    """
    module = ast.parse(text)
    lines = SourceLines(text)
    cutter = _Cutter(lines, operations, remove)
    functions = {
        node.name: node
        for node in module.body
        if isinstance(node, ast.FunctionDef) and node.name in FUNCTIONS
    }
    for name, function in functions.items():
        ops = [i for i, operation in enumerate(operations) if operation.function == name]
        cutter.function = name
        if cutter.body(function.body, ops, function.lineno):
            first = function.body[0]
            indent = _INDENT.match(lines.lines[first.lineno - 1])
            line = lines.lines[first.lineno - 1]
            ending = line[len(line.rstrip("\r\n")) :] or "\n"
            cutter.cut.passes[first.lineno] = f"{indent.group() if indent else '    '}pass{ending}"
    outside = sorted(set(range(len(operations))) - cutter.located)
    if outside:
        operation = operations[outside[0]]
        raise Unsplittable(
            f"op.{operation.name} at line {operation.line} runs in a helper function: "
            "stager splits only statements of upgrade() and downgrade()",
            operation.line,
        )
    kept: list[str] = []
    for number, line in enumerate(lines.lines, start=1):
        if number in cutter.cut.passes:
            kept.append(cutter.cut.passes[number])
        if number not in cutter.cut.lines:
            kept.append(line)
    result = "".join(kept)
    _check_names(result, cutter.cut.bound)
    return result, frozenset(cutter.cut.removed)


def _check_names(text: str, bound: dict[str, set[str]]) -> None:
    """A name a removed statement assigned must not be read by what stays."""
    for node in ast.parse(text).body:
        if not (isinstance(node, ast.FunctionDef) and bound.get(node.name)):
            continue
        stored: set[str] = set()
        loaded: dict[str, int] = {}
        for child in ast.walk(node):
            if isinstance(child, ast.Name):
                if isinstance(child.ctx, ast.Store):
                    stored.add(child.id)
                else:
                    loaded.setdefault(child.id, child.lineno)
        dangling = sorted((bound[node.name] & loaded.keys()) - stored)
        if dangling:
            name = dangling[0]
            raise Unsplittable(
                f"{name!r} is assigned by an operation of one part and read by the other "
                f"in {node.name}()",
                loaded[name],
            )
