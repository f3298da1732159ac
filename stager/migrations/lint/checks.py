"""The migration rules: what each action does to a live PostgreSQL database.

:func:`check_migration` judges one revision file on its own;
:func:`check_upgrade_path` follows transactions across an ordered list of
revisions (a branch, or a phase of one), because alembic runs a whole
``alembic upgrade`` in one transaction unless env.py says otherwise.
Both return :class:`Hit` s: a rule id, a line and a message naming the
table, column or value; the engine adds path, risk and hint.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import NamedTuple

from stager.migrations import actions as a
from stager.migrations.actions import Action, migration_actions
from stager.migrations.lint.envpy import EnvSettings
from stager.migrations.revision_files import MigrationFile
from stager.rules.catalogue import AUTOCOMMIT, RULES
from stager.types import Risk

UPGRADE = "upgrade"
DOWNGRADE = "downgrade"


class Hit(NamedTuple):
    """A rule that fired at ``line`` of ``function`` (upgrade, downgrade or None)."""

    rule: str
    line: int
    function: str | None
    message: str
    end_line: int = 0  # last line of the call it reports (0: ``line``)
    risk: Risk | None = None  # None: the rule's own risk
    hint: str | None = None  # None: the rule's own hint; else advice for this very case


class NotNullCheck(NamedTuple):
    """A CHECK (column IS NOT NULL) constraint, and whether it has been validated."""

    table: str  # lowercase
    column: str  # lowercase
    validated: bool


def follow_not_null_checks(
    actions: Iterable[Action], known: Mapping[str, NotNullCheck]
) -> dict[str, NotNullCheck]:
    """``known`` (by lowercase constraint name) after ``actions`` add, validate or drop some."""
    checks = dict(known)
    for action in actions:
        name = (action.name or "").lower()
        if action.verb == a.ADD_CHECK and "is_not_null" in action.flags and action.table:
            for column in action.columns:
                validated = "not_valid" not in action.flags
                checks[name] = NotNullCheck(action.table.lower(), column.lower(), validated)
        elif action.verb == a.VALIDATE_CONSTRAINT and name in checks:
            checks[name] = checks[name]._replace(validated=True)
        elif action.verb == a.DROP_CONSTRAINT:
            checks.pop(name, None)
    return checks


def migration_not_null_checks(
    migration: MigrationFile, known: Mapping[str, NotNullCheck]
) -> dict[str, NotNullCheck]:
    """``known`` after ``migration``'s upgrade(): what the next migrations can rely on."""
    ups = [x for x in migration_actions(migration) if x.function == UPGRADE]
    return follow_not_null_checks(ups, known)


TypeUses = Mapping[str, frozenset[tuple[str, str]]]
"""Enum type (lowercase, no schema) → the (table, column) pairs known to hold it.

A column of ``""`` is a column of a ``create_table`` stager cannot name. A
type with no pair left is orphaned: dropping it removes no value any row holds.
"""


def follow_type_uses(
    actions: Iterable[Action], known: TypeUses
) -> dict[str, frozenset[tuple[str, str]]]:
    """``known`` after ``actions`` add, retype or drop columns and tables, or drop types."""
    uses = {name: set(pairs) for name, pairs in known.items()}

    for action in actions:
        table = (action.table or "").lower()
        columns = {column.lower() for column in action.columns}
        column_type = _column_type(action)
        gone: set[tuple[str, str]] = set()
        if action.verb == a.DROP_TABLE and table:
            gone = {pair for pairs in uses.values() for pair in pairs if pair[0] == table}
        elif action.verb in {a.DROP_COLUMN, a.ALTER_TYPE} and table:
            gone = {(table, column) for column in columns}
        for pairs in uses.values():
            pairs.difference_update(gone)
        if action.verb == a.DROP_TYPE and action.name:
            uses.pop(_type_key(action.name), None)
        elif action.verb == a.CREATE_ENUM and action.name and not table:
            uses.setdefault(_type_key(action.name), set())
        elif column_type and table:
            # create_table's types name no column: "" stands for one of the table's
            column = next(iter(columns)) if len(columns) == 1 else ""
            uses.setdefault(_type_key(column_type), set()).add((table, column))
    return {name: frozenset(pairs) for name, pairs in uses.items()}


def migration_type_uses(
    migration: MigrationFile, known: TypeUses
) -> dict[str, frozenset[tuple[str, str]]]:
    """``known`` after ``migration``'s upgrade(): which enum types the next ones find orphaned."""
    ups = [x for x in migration_actions(migration) if x.function == UPGRADE]
    return follow_type_uses(ups, known)


class Downgrade(NamedTuple):
    """What ``downgrade()`` looks like: ``missing``, ``empty``, ``raises`` or ``ok``."""

    shape: str
    line: int  # its ``def`` line, or the revision line when it is missing


def _quote(name: str | None) -> str:
    return f"'{name}'" if name else "(unnamed)"


def _on(action: Action) -> str:
    return _quote(action.table) if action.table else "a table"


_ZERO = re.compile(r"0*(?:\.0*)?\s*[a-z]*", re.IGNORECASE)


def _sets_timeout(value: str | None) -> bool:
    """True for ``SET lock_timeout = '5s'``; not for 0 (no timeout), RESET or DEFAULT."""
    return value is not None and not _ZERO.fullmatch(value.strip())


def _short(text: str) -> str:
    return text if len(text) <= 60 else text[:57] + "..."


def _columns(action: Action) -> str:
    return ", ".join(_quote(column) for column in action.columns) or "a column"


