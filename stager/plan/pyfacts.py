"""What the planner needs to know about one Python file, read with ``ast`` (never imported).

One parse and one walk per file version give its module-level imports, the
names it defines (module level and class bodies), the names it uses, the
words of its SQL strings, its SQLAlchemy tables and its enum classes. A file
``ast`` cannot read (newer syntax, too deep, over the parse limit) is read by
a scan instead (:mod:`stager.plan.pyscan`), and says why (``scanned``).
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from functools import cached_property

from stager.migrations.parse import TOO_DEEP
from stager.migrations.revision_files import over_parse_limit
from stager.plan.pyscan import ImportRef, Scanned, scan_lines, scan_tokens

_COLUMN_CALLS = frozenset({"mapped_column", "Column"})
_PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"


@dataclass(frozen=True)
class ModelTable:
    """A table a SQLAlchemy model maps: ``__tablename__`` and its columns, or ``Table(...)``."""

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


class PyFacts:
    """Facts of one version of a Python file, computed on first use.

    Parsing, the module-level pass and the whole-file walk are separate and
    lazy: most changed files of a large branch never need the walk.
    """

    def __init__(self, text: str | None) -> None:
        self.text = text

    @cached_property
    def _read(self) -> tuple[ast.Module | None, str | None]:
        """The tree, or None and why ``ast`` did not read the file (None: no text)."""
        if self.text is None:
            return None, None
        too_large = over_parse_limit(len(self.text))
        if too_large is not None:
            return None, too_large
        try:
            return ast.parse(self.text), None
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

    @property
    def _tree(self) -> ast.Module | None:
        return self._read[0]

    @property
    def was_read(self) -> bool:
        """Whether the file was parsed (or scanned) yet: asking ``scanned`` would parse it."""
        return "_read" in self.__dict__  # where cached_property keeps its value

    @property
    def scanned(self) -> str | None:
        """Why and how a scan read the facts, not ``ast`` (None: ``ast`` read them)."""
        why = self._read[1]
        if why is None:
            return None
        how = "line" if over_parse_limit(len(self.text or "")) else "token"
        return f"{why}; its imports and names were read by a {how} scan"

    @cached_property
    def _scan(self) -> Scanned:
        """What a scan reads, for a file ``ast`` cannot (nothing without a text)."""
        text = self.text or ""
        return scan_lines(text) if over_parse_limit(len(text)) else scan_tokens(text)

    @cached_property
    def _module(self) -> Scanned:
        if self._tree is None:
            return self._scan
        collector = _Collector()
        collector.module(self._tree.body)
        return collector

    @cached_property
    def _walked(self) -> Scanned:
        if self._tree is None:
            return self._scan
        collector = _Collector()
        collector.walk(self._tree)
        return collector

    @property
    def imports(self) -> tuple[ImportRef, ...]:
        return tuple(self._module.imports)

    @cached_property
    def top(self) -> frozenset[str]:
        """Bound at module level: def, class, assignment, import."""
        return frozenset(self._module.top | self._module.imported)

    @cached_property
    def imported(self) -> frozenset[str]:
        """The names of ``top`` bound by an import."""
        return frozenset(self._module.imported)

    @cached_property
    def members(self) -> frozenset[str]:
        """Bound in class bodies: attributes, methods."""
        return frozenset(self._module.members)

    @cached_property
    def names(self) -> frozenset[str]:
        """Plain names used, and names imported."""
        return frozenset(self._walked.names)

    @cached_property
    def attributes(self) -> frozenset[str]:
        """``x.attr`` and ``attr=`` keyword arguments."""
        return frozenset(self._walked.attributes)

    @cached_property
    def words(self) -> frozenset[str]:
        """Identifiers inside string constants (docstrings left out)."""
        return frozenset(self._walked.words)

    @cached_property
    def sql_words(self) -> frozenset[str]:
        """Identifiers inside SQL-looking strings."""
        return frozenset(self._walked.sql_words)

    @property
    def tables(self) -> tuple[ModelTable, ...]:
        """Mapped tables (none from a scan)."""
        module = self._module
        return tuple(module.tables) if isinstance(module, _Collector) else ()

    @property
    def enums(self) -> tuple[EnumClass, ...]:
        """Enum classes (none from a scan)."""
        module = self._module
        return tuple(module.enums) if isinstance(module, _Collector) else ()

    @cached_property
    def signatures(self) -> dict[str, str]:
        """Module-level functions and classes → their signature (a class: bases and methods')."""
        try:
            return self._signatures()
        except RecursionError:  # a default value nested deeper than ast.dump goes
            return {}

    def _signatures(self) -> dict[str, str]:
        found: dict[str, str] = {}
        for node in self._tree.body if self._tree is not None else ():
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
        return found

    @cached_property
    def calls(self) -> frozenset[tuple[str, int, tuple[str, ...]]]:
        """Shapes of the calls it makes: (callee name, positional count, keywords)."""
        return frozenset(
            (name, len(node.args), tuple(sorted(k.arg or "**" for k in node.keywords)))
            for node in (ast.walk(self._tree) if self._tree is not None else ())
            if isinstance(node, ast.Call) and (name := _call_name(node)) is not None
        )

    def uses(self, name: str) -> bool:
        """Whether code (not prose) names ``name``: a name, an attribute or in SQL."""
        return name in self.names or name in self.attributes or name in self.sql_words


UNPARSED = PyFacts(None)


def python_facts(text: str) -> PyFacts:
    """Facts of one Python source (read by a scan when ``ast`` cannot: see ``scanned``)."""
    return PyFacts(text)


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


def _docstring_ids(tree: ast.AST) -> set[int]:
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and _string(body[0].value) is not None:
                found.add(id(body[0].value))
    return found


class _Collector(Scanned):
    """What ``ast`` finds: a scan's facts, and the tables and enums only a tree shows."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[ModelTable] = []
        self.enums: list[EnumClass] = []

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

    def _class(self, node: ast.ClassDef) -> None:
        table: str | None = None
        columns: list[str] = []
        values: set[str] = set()
        for statement in node.body:
            if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef):
                self.members.add(statement.name)
            elif isinstance(statement, ast.ClassDef):
                self.members.add(statement.name)
                self._class(statement)
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
                elif not name.startswith("_") and self._annotated_column(statement):
                    columns.append(self._column_name(statement.value, name))
        if table is not None:
            self.tables.append(ModelTable(table, node.name, tuple(columns), node.lineno))
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

    # -- the whole file: what it uses ----------------------------------------------

    def walk(self, tree: ast.Module) -> None:
        docstrings = _docstring_ids(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Name):
                self.names.add(node.id)
            elif isinstance(node, ast.Attribute):
                self.attributes.add(node.attr)
            elif isinstance(node, ast.keyword):
                if node.arg is not None:
                    self.attributes.add(node.arg)
            elif isinstance(node, ast.alias):
                self.names.add(node.asname or node.name.split(".")[-1])
            elif (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and id(node) not in docstrings
            ):
                self.string(node.value)

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
