"""What the arguments of an Alembic ``op`` call name: table, columns, keywords, column details.

Pure ``ast`` readers used by :mod:`stager.migrations.operations`; ``SPECS`` says
where each ``op.<name>`` call keeps its table and columns.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from stager.migrations.revision_files import OperationDetails


@dataclass(frozen=True)
class Spec:
    """Where an ``op.<name>`` call keeps its table and columns.

    Positions are those of ``op``; on a ``batch_op`` receiver the table
    argument is absent, so every later position shifts down by one.
    """

    table: int | None = 0
    table_kw: str = "table_name"
    columns: int | None = None
    columns_kw: str = ""
    columns_form: str = "name"  # name | names | object | objects
    named: bool = False  # first argument is an index/constraint name


SPECS: dict[str, Spec] = {
    "create_table": Spec(columns=1, columns_form="objects"),
    "drop_table": Spec(),
    "rename_table": Spec(table_kw="old_table_name"),
    "add_column": Spec(columns=1, columns_kw="column", columns_form="object"),
    "drop_column": Spec(columns=1, columns_kw="column_name"),
    "alter_column": Spec(columns=1, columns_kw="column_name"),
    "create_index": Spec(
        table=1, columns=2, columns_kw="columns", columns_form="names", named=True
    ),
    "drop_index": Spec(table=1, named=True),
    "create_foreign_key": Spec(
        table=1,
        table_kw="source_table",
        columns=3,
        columns_kw="local_cols",
        columns_form="names",
        named=True,
    ),
    "create_unique_constraint": Spec(
        table=1, columns=2, columns_kw="columns", columns_form="names", named=True
    ),
    "create_primary_key": Spec(
        table=1, columns=2, columns_kw="columns", columns_form="names", named=True
    ),
    "create_check_constraint": Spec(table=1, named=True),
    "create_exclude_constraint": Spec(table=1, named=True),
    "drop_constraint": Spec(table=1, named=True),
    "execute": Spec(table=None),
}
DEFAULT_SPEC = Spec()

_ENUM_TYPES = frozenset({"Enum", "ENUM"})
_NAME_KEYWORDS = frozenset({"constraint_name", "index_name"})
_FOREIGN_KEYS = frozenset({"ForeignKey", "ForeignKeyConstraint"})


def string_constant(node: ast.expr | None) -> str | None:
    """The value of a string literal, else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def root_name(node: ast.expr) -> str | None:
    """``session`` for ``session.query(X).filter(...).update``."""
    while isinstance(node, ast.Attribute | ast.Call | ast.Subscript):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def name_of(func: ast.expr) -> str | None:
    """``text`` for ``text``, ``sa.text`` and ``sqlalchemy.sql.text``."""
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def table_name(node: ast.expr | None, tables: dict[str, str]) -> str | None:
    """A table name: a string, ``sa.table("t")``/``Table("t")``, or a name bound to one."""
    if node is None:
        return None
    text = string_constant(node)
    if text is not None:
        return text
    if isinstance(node, ast.Call) and name_of(node.func) in {"table", "Table"} and node.args:
        return string_constant(node.args[0])
    if isinstance(node, ast.Name):
        return tables.get(node.id)
    return None


def column_name(node: ast.expr) -> str | None:
    """The name of ``sa.Column("name", ...)``/``sa.column(...)``, else None."""
    if isinstance(node, ast.Call) and name_of(node.func) in {"Column", "column"} and node.args:
        return string_constant(node.args[0])
    return None


def unwrap_f(node: ast.expr) -> ast.expr:
    """``op.f("ix_name")`` names an index exactly as written: read through it."""
    if isinstance(node, ast.Call) and name_of(node.func) == "f" and node.args:
        return node.args[0]
    return node


def call_argument(call: ast.Call, position: int | None, keyword: str) -> ast.expr | None:
    """The argument at ``position``, else the one passed as ``keyword``; None when absent."""
    if position is not None and position < len(call.args):
        argument = call.args[position]
        return None if isinstance(argument, ast.Starred) else argument
    for kw in call.keywords:
        if kw.arg == keyword and keyword:
            return kw.value
    return None