_GENERATED_HINT = (
    "an identity or stored generated column is filled as it is added (a DEFAULT cannot read "
    "another column, and there is no ADD GENERATED ... STORED for an existing column): add a "
    "plain nullable column that the code or a trigger keeps filled, backfill old rows in "
    "batches, and convert it in a maintenance window; or accept the rewrite there"
)
_UNIQUE_INDEX_HINT = (
    f"`{AUTOCOMMIT}` op.create_index(..., unique=True, postgresql_concurrently=True) — "
    "CREATE UNIQUE INDEX CONCURRENTLY, and keep it as a unique index (a constraint can only "
    "be made USING a plain index on columns, not on an expression or a partial one)"
)
_EXCLUDE_HINT = (
    "an exclusion constraint cannot be built CONCURRENTLY nor attached USING INDEX (that takes "
    "only UNIQUE and PRIMARY KEY indexes): check that no rows conflict first, then add it in a "
    "quiet moment under a short lock_timeout (SM025), or on a new table filled by the code"
)
_CASCADE_HINT = (
    "drop the dependants by name first, each in its own release as the code stops using them "
    "(SM001, SM002, SM026), then drop the object without CASCADE: PostgreSQL refuses if "
    "something still depends on it"
)


class _Checker:
    """The rules about one migration's upgrade(), in source order."""

    def __init__(
        self,
        actions: Sequence[Action],
        env: EnvSettings,
        version: int,
        function: str = UPGRADE,
        checks: Mapping[str, NotNullCheck] | None = None,
        type_uses: TypeUses | None = None,
        new_tables: frozenset[str] = frozenset(),
    ) -> None:
        self.checks = checks or {}
        self.type_uses = type_uses or {}
        # ``up``: the function checked (upgrade(), or downgrade() on the second pass)
        self.function = function
        self.up = [action for action in actions if action.function == function]
        self.down = [action for action in actions if action.function == DOWNGRADE]
        self.env = env
        self.version = version
        self.hits: list[Hit] = []
        # ``new_tables``: created by an earlier revision of the same phase's upgrade, so
        # as empty here as a table this migration creates (no release has used it yet)
        self.created = {
            action.table.lower()
            for action in self.up
            if action.verb == a.CREATE_TABLE and action.table
        } | new_tables
        self.created_types = {
            action.name.lower()
            for action in self.up
            if action.verb == a.CREATE_ENUM and action.name
        }

    def hit(
        self,
        rule: str,
        action: Action,
        message: str,
        risk: Risk | None = None,
        hint: str | None = None,
    ) -> None:
        self.hits.append(
            Hit(rule, action.line, action.function, message, action.end_line, risk, hint)
        )

    def existing(self, action: Action) -> bool:
        """True unless the table is created by this same migration (so it is still empty)."""
        return action.table is None or action.table.lower() not in self.created

    def in_transaction(self, action: Action) -> bool:
        return self.env.transactional_ddl and not action.autocommit

    def run(self) -> list[Hit]:
        for action in self.up:
            check = _BY_VERB.get(action.verb)
            if check is not None:
                check(self, action)
        self._added_and_dropped()
        self._inserts()
        self._lock_timeout()
        return self.hits

    def run_downgrade(self) -> list[Hit]:
        """The lock and rewrite rules on downgrade(), one risk step lower, saying where.

        A rollback runs on the live database too, but only when a release is
        rolled back: lower. Undoing what upgrade() added (a drop, a rename
        back, a DELETE of its rows) is the downgrade's job and not reported;
        what makes the rollback fail outright (SM012, SM018) keeps its risk.
        """
        for action in self.up:
            if action.verb in _DOWNGRADE_VERBS:
                _BY_VERB[action.verb](self, action)
            elif action.verb == a.DROP_INDEX and "concurrently" in action.flags:
                self._concurrently(action, "DROP INDEX CONCURRENTLY")
        return [
            hit._replace(
                message=f"{hit.message} — in downgrade()",
                risk=hit.risk
                if hit.rule in _FAILS_OUTRIGHT
                else _lower(hit.risk or RULES[hit.rule].risk),
            )
            for hit in self.hits
        ]

    # -- schema ------------------------------------------------------------------

    def _drop_table(self, action: Action) -> None:
        if self.existing(action):
            self.hit(
                "SM001",
                action,
                f"drops table {_on(action)}: its data is gone, and code that is still running "
                "fails on its next query",
            )

    def _drop_column(self, action: Action) -> None:
        if self.existing(action):
            self.hit(
                "SM002",
                action,
                f"drops column {_columns(action)} of {_on(action)}: its data is gone, and code "
                "that is still running (SQLAlchemy selects every mapped column) fails",
            )

    def _rename_column(self, action: Action) -> None:
        if self.existing(action) and not self._takes_dropped_name(action):
            self.hit(
                "SM004",
                action,
                f"renames column {_columns(action)} of {_on(action)} to {_quote(action.value)}: "
                "code that is still running uses the old name and fails",
            )

    def _takes_dropped_name(self, rename: Action) -> bool:
        """``drop_column(t, "a")`` then a rename into "a": the swap step, SM002 reports the drop."""
        new = (rename.value or "").lower()
        table = (rename.table or "").lower()
        return any(
            x.verb == a.DROP_COLUMN
            and (x.table or "").lower() == table
            and new in {c.lower() for c in x.columns}
            for x in self.up[: self.up.index(rename)]
        )

    def _rename_table(self, action: Action) -> None:
        if not self.existing(action):
            return
        if "set_schema" in action.flags:
            schema = (action.value or "").rpartition(".")[0]
            what = f"moves table {_on(action)} to schema {_quote(schema)} (SET SCHEMA)"
        else:
            what = f"renames table {_on(action)} to {_quote(action.value)}"
        self.hit(
            "SM005",
            action,
            f"{what}: code that is still running uses the old name and fails",
        )

    def _add_column(self, action: Action) -> None:
        if not self.existing(action):
            return
        flags = action.flags
        what = f"column {_columns(action)} of {_on(action)}"
        if "not_null" in flags and "default" not in flags and "primary_key" not in flags:
            self.hit(
                "SM006",
                action,
                f"adds NOT NULL {what} without a server default: fails as soon as the table "
                "has a row (existing rows would be NULL)",
            )
        if "generated" in flags:
            self.hit(
                "SM007",
                action,
                f"adds {what} as an identity or stored generated column: PostgreSQL fills it "
                "for every row, rewriting the table and its indexes under an ACCESS EXCLUSIVE "
                "lock",
                hint=_GENERATED_HINT,
            )
        elif "volatile_default" in flags:
            self.hit(
                "SM007",
                action,
                f"adds {what} with a volatile default (evaluated per row): PostgreSQL rewrites "
                "the whole table and its indexes under an ACCESS EXCLUSIVE lock",
            )
        elif "default" in flags and self.version < 11:
            self.hit(
                "SM007",
                action,
                f"adds {what} with a DEFAULT: before PostgreSQL 11 (target: "
                f"{self.version}) this rewrites the whole table under an ACCESS EXCLUSIVE lock",
            )

    def _proven_not_null(self, action: Action) -> bool:
        """A validated CHECK (col IS NOT NULL) on the column: PostgreSQL 12+ skips the scan."""
        if self.version < 12 or not action.table:
            return False
        checks = follow_not_null_checks(self.up[: self.up.index(action)], self.checks)
        table = action.table.lower()
        return any(
            check.validated and check.table == table and check.column in columns
            for check in checks.values()
            for columns in [{column.lower() for column in action.columns}]
        )

    def _set_not_null(self, action: Action) -> None:
        if self.existing(action) and not self._proven_not_null(action):
            how = (
                "the validated CHECK trick avoids the scan"
                if self.version >= 12
                else f"PostgreSQL {self.version} cannot skip the scan"
            )
            self.hit(
                "SM008",
                action,
                f"sets NOT NULL on {_columns(action)} of {_on(action)}: PostgreSQL scans the "
                f"whole table under an ACCESS EXCLUSIVE lock ({how})",
            )

    def _alter_type(self, action: Action) -> None:
        # varchar(n) → longer varchar or text: a catalog change (the lock stays: SM025)
        if self.existing(action) and "no_rewrite" not in action.flags:
            to = f" to {action.value}" if action.value else ""
            if "to_text" in action.flags:
                # the old type is not written here: from a shorter varchar, only the catalog changes
                self.hit(
                    "SM009",
                    action,
                    f"changes the type of {_columns(action)} of {_on(action)}{to}: no rewrite "
                    "if the column was text or a shorter varchar (a catalog change), a rewrite "
                    "under an ACCESS EXCLUSIVE lock from any other type; stager does not see "
                    "the old type here",
                    Risk.LOW,
                )
                return
            self.hit(
                "SM009",
                action,
                f"changes the type of {_columns(action)} of {_on(action)}{to}: most type "
                "changes rewrite the table and its indexes under an ACCESS EXCLUSIVE lock, and "
                "running code may not expect the new type",
            )

    def _create_index(self, action: Action) -> None:
        if "concurrently" in action.flags:
            self._concurrently(action, "CREATE INDEX CONCURRENTLY")
            return
        if not self.existing(action):
            return
        name = f"index {_quote(action.name)} on {_on(action)}"
        if "unique" in action.flags:
            self.hit(
                "SM015",
                action,
                f"builds unique {name} without CONCURRENTLY: writes to the table are blocked "
                "while it builds, and it fails if existing rows hold duplicates",
                hint=_UNIQUE_INDEX_HINT,
            )
        else:
            self.hit(
                "SM010",
                action,
                f"builds {name} without CONCURRENTLY: writes to the table are blocked (SHARE "
                "lock) for the whole build",
            )

    def _drop_index(self, action: Action) -> None:
        if "concurrently" in action.flags:
            self._concurrently(action, "DROP INDEX CONCURRENTLY")
        elif self.existing(action):
            self.hit(
                "SM011",
                action,
                f"drops index {_quote(action.name)} without CONCURRENTLY: takes an ACCESS "
                "EXCLUSIVE lock on its table, queued behind every running query",
            )

    def _concurrently(self, action: Action, what: str) -> None:
        if self.in_transaction(action):
            self.hit(
                "SM012",
                action,
                f"{what} inside the migration's transaction: PostgreSQL refuses it (cannot run "
                "inside a transaction block) and the upgrade fails",
            )

    def _add_foreign_key(self, action: Action) -> None:
        if self.existing(action) and "not_valid" not in action.flags:
            self.hit(
                "SM013",
                action,
                f"adds foreign key {_quote(action.name)} on {_on(action)} without NOT VALID: "
                "PostgreSQL checks every row while it blocks writes to both tables",
            )

    def _add_check(self, action: Action) -> None:
        if "not_valid" in action.flags or not self.existing(action):
            return
        if "domain" in action.flags:
            self.hit(
                "SM014",
                action,
                f"adds constraint {_quote(action.name)} to domain {_quote(action.value)} "
                "without NOT VALID: PostgreSQL checks every column of that domain, in every "
                "table, while it blocks writes to them",
                hint=_DOMAIN_HINT,
            )
            return
        self.hit(
            "SM014",
            action,
            f"adds check constraint {_quote(action.name)} on {_on(action)} without NOT "
            "VALID: PostgreSQL checks every row under an ACCESS EXCLUSIVE lock",
        )

    def _add_unique(self, action: Action) -> None:
        if not self.existing(action) or "using_index" in action.flags:
            return
        if "exclude" in action.flags:
            self.hit(
                "SM015",
                action,
                f"adds exclusion constraint {_quote(action.name)} on {_on(action)}: builds its "
                "index under an ACCESS EXCLUSIVE lock, and fails if existing rows conflict",
                hint=_EXCLUDE_HINT,
            )
            return
        self.hit(
            "SM015",
            action,
            f"adds unique constraint {_quote(action.name)} on {_on(action)}: builds its "
            "index while it blocks the table, and fails if existing rows hold duplicates",
        )

    def _add_primary_key(self, action: Action) -> None:
        if self.existing(action) and "using_index" not in action.flags:
            self.hit(
                "SM016",
                action,
                f"adds a primary key to {_on(action)}: builds a unique index and checks NOT "
                "NULL under an ACCESS EXCLUSIVE lock",
            )

    # -- enums -------------------------------------------------------------------

    def _enum_add_value(self, action: Action) -> None:
        created = action.name is not None and action.name.lower() in self.created_types
        if self.version < 12 and self.in_transaction(action) and not created:
            self.hit(
                "SM018",
                action,
                f"adds value {_quote(action.value)} to enum {_quote(action.name)} inside a "
                f"transaction: PostgreSQL {self.version} refuses it (ALTER TYPE ... ADD cannot "
                "run inside a transaction block before 12)",
            )

    def _enum_rename_value(self, action: Action) -> None:
        self.hit(
            "SM019",
            action,
            f"renames value {_quote(action.old_value)} of enum {_quote(action.name)} to "
            f"{_quote(action.value)}: code that is still running writes the old value and fails",
        )

    def _orphaned(self, drop: Action) -> bool:
        """No column is known to hold the type any more: an earlier step dropped them all."""
        uses = follow_type_uses(self.up[: self.up.index(drop)], self.type_uses)
        key = _type_key(drop.name)
        return key in uses and not uses[key]

    def _drop_type(self, action: Action) -> None:
        if "cascade" in action.flags:
            self.hit(
                "SM002",
                action,
                f"drops type {_quote(action.name)} with CASCADE: PostgreSQL drops every column "
                "of that type, with its data, in every table",
                hint=_CASCADE_HINT,
            )
        elif action.name is None or (
            action.name.lower() not in self.created_types and not self._orphaned(action)
        ):
            self.hit(
                "SM019",
                action,
                f"drops type {_quote(action.name)}: if it is an enum being rebuilt, the values "
                "left out are removed, and code that still writes them fails",
            )

    def _drop_other(self, action: Action) -> None:
        if self._recreated(action):
            return  # DROP VIEW v; CREATE VIEW v AS …: a redefinition, the object stays
        if "cascade" in action.flags:
            what = action.value or "object"
            gone = "every table in it, with their rows" if what == "schema" else "every object "
            if what != "schema":
                gone += "that depends on it (views, foreign keys, columns of its types)"
            self.hit(
                "SM001" if what == "schema" else "SM026",
                action,
                f"drops {what} {_quote(action.name)} with CASCADE: PostgreSQL also drops {gone}",
                Risk.CRITICAL,
                _CASCADE_HINT,
            )
            return
        self.hit(
            "SM026",
            action,
            f"drops {action.value or 'object'} {_quote(action.name)}, which code or other "
            "objects may still use",
        )

    def _recreated(self, drop: Action) -> bool:
        """A later statement of the same upgrade creates the object ``drop`` drops again."""
        if not drop.name:
            return False
        position = self.up.index(drop)
        name = drop.name.lower()
        return any(
            later.verb in (a.OTHER, a.CREATE_TRIGGER)
            and later.value == drop.value
            and (later.name or "").lower() == name
            for later in self.up[position + 1 :]
        )

    def _trigger(self, action: Action) -> None:
        if not self.existing(action):
            return
        trigger = _quote(action.name) if action.name else "every trigger"
        if action.verb == a.CREATE_TRIGGER:
            what = f"creates trigger {trigger} on {_on(action)}"
        else:
            how = "disables" if "disable" in action.flags else "enables"
            what = f"{how} {'trigger ' + trigger if action.name else trigger} on {_on(action)}"
        after = (
            "writes from then on skip it"
            if "disable" in action.flags
            else "from then on its function runs in every write"
        )
        self.hit(
            "SM036",
            action,
            f"{what}: takes a SHARE ROW EXCLUSIVE lock, so every write to the table waits "
            f"behind it, and it waits behind every running transaction; {after}",
        )

    def _detach_partition(self, action: Action) -> None:
        if "concurrently" in action.flags:
            self._concurrently(action, "DETACH PARTITION CONCURRENTLY")
            return
        if self.existing(action):
            self.hit(
                "SM037",
                action,
                f"detaches partition {_quote(action.name)} from {_on(action)} without "
                "CONCURRENTLY: takes an ACCESS EXCLUSIVE lock on the partitioned table, so "
                "every read and write of every partition waits",
            )

    # -- maintenance commands ----------------------------------------------------

    def _vacuum(self, action: Action) -> None:
        if self.in_transaction(action):
            self.hit(
                "SM012",
                action,
                "VACUUM inside the migration's transaction: PostgreSQL refuses it (cannot run "
                "inside a transaction block) and the upgrade fails",
            )
        if "full" in action.flags and self.existing(action):
            self.hit(
                "SM030",
                action,
                f"VACUUM FULL rewrites {_on(action)} and its indexes under an ACCESS EXCLUSIVE "
                "lock: nobody reads or writes it until the copy is done",
            )

    def _cluster(self, action: Action) -> None:
        if self.existing(action):
            self.hit(
                "SM030",
                action,
                f"CLUSTER rewrites {_on(action)} and its indexes in index order under an "
                "ACCESS EXCLUSIVE lock: nobody reads or writes it until the copy is done",
            )

    def _reindex(self, action: Action) -> None:
        if "concurrently" in action.flags:
            self._concurrently(action, "REINDEX CONCURRENTLY")
            return
        if not self.existing(action):
            return
        what = f"{action.value or 'index'} {_quote(action.table or action.name)}"
        self.hit(
            "SM031",
            action,
            f"REINDEX {what} without CONCURRENTLY: blocks writes to the table, and every "
            "query that would use the index waits, for the whole rebuild",
        )

    def _lock_table(self, action: Action) -> None:
        if not self.existing(action) or "blocks_writes" not in action.flags:
            return
        exclusive = "access_exclusive" in action.flags
        self.hit(
            "SM032",
            action,
            f"LOCK TABLE {_on(action)} "
            + (
                "in ACCESS EXCLUSIVE mode: every read and write of the table waits until the "
                "migration's transaction ends"
                if exclusive
                else "in a mode that blocks writes until the migration's transaction ends"
            ),
            None if exclusive else Risk.MEDIUM,
        )

    def _refresh_view(self, action: Action) -> None:
        if "concurrently" not in action.flags:
            self.hit(
                "SM033",
                action,
                f"REFRESH MATERIALIZED VIEW {_quote(action.name)} without CONCURRENTLY: every "
                "read of the view waits (ACCESS EXCLUSIVE) while it is recomputed",
            )

    def _set_persistence(self, action: Action) -> None:
        if not self.existing(action):
            return
        how = action.written.upper()
        what = (
            "SET TABLESPACE copies"
            if "TABLESPACE" in how
            else "SET UNLOGGED rewrites"
            if "UNLOGGED" in how
            else "SET LOGGED rewrites"
        )
        self.hit(
            "SM034",
            action,
            f"{what} {_on(action)} (and its indexes) under an ACCESS EXCLUSIVE lock: nobody "
            "reads or writes it until the copy is done",
        )

    def _validate_constraint(self, action: Action) -> None:
        if not self.in_transaction(action) or not action.name:
            return
        name = action.name.lower()
        for earlier in reversed(self.up[: self.up.index(action)]):
            if earlier.verb in {a.AUTOCOMMIT_BLOCK, a.COMMIT} or earlier.autocommit:
                return  # committed in between: the ADD's lock is gone
            if (
                earlier.verb in {a.ADD_FOREIGN_KEY, a.ADD_CHECK}
                and "not_valid" in earlier.flags
                and (earlier.name or "").lower() == name
            ):
                self.hit(
                    "SM035",
                    action,
                    f"validates {_quote(action.name)} in the transaction that added it NOT "
                    f"VALID (line {earlier.line}): the ADD's lock on {_on(action)} is held for "
                    "the whole scan, so NOT VALID saved nothing",
                )
                return

    # -- data --------------------------------------------------------------------

    def _data(self, action: Action, verb: str) -> None:
        if not self.existing(action):
            return  # a table created above: it holds only what this migration put in it
        rows = f"rows of {_on(action)}" if action.table else "rows"
        if "bounded" in action.flags:
            self.hit(
                "SM020",
                action,
                f"{verb} a few {rows} picked by primary key ({_short(action.written)}): a "
                "bounded data change, short row locks, but still data to reconcile on rollback",
                Risk.MEDIUM,
            )
        elif "batch" in action.flags and action.autocommit:
            self.hit(
                "SM020",
                action,
                f"{verb} one LIMIT batch of {rows}, committed on its own: "
                "each batch holds its row locks only until it commits, but the data still has "
                "to be reconciled on rollback",
                Risk.MEDIUM,
            )
        elif "batch" in action.flags:
            self.hit(
                "SM020",
                action,
                f"{verb} {rows} in LIMIT batches inside the migration's transaction "
                f"({_short(action.written)}): no batch commits before the whole upgrade does, "
                "so row locks and bloat add up as for one UPDATE of every row",
                hint=_BATCH_HINT,
            )
        elif "where" not in action.flags:
            self.hit(
                "SM022",
                action,
                f"{verb} every row of {_on(action)} (no WHERE) in one transaction: long row "
                "locks, table bloat, and nothing to resume from if it fails",
            )
        else:
            self.hit(
                "SM020",
                action,
                f"{verb} {rows} while the application runs ({_short(action.written)}): a "
                "data migration, hard to roll back",
            )

    def _truncate(self, action: Action) -> None:
        self.hit(
            "SM022",
            action,
            f"truncates {_on(action)}: every row is gone, under an ACCESS EXCLUSIVE lock",
            hint="TRUNCATE takes an ACCESS EXCLUSIVE lock and cannot be batched: DELETE ... "
            "WHERE by primary-key ranges, each batch committed (autocommit_block), or truncate "
            "in a maintenance window",
        )

    def _opaque(self, action: Action) -> None:
        if "unparsable" in action.flags:
            why = "PostgreSQL's parser rejects this SQL"
        elif "procedural" in action.flags:
            why = "a DO block or CALL runs procedural code stager cannot read"
        else:
            why = "the SQL is built at run time (variable, f-string, % or .format)"
        self.hit(
            "SM023",
            action,
            f"{why}: stager cannot tell what it does, so it is treated as a data change",
        )

    def _autocommit_block(self, action: Action) -> None:
        if all(x.autocommit or x.verb == a.AUTOCOMMIT_BLOCK for x in self.up):
            return  # alone in its revision: the recommended form, nothing else to commit early
        self.hit(
            "SM027",
            action,
            "autocommit_block commits the transaction so far (with alembic's defaults, every "
            "earlier migration of the same `alembic upgrade`) and runs its statements outside "
            "any transaction: they are not rolled back if a later step fails",
        )

    # -- across the migration ----------------------------------------------------

    def _added_and_dropped(self) -> None:
        added: dict[str, list[str]] = {}
        for action in self.up:
            if action.verb == a.ADD_COLUMN and action.table and self.existing(action):
                added.setdefault(action.table.lower(), []).extend(action.columns)
        tables = [action for action in self.up if action.verb == a.CREATE_TABLE]
        for action in self.up:
            if self._copied_before(action):
                continue  # an UPDATE/INSERT read it first: backfilled, not renamed
            if action.verb == a.DROP_COLUMN and action.table and action.table.lower() in added:
                new = ", ".join(_quote(c) for c in added[action.table.lower()])
                self.hit(
                    "SM003",
                    action,
                    f"adds {new} and drops {_columns(action)} on {_on(action)} in one "
                    "migration: if this is a rename, the data of the dropped column is lost",
                )
            elif action.verb == a.DROP_TABLE and tables and self.existing(action):
                new = ", ".join(_quote(t.table) for t in tables)
                self.hit(
                    "SM003",
                    action,
                    f"creates {new} and drops {_on(action)} in one migration: if this is a "
                    "rename, the data of the dropped table is lost",
                )

    def _copied_before(self, drop: Action) -> bool:
        if drop.verb != a.DROP_COLUMN:
            return False
        dropped = {column.lower() for column in drop.columns}
        return any(
            x.verb in {a.UPDATE, a.INSERT} and dropped & x.reads
            for x in self.up[: self.up.index(drop)]
        )

    def _inserts(self) -> None:
        deleted = {
            action.table.lower() for action in self.down if action.verb == a.DELETE and action.table
        }
        # INSERT ... ON CONFLICT whose rows downgrade() deletes again: the safe form itself
        inserts = [
            action
            for action in self.up
            if action.verb in (a.INSERT, a.COPY)
            and not ("on_conflict" in action.flags and (action.table or "").lower() in deleted)
        ]
        if not inserts:
            return
        tables = ", ".join(dict.fromkeys(_on(action) for action in inserts))
        count = f"{len(inserts)} statements" if len(inserts) > 1 else "1 statement"
        self.hit(
            "SM021",
            inserts[0],
            f"inserts rows into {tables} ({count}): reference data that must not already exist "
            "in any database this runs on",
        )

    def _lock_timeout(self) -> None:
        if self.env.lock_timeout:
            return
        locking: list[Action] = []
        for action in self.up:
            if action.verb == a.SET_LOCK_TIMEOUT and _sets_timeout(action.value):
                break  # the locks from here on wait at most that long
            if self._takes_lock(action):
                locking.append(action)
        if locking:
            names = list(dict.fromkeys(_quote(x.table) for x in locking if x.table))
            plural = "s" if len(names) > 1 else ""
            parts = [f"existing table{plural} {', '.join(names)}"] if names else []
            # DROP INDEX ix names no table: say whose lock it is
            parts += dict.fromkeys(
                f"the table of index {_quote(x.name)}"
                if x.verb == a.REINDEX
                else f"the tables of domain {_quote(x.value)}"
                if "domain" in x.flags
                else f"the table of {x.verb.split('_', 1)[-1]} {_quote(x.name)}"
                for x in locking
                if not x.table
            )
            self.hit(
                "SM025",
                locking[0],
                f"locks {' and '.join(parts)} with no lock_timeout: while it waits behind a "
                "long query, every other query on the table queues behind it",
            )

    def _takes_lock(self, action: Action) -> bool:
        if not self.existing(action):
            return False
        if action.verb in a.LOCKING:
            return True
        if action.verb == a.VACUUM:
            return "full" in action.flags
        return (
            action.verb in {a.CREATE_INDEX, a.DROP_INDEX, a.REINDEX, a.DETACH_PARTITION}
            and "concurrently" not in action.flags
        )


