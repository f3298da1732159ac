"""The branch's ETL: scripts that copy the legacy system's records into the new schema.

They run against two live databases during a maintenance window, after the
schema phases and before the contract migration: the "final stage" of the
seed's plan. ``core/`` is their shared package, ``run_all_migrations.py``
the orchestrator.
"""

from __future__ import annotations

ETL = "etl/python_migration"

CORE_INIT = '"""Configuration, connections and helpers shared by every ETL script."""\n'

CORE_CONFIG = '''\
"""Where the legacy (source) and fuel credits (destination) databases are."""

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class EtlConfig:
    source_url: str
    destination_url: str
    batch_size: int = 500
    dry_run: bool = False


def load_config() -> EtlConfig:
    """Read the configuration from the environment; both URLs are required."""
    try:
        source = os.environ["LEGACY_DATABASE_URL"]
        destination = os.environ["FUEL_CREDITS_DATABASE_URL"]
    except KeyError as missing:
        raise SystemExit(f"set {missing.args[0]} before running the ETL") from None
    return EtlConfig(
        source_url=source,
        destination_url=destination,
        batch_size=int(os.environ.get("ETL_BATCH_SIZE", "500")),
        dry_run=os.environ.get("ETL_DRY_RUN") == "1",
    )
'''

CORE_DATABASE = '''\
"""Connections to both databases; the destination commits only when a script succeeds."""

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg2
import psycopg2.extras

from core.config import EtlConfig


@contextmanager
def source_cursor(config: EtlConfig) -> Iterator[psycopg2.extras.RealDictCursor]:
    connection = psycopg2.connect(config.source_url)
    connection.set_session(readonly=True)
    try:
        with connection.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cursor:
            yield cursor
    finally:
        connection.close()


@contextmanager
def destination_cursor(config: EtlConfig) -> Iterator[psycopg2.extras.RealDictCursor]:
    connection = psycopg2.connect(config.destination_url)
    try:
        with connection.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cursor:
            yield cursor
        if config.dry_run:
            connection.rollback()
        else:
            connection.commit()
    except Exception:
        connection.rollback()
        raise
    finally:
        connection.close()
'''

CORE_UTILS = '''\
"""Small helpers: logging and batching."""

import logging
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import TypeVar

T = TypeVar("T")


def setup_logging(name: str) -> logging.Logger:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    return logging.getLogger(name)


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch
'''

MIGRATE_COMPLIANCE_SUMMARIES = '''\
"""Copy the legacy system's compliance summaries into historical_snapshot.

Needs revision 8e2f4a6c8e0a (the historical_snapshot column). Idempotent:
summaries that already have a snapshot are skipped.
"""

import json

from core.config import EtlConfig, load_config
from core.database import destination_cursor, source_cursor
from core.utils import batched, setup_logging

log = setup_logging("compliance_summaries")

LEGACY_QUERY = """
    SELECT cr.report_id, cr.organization_code, cp.description AS period,
           s.offset_a, s.offset_b, s.offset_c, s.penalty_total
    FROM legacy_compliance_report cr
    JOIN legacy_compliance_period cp ON cp.id = cr.period_id
    JOIN legacy_report_summary s ON s.report_id = cr.report_id
    ORDER BY cr.report_id
"""

UPDATE = """
    UPDATE compliance_report_summary crs
    SET historical_snapshot = %(snapshot)s::jsonb
    FROM compliance_report cr
    JOIN organization o ON o.organization_id = cr.organization_id
    JOIN compliance_period cp ON cp.compliance_period_id = cr.compliance_period_id
    WHERE crs.compliance_report_id = cr.compliance_report_id
      AND o.registration_number = %(organization_code)s
      AND cp.description = %(period)s
      AND crs.historical_snapshot IS NULL
"""


def migrate(config: EtlConfig) -> int:
    migrated = 0
    with source_cursor(config) as source, destination_cursor(config) as destination:
        source.execute(LEGACY_QUERY)
        for rows in batched(source, config.batch_size):
            for row in rows:
                snapshot = {
                    "credits_offset_a": row["offset_a"],
                    "credits_offset_b": row["offset_b"],
                    "credits_offset_c": row["offset_c"],
                    "total_payable": str(row["penalty_total"]),
                    "legacy_report_id": row["report_id"],
                }
                destination.execute(
                    UPDATE,
                    {
                        "snapshot": json.dumps(snapshot),
                        "organization_code": row["organization_code"],
                        "period": row["period"],
                    },
                )
                migrated += destination.rowcount
            log.info("%d summaries migrated", migrated)
    return migrated


if __name__ == "__main__":
    migrate(load_config())
'''

