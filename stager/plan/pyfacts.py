"""What the planner needs to know about one Python file, read with ``ast`` (never imported).

One parse and one walk of the tree per file version give every fact: its
module-level imports, the names it defines (module level and class bodies),
the names it uses, the words of its SQL strings, its SQLAlchemy tables, its
enum classes, its signatures and call shapes. The facts are plain data, a pure
function of the file's text, so they are cached by blob id
(:mod:`stager.plan.facts_store`) and the tree is dropped at once. A file
``ast`` cannot read (newer syntax, too deep, over the parse limit) is read by
a scan instead (:mod:`stager.plan.pyscan`), and says why (``scanned``).
"""

from __future__ import annotations

import ast
import hashlib
import sys
from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple

from stager.migrations.parse import TOO_DEEP
from stager.migrations.revision_files import over_parse_limit
from stager.plan.pyscan import ImportRef, Scanned, scan_lines, scan_tokens

_COLUMN_CALLS = frozenset({"mapped_column", "Column"})
_RELATIONSHIP_CALLS = frozenset({"Relationship", "relationship"})
_PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"


@dataclass(frozen=True)
class ModelTable:
    """A table a SQLAlchemy model maps: ``__tablename__`` and its columns, or ``Table(...)``.

    A SQLModel class ``table=True`` maps its fields, and those of the classes of the
    same file it derives from, to the table ``__tablename__`` or its lower-cased name.
    """

    table: str
    class_name: str | None
    columns: tuple[str, ...]
    line: int


@dataclass(frozen=True)
class EnumClass:
    """A Python enum class: its member names and string values."""

    name: str
    values: frozenset[str]
    line: int


class LineSpan(NamedTuple):
    """The first and last line of a string literal written over several lines."""

    first: int
    last: int


@dataclass(frozen=True)
class PyFacts:
    """Facts of one version of a Python file: plain values, no tree."""

    imports: tuple[ImportRef, ...] = ()
    top: frozenset[str] = frozenset()  # bound at module level: def, class, assignment, import
    imported: frozenset[str] = frozenset()  # the names of ``top`` bound by an import
    members: frozenset[str] = frozenset()  # bound in class bodies: attributes, methods
    names: frozenset[str] = frozenset()  # plain names used, and names imported
    attributes: frozenset[str] = frozenset()  # ``x.attr`` and ``attr=`` keyword arguments
    words: frozenset[str] = frozenset()  # identifiers inside string constants (not docstrings)
    sql_words: frozenset[str] = frozenset()  # identifiers inside SQL-looking strings
    tables: tuple[ModelTable, ...] = ()  # mapped tables, SQLModel's too (none from a scan)
    enums: tuple[EnumClass, ...] = ()  # enum classes (none from a scan)
    # "name digest" of each module-level function and class: a hash of its signature
    # (a class: bases and methods'), all a comparison needs.
    signature_list: tuple[str, ...] = ()
    # Shapes of the calls it makes, "callee/positional count/keywords" (see ``call_name``).
    calls: frozenset[str] = frozenset()
    # Why and how a scan read the facts, not ``ast`` (None: ``ast`` read them).
    scanned: str | None = None
    # Strings over several lines: where a line starting with ``#`` is no comment.
    multiline_strings: tuple[LineSpan, ...] = ()

    @cached_property  # asked for each pair of modules the import graph compares
    def signatures(self) -> dict[str, str]:
        """Module-level functions and classes → their signature."""
        return dict(entry.split(" ") for entry in self.signature_list)

    def uses(self, name: str) -> bool:
        """Whether code (not prose) names ``name``: a name, an attribute or in SQL."""
        return name in self.names or name in self.attributes or name in self.sql_words


UNPARSED = PyFacts()


def python_facts(text: str) -> PyFacts:
    """Facts of one Python source (read by a scan when ``ast`` cannot: see ``scanned``)."""
    tree, why = _parse(text)
    if tree is None:
        how = "line" if over_parse_limit(len(text)) else "token"
        scan = scan_lines(text) if how == "line" else scan_tokens(text)
        return _from_scan(scan, f"{why}; its imports and names were read by a {how} scan")
    collector = _Collector()
    collector.module(tree.body)
    walked = _Walk(tree)
    return PyFacts(
        imports=tuple(collector.imports),
        top=frozenset(collector.top | collector.imported),
        imported=frozenset(collector.imported),
        members=frozenset(collector.members),
        names=frozenset(walked.names),
        attributes=frozenset(walked.attributes),
        words=frozenset(walked.words),
        sql_words=frozenset(walked.sql_words),
        tables=tuple(collector.tables),
        enums=tuple(collector.enums),
        signature_list=_signatures(tree),
        calls=frozenset(walked.calls),
        multiline_strings=tuple(sorted(set(walked.spans))),
    )


