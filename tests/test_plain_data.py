"""stager.plain_data: typed values round-trip through JSON, and bad data names its place."""

from __future__ import annotations

import json

import pytest

from stager.migrations.revision_files import Operation, OperationDetails, Receiver
from stager.plain_data import from_plain, to_plain


def test_a_typed_value_round_trips_and_defaults_are_left_out() -> None:
    operation = Operation(
        "execute",
        "upgrade",
        3,
        table="t",
        columns=("a", "b"),
        details=OperationDetails(receiver=Receiver.SESSION, statements=("UPDATE",)),
        literals=frozenset({"y", "x"}),
    )
    plain = json.loads(json.dumps(to_plain(operation)))
    assert plain["details"] == {"receiver": "session", "statements": ["UPDATE"]}
    assert plain["literals"] == ["x", "y"]
    assert "sql" not in plain  # at its default
    assert from_plain(Operation, plain) == operation


@pytest.mark.parametrize(
    ("plain", "message"),
    [
        ({"name": "x", "function": "upgrade"}, r"^op\.line is missing$"),
        ({"name": "x", "function": "upgrade", "line": "3"}, r"^op\.line: int expected"),
        (
            {"name": "x", "function": "upgrade", "line": 3, "details": {"receiver": "pipe"}},
            r"^op\.details\.receiver: 'pipe' is not a Receiver$",
        ),
        (
            {"name": "x", "function": "upgrade", "line": 3, "columns": [1]},
            r"^op\.columns\[0\]: str expected, found 1$",
        ),
        (["not", "an", "object"], r"^op: an object expected"),
    ],
)
def test_data_of_the_wrong_shape_is_refused_with_its_place(plain: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        from_plain(Operation, plain, "op")