def column_names(call: ast.Call, spec: Spec, position: int | None) -> tuple[str, ...]:
    """The columns a call names at ``position``, read as ``spec.columns_form`` says."""
    if position is None:
        return ()
    if spec.columns_form == "objects":
        names = (column_name(arg) for arg in call.args[position:])
        return tuple(name for name in names if name)
    node = call_argument(call, position, spec.columns_kw)
    if node is None:
        return ()
    if spec.columns_form == "object":
        name = column_name(node)
        return (name,) if name else ()
    if spec.columns_form == "names" and isinstance(node, ast.List | ast.Tuple):
        strings = (string_constant(element) for element in node.elts)
        return tuple(s for s in strings if s is not None)
    name = string_constant(node)
    return (name,) if name is not None else ()


def _text(node: ast.expr | None) -> str | None:
    """A string argument's value, else its source text; None when absent or ``None``."""
    if node is None:
        return None
    if isinstance(node, ast.Constant):
        if node.value is None:
            return None
        return node.value if isinstance(node.value, str) else repr(node.value)
    return ast.unparse(node)


def _flag(node: ast.expr | None) -> bool | None:
    """A literal ``True``/``False`` argument; None when absent or not literal."""
    if isinstance(node, ast.Constant) and isinstance(node.value, bool):
        return node.value
    return None


# Keyword arguments the rules read, as source text or as a literal True/False.
_TEXT_KEYWORDS = frozenset(
    {
        "type_",
        "server_default",
        "new_column_name",
        "new_table_name",
        "existing_type",
        "existing_server_default",
        "postgresql_using",
        "schema",
        "referent_table",
        "recreate",
    }
)
_FLAG_KEYWORDS = frozenset(
    {
        "nullable",
        "existing_nullable",
        "unique",
        "postgresql_concurrently",
        "postgresql_not_valid",
    }
)
# Those of an added sa.Column that change what ADD COLUMN costs or checks.
_COLUMN_TEXT = frozenset(("type_", "server_default", "server_onupdate"))
_COLUMN_FLAGS = frozenset(("nullable", "primary_key", "unique"))


def _keyword_fields(call: ast.Call, text: frozenset[str], flags: frozenset[str]) -> dict[str, Any]:
    """``OperationDetails`` fields of ``call``'s keywords (None: not written).

    Only the keywords the call writes are read: this runs for every ``op`` call.
    """
    fields: dict[str, Any] = dict.fromkeys(text | flags)
    fields["drops_default"] = False
    for keyword in call.keywords:
        name, value = keyword.arg, keyword.value
        if name in text:
            fields[name] = _text(value)
        elif name in flags:
            fields[name] = _flag(value)
        if name == "server_default":  # the last one written wins, as in Python
            fields["drops_default"] = isinstance(value, ast.Constant) and value.value is None
    return fields


def keyword_details(call: ast.Call, spec: Spec, batch: bool) -> OperationDetails:
    """The keyword arguments (and the literal name) of an ``op.<name>`` call the rules read."""
    name = string_constant(unwrap_f(call.args[0])) if spec.named and call.args else None
    if spec.named and name is None:
        # create_foreign_key(constraint_name="fk", ...), create_index(index_name="ix", ...)
        name = next(
            (
                string_constant(unwrap_f(keyword.value))
                for keyword in call.keywords
                if keyword.arg in _NAME_KEYWORDS
            ),
            None,
        )
    fields = _keyword_fields(call, _TEXT_KEYWORDS, _FLAG_KEYWORDS)
    return OperationDetails(batch=batch, name=name, **fields)


def last_line(call: ast.expr) -> int:
    """The last line of a call that spans several."""
    return call.end_lineno or call.lineno


def strings_in(node: ast.AST | None) -> frozenset[str]:
    """String constants anywhere below ``node`` (rows, ``.values(...)``, bind parameters)."""
    if node is None or isinstance(node, ast.Constant):
        return frozenset()
    return frozenset(
        child.value
        for child in ast.walk(node)
        if isinstance(child, ast.Constant) and isinstance(child.value, str)
    )