_BY_VERB: dict[str, Callable[[_Checker, Action], None]] = {
    a.DROP_TABLE: _Checker._drop_table,
    a.DROP_COLUMN: _Checker._drop_column,
    a.RENAME_COLUMN: _Checker._rename_column,
    a.RENAME_TABLE: _Checker._rename_table,
    a.ADD_COLUMN: _Checker._add_column,
    a.SET_NOT_NULL: _Checker._set_not_null,
    a.ALTER_TYPE: _Checker._alter_type,
    a.CREATE_INDEX: _Checker._create_index,
    a.DROP_INDEX: _Checker._drop_index,
    a.ADD_FOREIGN_KEY: _Checker._add_foreign_key,
    a.ADD_CHECK: _Checker._add_check,
    a.ADD_UNIQUE: _Checker._add_unique,
    a.ADD_PRIMARY_KEY: _Checker._add_primary_key,
    a.ENUM_ADD_VALUE: _Checker._enum_add_value,
    a.ENUM_RENAME_VALUE: _Checker._enum_rename_value,
    a.DROP_TYPE: _Checker._drop_type,
    a.DROP_OTHER: _Checker._drop_other,
    a.UPDATE: lambda checker, action: checker._data(action, "updates"),
    a.DELETE: lambda checker, action: checker._data(action, "deletes"),
    a.TRUNCATE: _Checker._truncate,
    a.OPAQUE: _Checker._opaque,
    a.AUTOCOMMIT_BLOCK: _Checker._autocommit_block,
    a.VACUUM: _Checker._vacuum,
    a.CLUSTER: _Checker._cluster,
    a.REINDEX: _Checker._reindex,
    a.LOCK_TABLE: _Checker._lock_table,
    a.REFRESH_VIEW: _Checker._refresh_view,
    a.SET_PERSISTENCE: _Checker._set_persistence,
    a.VALIDATE_CONSTRAINT: _Checker._validate_constraint,
    a.CREATE_TRIGGER: _Checker._trigger,
    a.TOGGLE_TRIGGER: _Checker._trigger,
    a.DETACH_PARTITION: _Checker._detach_partition,
}
"""The per-action rules; inserts, add+drop pairs and locks are judged per migration."""