MIGRATE_DATA_CLEANUP = '''\
"""Remove legacy records that must not be migrated (test organizations, void reports)."""

from core.config import EtlConfig, load_config
from core.database import destination_cursor
from core.utils import setup_logging

log = setup_logging("data_cleanup")

STATEMENTS = (
    "DELETE FROM fuel_supply WHERE compliance_report_id IN ("
    " SELECT compliance_report_id FROM compliance_report cr"
    " JOIN organization o USING (organization_id) WHERE o.name LIKE 'TEST %%')",
    "DELETE FROM compliance_report_summary WHERE compliance_report_id IN ("
    " SELECT compliance_report_id FROM compliance_report cr"
    " JOIN organization o USING (organization_id) WHERE o.name LIKE 'TEST %%')",
    "DELETE FROM compliance_report WHERE organization_id IN ("
    " SELECT organization_id FROM organization WHERE name LIKE 'TEST %%')",
)


def migrate(config: EtlConfig) -> int:
    removed = 0
    with destination_cursor(config) as destination:
        for statement in STATEMENTS:
            destination.execute(statement)
            removed += destination.rowcount
    log.info("%d legacy test records removed", removed)
    return removed


if __name__ == "__main__":
    migrate(load_config())
'''

MIGRATE_PENALTY_LOGS = '''\
"""Copy the legacy penalty register into penalty_log (needs revision f4e6a8c0b2d4)."""

from core.config import EtlConfig, load_config
from core.database import destination_cursor, source_cursor
from core.utils import batched, setup_logging

log = setup_logging("penalty_logs")

INSERT = """
    INSERT INTO penalty_log
        (organization_id, compliance_period_id, contravention_type, penalty_amount, notes)
    SELECT o.organization_id, cp.compliance_period_id, %(kind)s, %(amount)s, %(notes)s
    FROM organization o, compliance_period cp
    WHERE o.registration_number = %(organization_code)s AND cp.description = %(period)s
"""


def migrate(config: EtlConfig) -> int:
    copied = 0
    with source_cursor(config) as source, destination_cursor(config) as destination:
        source.execute(
            "SELECT organization_code, period, kind, amount, notes FROM legacy_penalty"
        )
        for rows in batched(source, config.batch_size):
            for row in rows:
                destination.execute(INSERT, row)
                copied += destination.rowcount
    log.info("%d penalties copied", copied)
    return copied


if __name__ == "__main__":
    migrate(load_config())
'''

MIGRATE_FUEL_SUPPLY = '''\
"""Copy legacy schedule B (fuel supplied) rows into fuel_supply."""

from core.config import EtlConfig, load_config
from core.database import destination_cursor, source_cursor
from core.utils import batched, setup_logging

log = setup_logging("fuel_supply")

FUEL_NAMES = {"GAS": "Gasoline", "DSL": "Diesel", "RD": "Renewable diesel", "ETH": "Ethanol"}

INSERT = """
    INSERT INTO fuel_supply
        (compliance_report_id, fuel_type_id, quantity, units, carbon_intensity)
    SELECT crs.compliance_report_id, ft.fuel_type_id, %(quantity)s, ft.units, %(ci)s
    FROM compliance_report_summary crs, fuel_type ft
    WHERE crs.historical_snapshot ->> 'legacy_report_id' = %(report_id)s::text
      AND ft.fuel_type = %(fuel_type)s
"""


def migrate(config: EtlConfig) -> int:
    copied = 0
    with source_cursor(config) as source, destination_cursor(config) as destination:
        source.execute("SELECT report_id, fuel_code, quantity, ci FROM legacy_schedule_b")
        for rows in batched(source, config.batch_size):
            for row in rows:
                fuel_type = FUEL_NAMES.get(row["fuel_code"])
                if fuel_type is None:
                    log.warning("report %s: unknown fuel %s", row["report_id"], row["fuel_code"])
                    continue
                destination.execute(INSERT, {**row, "fuel_type": fuel_type})
                copied += destination.rowcount
    log.info("%d fuel supply rows copied", copied)
    return copied


if __name__ == "__main__":
    migrate(load_config())
'''

RUN_ALL_MIGRATIONS = '''\
"""Run every ETL script in dependency order; stop at the first failure.

Run after `alembic upgrade c7a9e1b3d5f7` and before the contract revision
4f6a8c0e2a4c drops the legacy credits_offset columns.
"""

import sys
import time

import migrate_compliance_summaries
import migrate_data_cleanup
import migrate_fuel_supply
import migrate_penalty_logs
from core.config import load_config
from core.utils import setup_logging

log = setup_logging("run_all")

STEPS = (
    ("data cleanup", migrate_data_cleanup.migrate),
    ("compliance summaries", migrate_compliance_summaries.migrate),
    ("penalty logs", migrate_penalty_logs.migrate),
    ("fuel supply", migrate_fuel_supply.migrate),
)


def main() -> int:
    config = load_config()
    for name, step in STEPS:
        started = time.monotonic()
        try:
            count = step(config)
        except Exception:
            log.exception("%s failed; later steps were not run", name)
            return 1
        log.info("%s: %d rows in %.1fs", name, count, time.monotonic() - started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
'''

MAKEFILE = """\
.PHONY: setup dry-run migrate

setup:
\tpython -m pip install -e '../../backend[etl]'

dry-run:
\tETL_DRY_RUN=1 python migrate_compliance_summaries.py

migrate:
\tpython migrate_compliance_summaries.py
"""

MAKEFILE_ALL = """\
.PHONY: setup dry-run migrate

setup:
\tpython -m pip install -e '../../backend[etl]'

dry-run:
\tETL_DRY_RUN=1 python run_all_migrations.py

migrate:
\tpython run_all_migrations.py
"""