def _parse(text: str) -> tuple[ast.Module | None, str]:
    """The tree, or None and why ``ast`` did not read the file."""
    too_large = over_parse_limit(len(text))
    if too_large is not None:
        return None, too_large
    try:
        return ast.parse(text), ""
    except SyntaxError as error:
        # Python's grammar grows: a project on a newer Python may write what ours refuses.
        return None, (
            f"Python {_PYTHON} cannot parse line {error.lineno or 1} ({error.msg}: "
            f"syntax newer than {_PYTHON}, or an error)"
        )
    except ValueError as error:  # NUL bytes
        return None, str(error)
    except (RecursionError, MemoryError):
        return None, TOO_DEEP


def _from_scan(scan: Scanned, why: str) -> PyFacts:
    return PyFacts(
        imports=tuple(scan.imports),
        top=frozenset(scan.top | scan.imported),
        imported=frozenset(scan.imported),
        members=frozenset(scan.members),
        names=frozenset(scan.names),
        attributes=frozenset(scan.attributes),
        words=frozenset(scan.words),
        sql_words=frozenset(scan.sql_words),
        scanned=why,
    )


def call_name(shape: str) -> str:
    """The callee's name of one of ``PyFacts.calls``."""
    return shape.partition("/")[0]


def _signatures(tree: ast.Module) -> tuple[str, ...]:
    """Module-level functions and classes → their signature (a class: bases and methods')."""
    found: dict[str, str] = {}
    try:
        for node in tree.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                found[node.name] = ast.dump(node.args)
            elif isinstance(node, ast.ClassDef):
                parts = [ast.dump(base) for base in node.bases]
                for item in node.body:
                    if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                        parts.append(f"{item.name}{ast.dump(item.args)}")
                    elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                        parts.append(f"{item.target.id}={item.value is not None}")  # fields
                found[node.name] = ";".join(parts)
    except RecursionError:  # a default value nested deeper than ast.dump goes
        return ()
    return tuple(
        f"{name} {hashlib.sha1(shape.encode(), usedforsecurity=False).hexdigest()[:16]}"
        for name, shape in found.items()
    )


