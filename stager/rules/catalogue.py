"""Every rule id stager reports: SM (migrations), SG (Alembic history), SB (branch), SP (plan).

Ids never change meaning and are never reused: rules.toml ``[rules.ID]``
settings, inline ``# stager: ignore[SM002]`` comments and CI scripts refer to
them. Each rule has a section in docs/rules.md (a test checks it). The code
that reports a rule takes its risk and hint from here; the message is written
where the rule fires, with the table, column, revision or phase at hand.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from stager.findings import Finding
from stager.types import RepoPath, Risk

DEFAULT_POSTGRES_VERSION = 12
"""Target PostgreSQL major version when rules.toml sets no ``[postgres] version``."""

AUTOCOMMIT = "with op.get_context().autocommit_block():"
DOCS = "docs/rules.md"


@dataclass(frozen=True)
class Rule:
    """One rule: ``hint`` names the safe alternative (on the target PostgreSQL version).

    A hint naming what only the finding knows (a ref, a phase) writes it as a
    ``{field}`` listed in ``fields``; :meth:`finding` fills it in.
    """

    id: str
    title: str
    risk: Risk
    hint: str
    # (version, hint): on a target below ``version`` this hint replaces ``hint``.
    older: tuple[tuple[int, str], ...] = ()
    fields: tuple[str, ...] = ()

    def hint_for(self, version: int) -> str:
        for below, text in self.older:
            if version < below:
                return text
        return self.hint

    @property
    def anchor(self) -> str:
        """Where docs/rules.md documents the rule (GitHub's anchor of its heading)."""
        heading = f"{self.id} — {self.title}".lower()
        return f"{DOCS}#" + re.sub(r"[^\w\- ]", "", heading).replace(" ", "-")

    def finding(
        self, path: RepoPath | None, line: int | None, message: str, **fields: str
    ) -> Finding:
        """A finding of this rule, at its default risk, its hint filled with ``fields``."""
        assert set(fields) == set(self.fields), (self.id, sorted(fields))
        hint = self.hint.format(**fields) if self.fields else self.hint
        return Finding(path, line, self.id, self.risk, message, hint)


def _rules(*rules: Rule) -> dict[str, Rule]:
    return {rule.id: rule for rule in rules}


RULES: dict[str, Rule] = _rules(
    # SM: what a revision file's code does to the database (stager lint, stager analyze)
    Rule(
        "SM001",
        "Table dropped",
        Risk.CRITICAL,
        "expand/contract: remove every use of the table from the code and deploy that first; "
        "drop it in a later release, after a backup (renaming it first, e.g. to "
        "<name>_deprecated, flushes out late readers)",
    ),
    Rule(
        "SM002",
        "Column dropped",
        Risk.CRITICAL,
        "expand/contract: stop reading and writing the column (remove it from the SQLAlchemy "
        "model) and deploy that first; drop it in a later release, keeping a copy of the "
        "data if the downgrade must restore it",
    ),
    Rule(
        "SM003",
        "Column or table added and dropped in one migration",
        Risk.HIGH,
        "if this is a rename that autogenerate wrote as drop + add, use "
        "op.alter_column(..., new_column_name=...) or op.rename_table(...) so the data "
        "survives; otherwise move the drop to its own, later migration",
    ),
    Rule(
        "SM004",
        "Column renamed",
        Risk.HIGH,
        "code that is running still uses the old name: add the new column, write both, "
        "backfill, switch reads, and drop the old column in a later release",
    ),
    Rule(
        "SM005",
        "Table renamed",
        Risk.HIGH,
        "code that is running still uses the old name: rename, then create a view with the "
        "old name (CREATE VIEW old AS SELECT * FROM new) until every reader has moved, or "
        "copy through a new table in expand/contract steps",
    ),
    Rule(
        "SM006",
        "NOT NULL column added without a server default",
        Risk.HIGH,
        "give it a constant server_default (cheap from PostgreSQL 11: no rewrite), or add it "
        "nullable, backfill in batches, then enforce NOT NULL through a NOT VALID CHECK "
        "(see SM008)",
        older=(
            (
                11,
                "add it nullable, backfill in batches, then enforce NOT NULL in a later "
                "migration: before PostgreSQL 11 a DEFAULT rewrites the whole table",
            ),
        ),
    ),
    Rule(
        "SM007",
        "Column added with a default that rewrites the table",
        Risk.HIGH,
        "add the column without a default (or with a constant one), set the default for new "
        "rows with op.alter_column(..., server_default=...), and backfill existing rows in "
        "batches",
        older=(
            (
                11,
                "before PostgreSQL 11 every ADD COLUMN ... DEFAULT rewrites the table: add "
                "the column without a default, then SET DEFAULT, then backfill in batches",
            ),
        ),
    ),
    Rule(
        "SM008",
        "SET NOT NULL on an existing column",
        Risk.HIGH,
        "add CHECK (column IS NOT NULL) NOT VALID, VALIDATE CONSTRAINT in a later migration, "
        "then SET NOT NULL (PostgreSQL 12+ proves it from the validated CHECK without "
        "scanning) and drop the CHECK",
        older=(
            (
                12,
                "before PostgreSQL 12, SET NOT NULL always scans the table under an ACCESS "
                "EXCLUSIVE lock: enforce it with CHECK (column IS NOT NULL) NOT VALID + "
                "VALIDATE CONSTRAINT instead, or run it in a maintenance window",
            ),
        ),
    ),
    Rule(
        "SM009",
        "Column type changed",
        Risk.HIGH,
        "add a column of the new type, backfill it in batches, switch the code, and drop the "
        "old column later (varchar(n) → text or a longer varchar needs no rewrite)",
    ),
    Rule(
        "SM010",
        "Index created without CONCURRENTLY",
        Risk.HIGH,
        f"{AUTOCOMMIT} op.create_index(..., postgresql_concurrently=True) — "
        "CREATE INDEX CONCURRENTLY does not block writes",
    ),
    Rule(
        "SM011",
        "Index dropped without CONCURRENTLY",
        Risk.MEDIUM,
        f"{AUTOCOMMIT} op.drop_index(..., postgresql_concurrently=True)",
    ),
    Rule(
        "SM012",
        "CONCURRENTLY inside a transaction",
        Risk.HIGH,
        f"PostgreSQL refuses it in a transaction block: put it in `{AUTOCOMMIT}`",
    ),
    Rule(
        "SM013",
        "Foreign key validated while it locks both tables",
        Risk.HIGH,
        "create it NOT VALID (op.create_foreign_key(..., postgresql_not_valid=True) or "
        "ADD CONSTRAINT ... NOT VALID), then VALIDATE CONSTRAINT in a later migration",
    ),
    Rule(
        "SM014",
        "Check constraint validated while it locks the table",
        Risk.HIGH,
        "create it NOT VALID (op.create_check_constraint(..., postgresql_not_valid=True) or "
        "ADD CONSTRAINT ... NOT VALID), then VALIDATE CONSTRAINT in a later migration",
    ),
    Rule(
        "SM015",
        "Unique constraint or index built on an existing table",
        Risk.HIGH,
        f"build the index first, `{AUTOCOMMIT}` CREATE UNIQUE INDEX CONCURRENTLY, then "
        "ALTER TABLE ... ADD CONSTRAINT name UNIQUE USING INDEX index_name",
    ),
    Rule(
        "SM016",
        "Primary key added to an existing table",
        Risk.HIGH,
        f"`{AUTOCOMMIT}` CREATE UNIQUE INDEX CONCURRENTLY, then ALTER TABLE ... ADD "
        "CONSTRAINT name PRIMARY KEY USING INDEX index_name (make the columns NOT NULL "
        "first, see SM008)",
    ),
    Rule(
        "SM017",
        "New enum value used in the transaction that adds it",
        Risk.CRITICAL,
        f"add the value in `{AUTOCOMMIT}` (it commits at once), or in its own migration with "
        "transaction_per_migration=True in env.py's context.configure()",
    ),
    Rule(
        "SM018",
        "Enum value added inside a transaction (PostgreSQL < 12)",
        Risk.CRITICAL,
        f"put the ALTER TYPE ... ADD VALUE in `{AUTOCOMMIT}`",
    ),
    Rule(
        "SM019",
        "Enum value renamed or removed",
        Risk.HIGH,
        "code that is running still reads and writes the old value: add the new value, move "
        "the rows, switch the code, and remove the old value (rebuild the type) in a later "
        "release",
    ),
    Rule(
        "SM020",
        "Data migration: rows updated or deleted",
        Risk.HIGH,
        "make it idempotent and batch large updates; ship it in its own phase, after the "
        "schema it needs and before the code that relies on it (or move it to a script)",
    ),
    Rule(
        "SM021",
        "Reference data inserted",
        Risk.MEDIUM,
        "make it idempotent (INSERT ... ON CONFLICT DO NOTHING) and give downgrade() the "
        "matching DELETE: some databases may hold these rows already",
    ),
    Rule(
        "SM022",
        "Every row changed: UPDATE or DELETE without WHERE, or TRUNCATE",
        Risk.HIGH,
        "add a WHERE clause, or batch by primary-key ranges, each batch committed "
        "(autocommit_block), so a failure keeps what is done and the row locks stay short",
    ),
    Rule(
        "SM023",
        "Opaque SQL",
        Risk.HIGH,
        "write the SQL as a literal (sa.text('...') with bind parameters for values) so it "
        "can be reviewed and checked, or review it and mark the line # stager: ignore[SM023]",
    ),
    Rule(
        "SM024",
        "Irreversible downgrade",
        Risk.MEDIUM,
        "write a downgrade() that undoes upgrade(), or say in the file why it cannot and "
        "mark it # stager: ignore[SM024]",
    ),
    Rule(
        "SM025",
        "Lock on an existing table without lock_timeout",
        Risk.MEDIUM,
        "start upgrade() with op.execute(\"SET lock_timeout = '5s'\") (and retry on "
        'timeout), or set it for every migration in env.py: connect_args={"options": '
        '"-c lock_timeout=5s"}',
    ),
    Rule(
        "SM026",
        "View, function, trigger or other object dropped",
        Risk.HIGH,
        "code or other objects may still use it: drop it in a later release, once nothing "
        "refers to it",
    ),
    Rule(
        "SM027",
        "Statements outside the migration's transaction (autocommit_block)",
        Risk.LOW,
        "keep the block small and idempotent (IF NOT EXISTS), ideally alone in its own "
        "migration: it commits everything before it and is not rolled back if a later "
        "statement fails",
    ),
    Rule(
        "SM028",
        "Function imported from another module called",
        Risk.HIGH,
        "read the helper and review what it does as part of this migration; better, write "
        "its op.* calls in the revision file itself (a revision should not change when a "
        "shared module does), or mark the line # stager: ignore[SM028] once reviewed",
    ),
    Rule(
        "SM029",
        "Table recreated by batch_alter_table(recreate='always')",
        Risk.HIGH,
        "on PostgreSQL, drop recreate='always' (the default 'auto' runs plain ALTER TABLE "
        "there and recreates only on SQLite), or use op.alter_column and friends directly",
    ),
    Rule(
        "SM030",
        "Table rewritten by VACUUM FULL or CLUSTER",
        Risk.HIGH,
        "do not rewrite a live table in a migration: reclaim space or reorder it online with "
        "pg_repack or pg_squeeze, run by an operator; a plain VACUUM (outside the transaction, "
        f"`{AUTOCOMMIT}`) takes no exclusive lock",
    ),
    Rule(
        "SM031",
        "Index rebuilt without CONCURRENTLY (REINDEX)",
        Risk.HIGH,
        f'`{AUTOCOMMIT}` op.execute("REINDEX INDEX CONCURRENTLY name") — it does not block writes',
        older=(
            (
                12,
                "REINDEX CONCURRENTLY exists only from PostgreSQL 12; before PostgreSQL 12 "
                "build a copy with CREATE INDEX CONCURRENTLY, DROP INDEX CONCURRENTLY the old "
                "one and rename the copy",
            ),
        ),
    ),
    Rule(
        "SM032",
        "LOCK TABLE in a migration",
        Risk.HIGH,
        "drop the LOCK: each ALTER takes the lock it needs, for as short as it can; if the "
        "lock is really needed, set lock_timeout first and keep the rest of the transaction "
        "short",
    ),
    Rule(
        "SM033",
        "Materialized view refreshed without CONCURRENTLY",
        Risk.MEDIUM,
        "REFRESH MATERIALIZED VIEW CONCURRENTLY name (the view needs a unique index on plain "
        "columns): readers keep the old contents while it recomputes",
    ),
    Rule(
        "SM034",
        "Table rewritten by SET LOGGED, SET UNLOGGED or SET TABLESPACE",
        Risk.HIGH,
        "do not change a live table's persistence or tablespace in a migration: copy it online "
        "(pg_repack --tablespace), or create the new table as it should be and move the rows "
        "in batches",
    ),
    Rule(
        "SM035",
        "Constraint validated in the transaction that added it NOT VALID",
        Risk.HIGH,
        "VALIDATE CONSTRAINT in a later migration, or after a commit "
        f"(`{AUTOCOMMIT}`): validation alone takes only a SHARE UPDATE EXCLUSIVE lock, which "
        "lets reads and writes go on",
    ),
    Rule(
        "SM036",
        "Trigger created, enabled or disabled on an existing table",
        Risk.MEDIUM,
        "put it in a migration of its own with a short lock_timeout (SET LOCAL lock_timeout = "
        "'2s') and retry on timeout, so the write lock never queues behind a long query; "
        "keep the trigger's function cheap, it runs in every write",
    ),
    Rule(
        "SM037",
        "Partition detached without CONCURRENTLY",
        Risk.HIGH,
        f'`{AUTOCOMMIT}` op.execute("ALTER TABLE parent DETACH PARTITION part CONCURRENTLY")'
        " — the partitioned table keeps serving reads and writes (SHARE UPDATE EXCLUSIVE)",
        older=(
            (
                14,
                "DETACH PARTITION CONCURRENTLY exists only from PostgreSQL 14; before "
                "PostgreSQL 14 detach in a migration of its own with a short lock_timeout "
                "(SET LOCAL lock_timeout = '2s'), retried, at a quiet hour",
            ),
        ),
    ),
    # SG: what the branch does to the Alembic history (stager analyze)
    Rule(
        "SG001",
        "Several Alembic heads",
        Risk.HIGH,
        "run `alembic merge heads` to join them, or re-chain the first migration of one "
        "branch onto the other head (set its down_revision and Revises: line)",
    ),
    Rule(
        "SG002",
        "Cycle in the revision graph",
        Risk.CRITICAL,
        "fix the down_revision/depends_on of one of these revisions so none of them "
        "requires itself",
    ),
    Rule(
        "SG003",
        "down_revision or depends_on names no revision",
        Risk.HIGH,
        "point it at an existing revision id (a typo, or a revision renamed or deleted "
        "on another branch?) or restore the missing revision",
    ),
    Rule(
        "SG004",
        "Revision id defined by two files",
        Risk.CRITICAL,
        "give one file a new revision id (`alembic revision` makes one) and re-chain "
        "the revisions that pointed at it",
    ),
    Rule(
        "SG005",
        "Revises: line disagrees with down_revision",
        Risk.LOW,
        "make the Revises: line name the down_revision (alembic ignores the docstring; "
        "reviewers read it)",
    ),
    Rule(
        "SG006",
        "Migration already on the merge base edited",
        Risk.HIGH,
        "it may already have run in some database, which will never run it again: "
        "revert the edit and put the change in a new revision",
    ),
    Rule(
        "SG007",
        "Revision file stager cannot read",
        Risk.HIGH,
        "make revision, down_revision, branch_labels and depends_on plain literals and "
        "fix any syntax error: alembic cannot load the file either",
    ),
    Rule(
        "SG008",
        "Base gained revisions: merging gives two heads",
        Risk.HIGH,
        "set down_revision = {onto!r} in {file} (and its Revises: line), or run "
        "`alembic merge heads` after merging",
        fields=("onto", "file"),
    ),
    Rule(
        "SG009",
        "Migration already on the merge base deleted",
        Risk.HIGH,
        "databases that ran it keep its effects and may have it in alembic_version: "
        "restore the file, and undo its effect with a new revision if needed",
    ),
    Rule(
        "SG010",
        "Alembic configuration stager cannot resolve",
        Risk.MEDIUM,
        "fix the Alembic configuration so it names folders of this repository",
    ),
    Rule(
        "SG011",
        "Base branch has several Alembic heads",
        Risk.HIGH,
        'merge them on the base branch first: `alembic merge -m "merge heads" {heads}` '
        "(a merge revision of exactly these heads), then run stager again",
        fields=("heads",),
    ),
    Rule(
        "SG012",
        "Revision file a merged phase gave the base edited on the branch",
        Risk.HIGH,
        "the base's version ({phase}) is what databases ran: restore the file on the branch "
        "(`git checkout {base} -- {file}`) and put the change in a new revision",
        fields=("phase", "base", "file"),
    ),
    # SB: where the branch meets its base (stager analyze)
    Rule(
        "SB001",
        "File changed on the branch and on the base",
        Risk.HIGH,
        "never copy the branch's version over the base: that silently reverts the base's "
        "change; merge {base} into the branch, or split with --onto so git merges both sides",
        fields=("base",),
    ),
    # SP: what the plan cannot honour (stager analyze, stager plan)
    Rule(
        "SP001",
        "Drop needed by the code of its own phase",
        Risk.HIGH,
        "split the migration (expand/contract): keep what the new code needs (expand) in "
        "phase {phase}, and move the drop (contract) to a new migration in a later phase, "
        "once every instance runs the new code",
        fields=("phase",),
    ),
    Rule(
        "SP002",
        "Drop shipped in the last phase with the code that stops using it",
        Risk.HIGH,
        "add a [[phase]] after the last one for contract (drop) migrations, or plan the "
        "code that stops using it earlier, so the drop ships once that code runs everywhere",
    ),
    Rule(
        "SP003",
        "Phase leaves another number of Alembic heads than the base",
        Risk.HIGH,
        "move the migrations that branch or merge into the phase of the revisions they "
        "join, allow re-chaining ([stager] rechain = true), or add a merge revision to the "
        "branch",
    ),
    Rule(
        "SP004",
        "Mixed migration kept whole",
        Risk.HIGH,
        "write the change as add-copy-drop: a migration that adds the new column or table "
        "(expand), the code that writes both and copies the data, then a later migration "
        "that drops the old one (contract); give each downgrade() operation the upgrade "
        "operation it undoes, and each op.execute one statement",
    ),
    Rule(
        "SP005",
        "Dropped but still used",
        Risk.HIGH,
        "remove these uses first, or move the drop to a later phase (expand/contract); "
        "mark a line that only looks like a use # stager: ignore[SP005]",
    ),
    Rule(
        "SP006",
        "Data migration reads what the code still writes",
        Risk.HIGH,
        "move the data migration to phase {phase} (after the code stops writing, before the "
        "drop), or repeat it there, idempotent (WHERE new IS NULL), so it copies the rows "
        "written in between",
        fields=("phase",),
    ),
    Rule(
        "SP007",
        "Versioned SQL migration asked before an earlier version",
        Risk.HIGH,
        "plan the earlier version in the same phase or an earlier one (its category's "
        "[[phase]], or the plan file); stager moved this file later rather than rename it, "
        "since Flyway refuses an earlier version once a later one ran and golang-migrate "
        "skips it",
    ),
)