# What downgrade() is checked for: locks, rewrites and what makes it fail. Its
# drops (of tables, columns, indexes), renames and data changes undo upgrade():
# that is what it is for.
_DOWNGRADE_VERBS = frozenset(
    {
        a.ADD_COLUMN,
        a.SET_NOT_NULL,
        a.ALTER_TYPE,
        a.CREATE_INDEX,
        a.ADD_FOREIGN_KEY,
        a.ADD_CHECK,
        a.ADD_UNIQUE,
        a.ADD_PRIMARY_KEY,
        a.ENUM_ADD_VALUE,
        a.VACUUM,
        a.CLUSTER,
        a.REINDEX,
        a.LOCK_TABLE,
        a.REFRESH_VIEW,
        a.SET_PERSISTENCE,
        a.VALIDATE_CONSTRAINT,
    }
)
_DOMAIN_HINT = (
    "ALTER DOMAIN name ADD CONSTRAINT c CHECK (...) NOT VALID (new values are checked at "
    "once), then ALTER DOMAIN name VALIDATE CONSTRAINT c in a later migration"
)
_BATCH_HINT = (
    f"commit each batch: run the loop inside `{AUTOCOMMIT}`, each statement making "
    "progress on its own (WHERE new IS NULL ... LIMIT n), or move the backfill to a script"
)
_FAILS_OUTRIGHT = frozenset({"SM012", "SM018"})
# What an empty downgrade() rightly leaves alone: maintenance that changes no schema,
# session settings, and an enum value, which PostgreSQL cannot remove from its type.
_NOTHING_TO_UNDO = frozenset(
    {
        a.OTHER,
        a.VACUUM,
        a.CLUSTER,
        a.REINDEX,
        a.REFRESH_VIEW,
        a.LOCK_TABLE,
        a.SET_LOCK_TIMEOUT,
        a.AUTOCOMMIT_BLOCK,
        a.COMMIT,
        a.ENUM_ADD_VALUE,
    }
)