def enum_type(
    node: ast.expr, *, existing: bool = False
) -> tuple[str | None, tuple[str, ...]] | None:
    """``(name, values)`` of ``sa.Enum("a", "b", name="t")``/``postgresql.ENUM(...)``, else None.

    ``create_type=False`` (the type exists already: nothing is created) gives
    None unless ``existing``: a column of such a type still holds the type.
    """
    if not (isinstance(node, ast.Call) and name_of(node.func) in _ENUM_TYPES):
        return None
    name = None
    for keyword in node.keywords:
        if keyword.arg == "name":
            name = string_constant(keyword.value)
        elif (
            keyword.arg == "create_type"
            and isinstance(keyword.value, ast.Constant)
            and keyword.value.value is False
            and not existing
        ):
            return None
    values = tuple(
        value for value in (string_constant(arg) for arg in node.args) if value is not None
    )
    return name, values


def column_enum(node: ast.expr, type_names: Mapping[str, str]) -> str | None:
    """The enum type a column is declared with: written inline, or a name bound to one.

    ``type_names`` maps names bound to ``sa.Enum(...)``/``postgresql.ENUM(...)``
    (autogenerate writes module-level ones, often with ``create_type=False``)
    to the type's name.
    """
    if isinstance(node, ast.Name):
        return type_names.get(node.id)
    enum = enum_type(node, existing=True)
    return enum[0] if enum is not None else None


def column_details(
    node: ast.expr | None, details: OperationDetails, type_names: Mapping[str, str]
) -> OperationDetails:
    """``details`` with what the database sees of an added ``sa.Column(...)``.

    Its type, NOT NULL, default and keys; ``enums`` names the column's enum
    type (see :func:`column_enum`), as for ``create_table``, so enum rules know
    which tables hold the type.
    """
    if not (isinstance(node, ast.Call) and name_of(node.func) in {"Column", "column"}):
        return details
    type_node: ast.expr | None = None
    generated: dict[str, str] = {}
    foreign_key = False
    for position, argument in enumerate(node.args[1:], start=1):
        called = name_of(argument.func) if isinstance(argument, ast.Call) else None
        if called == "ForeignKey":
            foreign_key = True
        elif called in {"Identity", "Computed"}:
            generated[called] = ast.unparse(argument)
        elif position == 1:
            type_node = argument
    fields = _keyword_fields(node, _COLUMN_TEXT, _COLUMN_FLAGS)
    if fields["type_"] is None and type_node is not None:
        fields["type_"] = ast.unparse(type_node)
    enum = column_enum(type_node, type_names) if type_node is not None else None
    return details._replace(
        **fields,
        enums=(enum,) if enum else (),
        foreign_key=foreign_key,
        identity=generated.get("Identity"),
        computed=generated.get("Computed"),
    )


def table_enums(call: ast.Call, type_names: Mapping[str, str]) -> tuple[str, ...]:
    """Enum types of ``create_table``'s columns (see :func:`column_enum`).

    Created with the table or existing already (``create_type=False``), each is
    a type the table holds: what the enum ADD VALUE-then-use rule (SM017) needs.
    """
    names = []
    for argument in call.args[1:]:
        if isinstance(argument, ast.Call) and len(argument.args) > 1:
            enum = column_enum(argument.args[1], type_names)
            if enum:
                names.append(enum)
    return tuple(dict.fromkeys(names))


def referenced_tables(call: ast.Call) -> tuple[str, ...]:
    """The tables ``create_table``'s foreign keys point at (``ForeignKey("users.id")``).

    Creating the table takes a SHARE ROW EXCLUSIVE lock on each of them.
    """
    names: list[str] = []
    for node in ast.walk(call):
        if not (isinstance(node, ast.Call) and name_of(node.func) in _FOREIGN_KEYS):
            continue
        targets = node.args[0] if name_of(node.func) == "ForeignKey" else None
        if name_of(node.func) == "ForeignKeyConstraint" and len(node.args) > 1:
            targets = node.args[1]
        items = targets.elts if isinstance(targets, ast.List | ast.Tuple) else [targets]
        for item in items:
            text = string_constant(item) if item is not None else None
            if text and "." in text:
                names.append(text.rsplit(".", 1)[0])
    return tuple(dict.fromkeys(names))
