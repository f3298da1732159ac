"""The scans that read a Python file stager's ``ast`` cannot: newer syntax, too deep, too large."""

from __future__ import annotations

from pathlib import Path

import pytest

from stager.migrations.revision_files import PARSE_LIMIT
from stager.plan.pyfacts import python_facts
from stager.plan.pyscan import ImportRef, scan_lines, scan_tokens

PACKAGE = Path(__file__).resolve().parents[2] / "stager"

# PEP 758 (Python 3.14): ``except A, B:`` without parentheses.
NEWER = '''\
"""Billing, on Python 3.14."""
from __future__ import annotations

import os.path as osp, json
from typing import TYPE_CHECKING

from ..core import (
    fmt as format_money,
    Money,
)

if TYPE_CHECKING:
    from app.only_for_types import Hint
else:
    from app.at_run_time import Real

try:
    from app.fast import speed
except ImportError, ModuleNotFoundError:
    speed = None


class Invoice(Base):
    """An invoice: the words of this docstring are prose."""

    __tablename__ = "invoice"
    total: int = 0

    def settle(self, ledger):
        from app.late import settle_later  # not at module level: not an import edge

        return ledger.credit(self.total, account=ACCOUNT, note=f"{self.total_due} left")


LIMIT, RETRIES = 10, 3
QUERY = "SELECT amount_cents " "FROM invoice"
'''


def test_the_token_scan_reads_what_ast_would_from_newer_syntax() -> None:
    facts = python_facts(NEWER)
    assert facts.scanned is not None
    assert "cannot parse line 19 (multiple exception types must be parenthesized" in (facts.scanned)
    assert facts.scanned.endswith("its imports and names were read by a token scan")
    assert list(facts.imports) == [
        ImportRef("__future__", 0, ("annotations",), 2),
        ImportRef("os.path", 0, (), 4),
        ImportRef("json", 0, (), 4),
        ImportRef("typing", 0, ("TYPE_CHECKING",), 5),
        ImportRef("core", 2, ("fmt", "Money"), 7),
        ImportRef("app.at_run_time", 0, ("Real",), 15),
        ImportRef("app.fast", 0, ("speed",), 18),
    ]
    assert facts.top == {
        *("annotations", "osp", "json", "TYPE_CHECKING", "format_money", "Money", "Real"),
        *("speed", "Invoice", "LIMIT", "RETRIES", "QUERY"),
    }
    assert facts.imported == facts.top - {"Invoice", "LIMIT", "RETRIES", "QUERY"}
    assert facts.members == {"__tablename__", "total", "settle"}
    assert {"ledger", "ACCOUNT", "ImportError", "ModuleNotFoundError"} <= facts.names
    assert {"credit", "total", "account", "note", "total_due"} <= facts.attributes
    assert facts.uses("amount_cents")  # in SQL, written as two adjacent literals
    assert "prose" not in facts.words and "invoice" in facts.words


def test_both_scans_agree_with_ast_on_every_module_of_stager() -> None:
    """What ast finds, the token scan finds, and the coarser line scan finds too."""
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        by_ast, tokens, lines = python_facts(text), scan_tokens(text), scan_lines(text)
        assert by_ast.scanned is None, path
        assert list(by_ast.imports) == tokens.imports, path
        assert by_ast.top == tokens.top | tokens.imported, path
        assert by_ast.members <= tokens.members, path
        assert by_ast.names <= tokens.names | tokens.attributes, path
        assert by_ast.attributes <= tokens.attributes, path
        assert set(tokens.imports) <= set(lines.imports), path
        assert tokens.imported <= lines.imported and tokens.names <= lines.names, path


def test_a_tokenizer_error_keeps_what_came_before_it() -> None:
    scanned = scan_tokens("from app.helpers import fmt\n\nTEXT = '''never closed\n")
    assert scanned.imports == [ImportRef("app.helpers", 0, ("fmt",), 1)]


@pytest.mark.parametrize(
    "expression",
    [
        pytest.param(" + ".join(["1"] * 20_000), id="20000-terms"),
        pytest.param("-" * 100_000 + "1", id="100000-unary-minus"),
        pytest.param("(" * 300 + "1" + ")" * 300, id="300-parentheses"),
        pytest.param("[" * 300 + "]" * 300, id="300-lists"),
    ],
)
def test_a_file_too_deep_for_the_parser_is_read_by_its_tokens(expression: str) -> None:
    facts = python_facts(f"from app.helpers import fmt\n\nX = {expression}\nY = fmt(X)\n")
    assert facts.scanned is not None and "token scan" in facts.scanned
    assert facts.imports == (ImportRef("app.helpers", 0, ("fmt",), 1),)
    assert {"X", "Y"} <= facts.top and "fmt" in facts.names


def test_a_file_over_the_parse_limit_is_read_by_a_line_scan() -> None:
    filler = "ROWS = [\n" + "    (1, 'a row of generated data'),\n" * (PARSE_LIMIT // 30) + "]\n"
    text = (
        "import app.models as models\n"
        "from app.helpers import (\n    fmt,\n    parse as read,\n)\n"
        "if True:\n    from .sibling import thing\n"
        f"{filler}\n"
        "def load():\n    return fmt(models.Row)\n"
    )
    facts = python_facts(text)
    assert facts.scanned is not None
    assert facts.scanned.startswith(f"{len(text) / 1_000_000:.1f} MB, over stager's 1 MiB")
    assert facts.scanned.endswith("its imports and names were read by a line scan")
    assert list(facts.imports) == [
        ImportRef("app.models", 0, (), 1),
        ImportRef("app.helpers", 0, ("fmt", "parse"), 2),
        ImportRef("sibling", 1, ("thing",), 7),
    ]
    assert {"models", "fmt", "read", "thing", "ROWS", "load"} <= facts.top
    assert {"Row", "fmt"} <= facts.names and facts.uses("Row")