def _lower(risk: Risk) -> Risk:
    return Risk(max(Risk.LOW, risk - 1))


def check_actions(
    actions: Sequence[Action],
    env: EnvSettings,
    version: int,
    checks: Mapping[str, NotNullCheck] | None = None,
    type_uses: TypeUses | None = None,
    new_tables: frozenset[str] = frozenset(),
) -> list[Hit]:
    """The per-migration rules on ``actions`` of upgrade() and downgrade(), however written.

    A plain SQL migration file (Flyway, dbmate, golang-migrate, sqitch) gives
    its actions here too: the same rules as an Alembic revision. ``new_tables``:
    tables an earlier revision of the same phase creates (empty when this runs).
    """
    hits = _Checker(
        actions, env, version, checks=checks, type_uses=type_uses, new_tables=new_tables
    ).run()
    hits.extend(_Checker(actions, env, version, DOWNGRADE).run_downgrade())
    return hits


def check_migration(
    migration: MigrationFile,
    env: EnvSettings,
    version: int,
    downgrade: Downgrade | None = None,
    checks: Mapping[str, NotNullCheck] | None = None,
    type_uses: TypeUses | None = None,
    new_tables: frozenset[str] = frozenset(),
) -> list[Hit]:
    """Every rule about one revision file on its own (SM017 needs the upgrade path).

    ``checks``: the CHECK (col IS NOT NULL) constraints earlier migrations left;
    ``type_uses``: the columns they left of each enum type (SM019).
    """
    found = migration_actions(migration)
    hits = check_actions(found, env, version, checks, type_uses, new_tables)
    if downgrade is not None and downgrade.shape != "ok":
        does_something = any(
            action.function == UPGRADE and action.verb not in _NOTHING_TO_UNDO for action in found
        )
        if does_something:
            text = {
                "missing": "has no downgrade()",
                "empty": "has an empty downgrade() (pass)",
                "raises": "has a downgrade() that raises",
            }[downgrade.shape]
            hits.append(
                Hit(
                    "SM024",
                    downgrade.line,
                    # no downgrade: `def upgrade():  # stager: ignore[SM024]` silences it too
                    DOWNGRADE if downgrade.shape != "missing" else UPGRADE,
                    f"{text}: `alembic downgrade` cannot undo it, so rolling back a release "
                    "means restoring a backup",
                )
            )
    return hits


