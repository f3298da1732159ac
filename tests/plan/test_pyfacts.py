"""What the planner reads from Python and JS files, without importing them."""

from __future__ import annotations

from stager.plan.imports import ModuleIndex, js_specifiers, resolve_js
from stager.plan.pyfacts import python_facts
from stager.plan.pyscan import ImportRef
from stager.plan.subjects import subject_names

MODELS = '''\
"""Models mention credits_offset_z in prose only."""
from typing import TYPE_CHECKING

import enum
from sqlalchemy import Column, Integer, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

if TYPE_CHECKING:
    from app.only_for_types import Hint


class Role(enum.Enum):
    ADMIN = "ADMIN"
    BETA = "BETA_TESTER"


class Summary(Base):
    __tablename__ = "summary"

    id: Mapped[int] = mapped_column(primary_key=True)
    total: Mapped[int | None]
    legacy = Column("legacy_total", Integer)
    report: Mapped["Report"] = relationship(back_populates="summary")

    def describe(self) -> str:
        return self.report.title


links = Table("link", metadata, Column("a_id", Integer), Column("b_id", Integer))
QUERY = "SELECT credits_offset_a FROM summary"
'''


def test_models_enums_imports_and_names() -> None:
    facts = python_facts(MODELS)
    assert facts.scanned is None  # read by ast
    tables = {table.table: table for table in facts.tables}
    assert tables["summary"].columns == ("id", "total", "legacy_total")
    assert tables["summary"].class_name == "Summary"
    assert tables["link"].columns == ("a_id", "b_id")
    (role,) = facts.enums
    assert role.values == {"ADMIN", "BETA", "BETA_TESTER"}
    modules = [ref.module for ref in facts.imports]
    assert "app.only_for_types" not in modules  # type-checking imports never run
    assert ImportRef("sqlalchemy.orm", 0, ("Mapped", "mapped_column", "relationship"), 6) in (
        facts.imports
    )
    assert {"Summary", "Role", "links", "QUERY", "enum", "Column"} <= facts.top
    assert {"describe", "total", "report"} <= facts.members
    assert "title" in facts.attributes and "back_populates" in facts.attributes
    assert facts.uses("credits_offset_a")  # in SQL
    assert not facts.uses("credits_offset_z")  # only in the docstring


SQLMODELS = """\
from typing import ClassVar

from sqlalchemy import Column, String
from sqlalchemy.orm import Mapped, mapped_column
from sqlmodel import Field, Relationship, SQLModel


class ItemBase(SQLModel):
    title: str = Field(max_length=255)
    status: str = Field(default="active")


class Item(ItemBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    label: str = Field(sa_column=Column("label_text", String))
    owner: "User | None" = Relationship(back_populates="items")
    kinds: ClassVar[tuple[str, ...]] = ("a", "b")
    _cache: dict[str, str] = {}

    class Config:
        title: str = "not a column"


class ItemPublic(ItemBase):
    id: int


class Audit(SQLModel, table=True):
    __tablename__ = "audit_log"
    id: int = Field(primary_key=True)


class Stamped:
    created_at: Mapped[int] = mapped_column()


class Event(Stamped, Base):
    __tablename__ = "event"
    id: Mapped[int] = mapped_column(primary_key=True)


class Special(Event):
    __tablename__ = "special"
    extra: Mapped[int] = mapped_column()
"""


def test_sqlmodel_tables_map_their_fields_and_those_of_the_file_s_bases() -> None:
    tables = {table.table: table for table in python_facts(SQLMODELS).tables}
    assert set(tables) == {"item", "audit_log", "event", "special"}  # no table for ItemPublic
    assert tables["item"].class_name == "Item"
    # ItemBase's fields first; a relationship, a class variable, a private name are no columns
    assert tables["item"].columns == ("title", "status", "id", "label_text")
    assert tables["audit_log"].columns == ("id",)
    # a SQLAlchemy mixin's columns are copied into the model; a mapped base's stay in its table
    assert tables["event"].columns == ("created_at", "id")
    assert tables["special"].columns == ("extra",)


def test_a_file_ast_cannot_parse_is_read_by_its_tokens() -> None:
    facts = python_facts("from app.helpers import fmt\n\ndef broken(:\n    return fmt(X)\n")
    assert facts.scanned is not None and "line 3" in facts.scanned
    assert facts.imports == (ImportRef("app.helpers", 0, ("fmt",), 1),)
    assert {"fmt", "X"} <= facts.names and facts.tables == ()


def test_module_index_prefers_the_source_root_of_the_importer() -> None:
    index = ModuleIndex(
        ["backend/app/models/__init__.py", "other/app/models.py", "backend/app/x.py", "README.md"]
    )
    assert index.resolve("app.models", "backend/app/x.py") == "backend/app/models/__init__.py"
    assert index.resolve("app.models", "other/run.py") == "other/app/models.py"
    assert index.resolve("nothing.here", "backend/app/x.py") is None
    assert index.resolve_relative("backend/app/x.py", 1, "models") == (
        "backend/app/models/__init__.py"
    )
    assert index.resolve_relative("backend/app/models/__init__.py", 2, "x") == "backend/app/x.py"


def test_js_relative_specifiers() -> None:
    text = (
        "import React from 'react';\n"
        "import { a,\n  b } from './a';\n"
        "export * from '../b';\n"
        "const c = require('./c');\n"
        "const d = await import('./d');\n"
        "import './styles.css';\n"
    )
    assert js_specifiers(text) == [
        ("./a", 2),
        ("../b", 4),
        ("./c", 5),
        ("./d", 6),
        ("./styles.css", 7),
    ]
    paths = {"src/a.jsx", "src/d/index.ts", "b.js"}
    assert resolve_js("src/App.jsx", "./a", paths) == "src/a.jsx"
    assert resolve_js("src/App.jsx", "./d", paths) == "src/d/index.ts"
    assert resolve_js("src/App.jsx", "../b", paths) == "b.js"
    assert resolve_js("src/App.jsx", "../../outside", paths) is None


def test_subject_names() -> None:
    assert subject_names("tests/unit/test_widget.py") == ("widget.py",)
    assert subject_names("app/widget_test.py") == ("widget.py",)
    assert "Foo.jsx" in subject_names("src/__tests__/Foo.test.jsx")
    assert "Foo.ts" in subject_names("src/Foo.spec.ts")
    assert subject_names("app/widget.py") == ()