def _call_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _string(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _targets(node: ast.expr) -> list[str]:
    if isinstance(node, ast.Name):
        return [node.id]
    if isinstance(node, ast.Tuple | ast.List):
        return [name for element in node.elts for name in _targets(element)]
    return []


@dataclass(frozen=True)
class _Shape:
    """What a class would map, its bases' included, as SQLAlchemy reads it and as SQLModel does.

    ``columns``: its ``Column``/``mapped_column``/``Mapped`` attributes (a mixin's are
    copied into each model); ``fields``: the columns of its annotated fields, every one
    a column of a SQLModel ``table=True`` class but relationships and class variables.
    """

    columns: tuple[str, ...]
    fields: tuple[str, ...]
    table: bool  # a mapped class: its own table's columns are not its subclasses'


class _Collector(Scanned):
    """What ``ast`` finds: a scan's facts, and the tables and enums only a tree shows."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[ModelTable] = []
        self.enums: list[EnumClass] = []
        # Classes by name as far as read: a base is always defined before the class deriving it.
        self.shapes: dict[str, _Shape] = {}

    # -- module level: imports and definitions ---------------------------------

    def module(self, body: list[ast.stmt]) -> None:
        for statement in body:
            self._statement(statement)

    def _statement(self, statement: ast.stmt) -> None:
        if isinstance(statement, ast.Import):
            for alias in statement.names:
                self.imports.append(ImportRef(alias.name, 0, (), statement.lineno))
                self.imported.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(statement, ast.ImportFrom):
            names = tuple(alias.name for alias in statement.names)
            self.imports.append(
                ImportRef(statement.module or "", statement.level, names, statement.lineno)
            )
            self.imported.update(alias.asname or alias.name for alias in statement.names)
            self.imported.discard("*")
        elif isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef):
            self.top.add(statement.name)
        elif isinstance(statement, ast.ClassDef):
            self.top.add(statement.name)
            self._class(statement)
        elif isinstance(statement, ast.Assign):
            for target in statement.targets:
                self.top.update(_targets(target))
            if isinstance(statement.value, ast.Call) and _call_name(statement.value) == "Table":
                self._table_call(statement.value)
        elif isinstance(statement, ast.AnnAssign | ast.AugAssign):
            self.top.update(_targets(statement.target))
        elif isinstance(statement, ast.If):
            # Imports only for the type checker never run: no dependency at run time.
            if not _is_type_checking(statement.test):
                self.module(statement.body)
            self.module(statement.orelse)
        elif isinstance(statement, ast.Try):
            for block in (statement.body, statement.orelse, statement.finalbody):
                self.module(block)
            for handler in statement.handlers:
                self.module(handler.body)
        elif isinstance(statement, ast.With | ast.For | ast.While):
            self.module(statement.body)

    def _class(self, node: ast.ClassDef, *, nested: bool = False) -> None:
        table: str | None = None
        columns: list[str] = []
        fields: list[str] = []
        values: set[str] = set()
        for statement in node.body:
            if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef):
                self.members.add(statement.name)
            elif isinstance(statement, ast.ClassDef):
                self.members.add(statement.name)
                self._class(statement, nested=True)
            elif isinstance(statement, ast.Assign):
                for target in statement.targets:
                    for name in _targets(target):
                        self.members.add(name)
                        if name == "__tablename__":
                            table = _string(statement.value) or table
                        elif name == "__table__" and isinstance(statement.value, ast.Call):
                            self._table_call(statement.value)
                        elif not name.startswith("_"):
                            values.add(name)
                            value = _string(statement.value)
                            if value is not None:
                                values.add(value)
                            if _call_name(statement.value) in _COLUMN_CALLS:
                                columns.append(self._column_name(statement.value, name))
            elif isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
                name = statement.target.id
                self.members.add(name)
                if name == "__tablename__":
                    table = _string(statement.value) or table
                elif not name.startswith("_"):
                    if self._annotated_column(statement):
                        columns.append(self._column_name(statement.value, name))
                    if _is_field(statement):
                        fields.append(_field_column(statement.value, name))
        sqlmodel = any(
            keyword.arg == "table" and _is_true(keyword.value) for keyword in node.keywords
        )
        inherited = [self.shapes[name] for name in _base_names(node) if name in self.shapes]
        mixins = [shape for shape in inherited if not shape.table]
        columns = [column for shape in mixins for column in shape.columns] + columns
        fields = [field for shape in mixins for field in shape.fields] + fields
        if sqlmodel and table is None:
            table = node.name.lower()  # SQLModel's default __tablename__
        if not nested:  # a nested class (pydantic's Config) is no base of the file's classes
            self.shapes[node.name] = _Shape(
                tuple(dict.fromkeys(columns)), tuple(dict.fromkeys(fields)), table is not None
            )
        if table is not None:
            mapped_columns = fields if sqlmodel else columns
            self.tables.append(
                ModelTable(table, node.name, tuple(dict.fromkeys(mapped_columns)), node.lineno)
            )
        if any((_call_name(base) or "").endswith("Enum") for base in node.bases) and values:
            self.enums.append(EnumClass(node.name, frozenset(values), node.lineno))

    @staticmethod
    def _annotated_column(statement: ast.AnnAssign) -> bool:
        value = statement.value
        if value is not None:
            return _call_name(value) in _COLUMN_CALLS
        annotation = statement.annotation
        if isinstance(annotation, ast.Subscript):
            annotation = annotation.value
        return _call_name(annotation) == "Mapped"

    @staticmethod
    def _column_name(value: ast.expr | None, attribute: str) -> str:
        # Column("db_name", ...) maps an attribute to a column of another name.
        if isinstance(value, ast.Call) and value.args:
            name = _string(value.args[0])
            if name is not None:
                return name
        return attribute

    def _table_call(self, node: ast.Call) -> None:
        """``Table("name", metadata, Column("c", ...), ...)``: a table without a class."""
        if len(node.args) < 2:
            return
        name = _string(node.args[0])
        if name is None:
            return
        columns = [
            column
            for argument in node.args[2:]
            if _call_name(argument) in _COLUMN_CALLS
            and isinstance(argument, ast.Call)
            and argument.args
            and (column := _string(argument.args[0])) is not None
        ]
        self.tables.append(ModelTable(name, None, tuple(columns), node.lineno))


def _base_names(node: ast.ClassDef) -> list[str]:
    """The bases a class names plainly, ``Base`` of ``class X(Base)``: the file's own classes."""
    return [base.id for base in node.bases if isinstance(base, ast.Name)]


def _is_true(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is True


def _is_field(statement: ast.AnnAssign) -> bool:
    """Whether a SQLModel table maps this annotated attribute to a column of its own."""
    annotation = statement.annotation
    if isinstance(annotation, ast.Subscript):
        annotation = annotation.value
    if _call_name(annotation) == "ClassVar":
        return False
    return statement.value is None or _call_name(statement.value) not in _RELATIONSHIP_CALLS


def _field_column(value: ast.expr | None, attribute: str) -> str:
    """``Field(sa_column=Column("db_name", ...))`` maps a field to a column of another name."""
    if isinstance(value, ast.Call):
        for keyword in value.keywords:
            if keyword.arg == "sa_column" and isinstance(keyword.value, ast.Call):
                return _Collector._column_name(keyword.value, attribute)
    return attribute


_DOCUMENTED = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
# Each node class's fields that may hold nodes (``ctx`` is Load or Store: nothing to read).
_CHILD_FIELDS: dict[type, tuple[str, ...]] = {}


def _child_fields(kind: type) -> tuple[str, ...]:
    fields = _CHILD_FIELDS.get(kind)
    if fields is None:
        fields = tuple(name for name in getattr(kind, "_fields", ()) if name != "ctx")
        _CHILD_FIELDS[kind] = fields
    return fields


class _Walk:
    """What the whole file uses, in one pass over its tree (``ast.walk`` is far slower)."""

    def __init__(self, tree: ast.Module) -> None:
        self.names: set[str] = set()
        self.attributes: set[str] = set()
        self.words: set[str] = set()
        self.sql_words: set[str] = set()
        self.calls: set[str] = set()
        self.spans: list[LineSpan] = []
        strings: set[str] = set()
        docstrings: set[int] = set()
        stack: list[object] = [tree]
        while stack:
            node = stack.pop()
            kind = type(node)
            if kind is ast.Name:
                self.names.add(node.id)  # type: ignore[attr-defined]
                continue
            if kind is ast.Constant:
                self._constant(node, strings, docstrings)  # type: ignore[arg-type]
                continue
            if kind is ast.Attribute:
                self.attributes.add(node.attr)  # type: ignore[attr-defined]
            elif kind is ast.keyword:
                if node.arg is not None:  # type: ignore[attr-defined]
                    self.attributes.add(node.arg)  # type: ignore[attr-defined]
            elif kind is ast.alias:
                self.names.add(node.asname or node.name.split(".")[-1])  # type: ignore[attr-defined]
            elif kind is ast.Call:
                self._call(node)  # type: ignore[arg-type]
            elif kind is ast.JoinedStr:
                self._span(node)  # type: ignore[arg-type]
            elif kind in _DOCUMENTED:
                body = node.body  # type: ignore[attr-defined]
                if body and type(body[0]) is ast.Expr and _string(body[0].value) is not None:
                    docstrings.add(id(body[0].value))
            for name in _child_fields(kind):
                child = getattr(node, name)
                if type(child) is list:
                    stack.extend(child)
                elif isinstance(child, ast.AST):
                    stack.append(child)
        scanned = Scanned()
        for text in strings:
            scanned.string(text)
        self.words, self.sql_words = scanned.words, scanned.sql_words

    def _constant(self, node: ast.Constant, strings: set[str], docstrings: set[int]) -> None:
        value = node.value
        if isinstance(value, str | bytes):
            self._span(node)
            if isinstance(value, str) and id(node) not in docstrings:
                strings.add(value)

    def _span(self, node: ast.expr) -> None:
        last = node.end_lineno or node.lineno
        if last > node.lineno:
            self.spans.append(LineSpan(node.lineno, last))

    def _call(self, node: ast.Call) -> None:
        name = _call_name(node)
        if name is not None:
            keywords = tuple(sorted(keyword.arg or "**" for keyword in node.keywords))
            self.calls.add(f"{name}/{len(node.args)}/{','.join(keywords)}")