class _Added(NamedTuple):
    migration: MigrationFile | None  # None: the one plain SQL file checked
    action: Action


_ENUM_NAME = re.compile(r"\bname\s*=\s*['\"]([^'\"]+)['\"]")


def _type_key(name: str | None) -> str:
    """``public.Member_Role`` → ``member_role``: how a type is matched across statements."""
    return (name or "").rsplit(".", 1)[-1].strip('"').lower()


def _column_type(action: Action) -> str | None:
    """The enum type a column gets: ``CREATE_ENUM`` with a table, ADD COLUMN/ALTER ... TYPE."""
    if action.verb == a.CREATE_ENUM and action.table:
        return action.name
    if action.verb in {a.ADD_COLUMN, a.ALTER_TYPE} and action.value:
        match = _ENUM_NAME.search(action.value)  # op.alter_column(type_=sa.Enum(name="t"))
        return match.group(1) if match else action.value
    return None


def _sm017_risk(use: Action, tables: set[str] | None) -> Risk | None:
    """The rule's own risk when ``use`` writes a table known to hold the type; lower otherwise.

    A value alone ('owner') may well be an unrelated text column's: unconfirmed
    uses are high when stager knows no table of the type, medium when it knows
    others.
    """
    if use.table and tables and use.table.lower() in tables:
        return None
    return Risk.HIGH if not tables else Risk.MEDIUM


