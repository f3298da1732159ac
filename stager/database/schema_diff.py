"""What changed between two catalog snapshots: objects added, dropped or changed, by name.

Column order is reported apart (:attr:`SchemaDiff.column_order`): a column
added by a later ``ADD COLUMN`` lands last, so the same schema built two ways
may order its columns differently, which is a warning, not a difference. An
enum's label order is part of the type (it sorts by it): reordered labels are
a change.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields

from stager.database.snapshot import CatalogSnapshot, Column


class Action(enum.Enum):
    ADDED = "added"
    DROPPED = "dropped"
    CHANGED = "changed"


@dataclass(frozen=True)
class Change:
    """One object that differs: its kind (``table``, ``column``, …), its name, what happened."""

    kind: str
    name: str
    action: Action
    detail: str = ""

    def short(self) -> str:
        """``+ index name``: the definition only for a change, where it says what changed."""
        if self.action is Action.CHANGED:
            return self.line()
        sign = "+" if self.action is Action.ADDED else "-"
        return f"{sign} {self.kind} {self.name}"

    def line(self) -> str:
        sign = {Action.ADDED: "+", Action.DROPPED: "-", Action.CHANGED: "~"}[self.action]
        detail = f": {self.detail}" if self.detail else ""
        return f"{sign} {self.kind} {self.name}{detail}"


@dataclass(frozen=True)
class SchemaDiff:
    changes: tuple[Change, ...]
    column_order: tuple[str, ...]  # tables whose common columns come in another order

    @property
    def empty(self) -> bool:
        """No object differs (a column order may still: that is only a warning)."""
        return not self.changes

    def summary(self) -> str:
        """``+1 table, +2 columns, -1 index``, or ``none``."""
        counts = Counter((change.action, change.kind) for change in self.changes)
        sign = {Action.ADDED: "+", Action.DROPPED: "-", Action.CHANGED: "~"}
        parts = [
            f"{sign[action]}{count} {kind}{'' if count == 1 else _plural(kind)}"
            for (action, kind), count in counts.items()
        ]
        return ", ".join(parts) or "none"


def _plural(kind: str) -> str:
    return "es" if kind.endswith(("s", "x")) else "s"


def diff_snapshots(before: CatalogSnapshot, after: CatalogSnapshot) -> SchemaDiff:
    """What ``after`` adds, drops and changes against ``before``."""
    changes: list[Change] = []
    changes.extend(_keyed("table", _names(before.tables), _names(after.tables), describe=False))
    order: list[str] = []
    for table in sorted(before.tables.keys() & after.tables.keys()):
        changes.extend(_columns(table, before.tables[table], after.tables[table]))
        if _order_differs(before.tables[table], after.tables[table]):
            order.append(table)
    for kind, attribute in (
        ("index", "indexes"),
        ("constraint", "constraints"),
        ("view", "views"),
        ("function", "functions"),
        ("trigger", "triggers"),
        ("sequence", "sequences"),
        ("extension", "extensions"),
    ):
        changes.extend(_keyed(kind, getattr(before, attribute), getattr(after, attribute)))
    changes.extend(
        Change("grant", grant, Action.DROPPED) for grant in sorted(before.grants - after.grants)
    )
    changes.extend(
        Change("grant", grant, Action.ADDED) for grant in sorted(after.grants - before.grants)
    )
    changes.extend(_enums(before.enums, after.enums))
    return SchemaDiff(tuple(changes), tuple(order))


def _keyed(
    kind: str, before: Mapping[str, object], after: Mapping[str, object], describe: bool = True
) -> Iterator[Change]:
    for name in sorted(before.keys() - after.keys()):
        yield Change(kind, name, Action.DROPPED)
    for name in sorted(after.keys() - before.keys()):
        yield Change(kind, name, Action.ADDED, _one_line(str(after[name])) if describe else "")
    for name in sorted(before.keys() & after.keys()):
        if before[name] != after[name]:
            detail = f"{before[name]} → {after[name]}" if describe else ""
            yield Change(kind, name, Action.CHANGED, _one_line(detail))


def _names(tables: Mapping[str, object]) -> dict[str, str]:
    """Tables by name only: their columns are compared one by one."""
    return dict.fromkeys(tables, "")


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _columns(table: str, before: tuple[Column, ...], after: tuple[Column, ...]) -> Iterator[Change]:
    old = {column.name: column for column in before}
    new = {column.name: column for column in after}
    for name in [column.name for column in before if column.name not in new]:
        yield Change("column", f"{table}.{name}", Action.DROPPED)
    for column in after:
        if column.name not in old:
            yield Change("column", f"{table}.{column.name}", Action.ADDED, column.type)
    for name in [column.name for column in before if column.name in new]:
        differences = [
            f"{field.name} {getattr(old[name], field.name)!r} → {getattr(new[name], field.name)!r}"
            for field in fields(Column)
            if getattr(old[name], field.name) != getattr(new[name], field.name)
        ]
        if differences:
            yield Change("column", f"{table}.{name}", Action.CHANGED, "; ".join(differences))


def _order_differs(before: tuple[Column, ...], after: tuple[Column, ...]) -> bool:
    common = {column.name for column in before} & {column.name for column in after}
    return [c.name for c in before if c.name in common] != [
        c.name for c in after if c.name in common
    ]


def _enums(
    before: Mapping[str, tuple[str, ...]], after: Mapping[str, tuple[str, ...]]
) -> Iterator[Change]:
    yield from _keyed("enum", {k: v for k, v in before.items() if k not in after}, {})
    yield from _keyed("enum", {}, {k: ", ".join(v) for k, v in after.items() if k not in before})
    for name in sorted(before.keys() & after.keys()):
        old, new = before[name], after[name]
        for label in old:
            if label not in new:
                yield Change("enum value", f"{name}.{label}", Action.DROPPED)
        for label in new:
            if label not in old:
                yield Change("enum value", f"{name}.{label}", Action.ADDED)
        if [label for label in old if label in new] != [label for label in new if label in old]:
            yield Change("enum", name, Action.CHANGED, f"label order {old} → {new}")