def check_upgrade_path(
    migrations: Iterable[MigrationFile], env: EnvSettings, version: int
) -> list[tuple[MigrationFile, Hit]]:
    """SM017 over revisions in upgrade order: a new enum value used before its commit.

    Transactions follow alembic: one for the whole upgrade, or one per
    migration with ``transaction_per_migration``, none with
    ``transactional_ddl=False``; ``autocommit_block`` (and a literal COMMIT)
    commits what came before it.
    """
    found = _upgrade_path([(m, migration_actions(m)) for m in migrations], env, version)
    return [(migration, hit) for migration, hit in found if migration is not None]


def check_sql_path(actions: Sequence[Action], env: EnvSettings, version: int) -> list[Hit]:
    """SM017 inside one plain SQL migration file: its statements share one transaction."""
    return [hit for _, hit in _upgrade_path([(None, actions)], env, version)]


def _upgrade_path(
    migrations: Sequence[tuple[MigrationFile | None, Sequence[Action]]],
    env: EnvSettings,
    version: int,
) -> list[tuple[MigrationFile | None, Hit]]:
    """SM017 over (migration, its actions) in upgrade order; see :func:`check_upgrade_path`."""
    if not env.transactional_ddl:
        return []
    pending: dict[str, _Added] = {}  # value → where it was added
    created_types: set[str] = set()
    type_tables: dict[str, set[str]] = {}  # enum type → tables with a column of it
    found: list[tuple[MigrationFile | None, Hit]] = []
    for migration, actions in migrations:
        # A database may stand at any earlier revision: only a type created by this
        # same file (and transaction) is sure to be new, so sure to take its values.
        created_types.clear()
        for action in actions:
            if action.function != UPGRADE:
                continue
            column_type = _column_type(action)
            if column_type and action.table:
                type_tables.setdefault(_type_key(column_type), set()).add(action.table.lower())
            if action.verb in {a.AUTOCOMMIT_BLOCK, a.COMMIT}:
                pending.clear()
                created_types.clear()
                continue
            if action.verb == a.CREATE_ENUM:
                created_types.add((action.name or "").lower())
                continue
            if action.verb == a.ENUM_ADD_VALUE and action.value is not None:
                type_name = (action.name or "").lower()
                # Before 12 a type made in the same transaction takes its new values at
                # once; from 12 on PostgreSQL refuses them too (unsafe use of new value).
                if not action.autocommit and (version >= 12 or type_name not in created_types):
                    pending[action.value] = _Added(migration, action)
                continue
            used = [value for value in pending if value in action.literals]
            for value in used:
                added = pending[value]
                tables = type_tables.get(_type_key(added.action.name))
                risk = _sm017_risk(action, tables)
                unsure = (
                    ""
                    if risk is None
                    else f" (if {_on(action)} stores it in a column of that type: no "
                    "migration stager read gives that table a column of the type)"
                )
                where = (
                    "earlier in this migration"
                    if added.migration is migration or added.migration is None
                    else f"by {added.migration.revision} ({added.migration.path}:"
                    f"{added.action.line}) in the same transaction — alembic runs the whole "
                    "upgrade in one transaction unless env.py sets transaction_per_migration"
                )
                message = (
                    f"uses enum value {_quote(value)}, added to {_quote(added.action.name)} "
                    f"{where}: PostgreSQL refuses it (unsafe use of new value) until "
                    f"that transaction commits{unsure}"
                )
                hit = Hit("SM017", action.line, action.function, message, action.end_line, risk)
                found.append((migration, hit))
        if env.transaction_per_migration:
            pending.clear()
            created_types.clear()
    return found
