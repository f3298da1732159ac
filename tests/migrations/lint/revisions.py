"""Revision files written in tests, and the rule ids stager finds in them."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from pathlib import Path

from stager.findings import Finding
from stager.migrations.lint.engine import file_findings, path_findings
from stager.migrations.lint.envpy import EnvSettings
from stager.migrations.parse import parse_migration
from stager.migrations.revision_files import MigrationFile
from stager.types import RepoPath
from tests.demo.files import ENV_PY, VERSIONS, demo_alembic_files
from tests.migrations.builders import blob_sha

HEADER = '''"""{title}

Revision ID: {revision}
Revises: {down}
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = {revision!r}
down_revision = {down_literal}
branch_labels = None
depends_on = None
{prelude}

def upgrade():
{upgrade}


def downgrade():
{downgrade}
'''

# A downgrade that does something, so SM024 stays out of the way.
UNDO = 'op.drop_table("undo_marker")'


def revision_source(
    upgrade: str,
    downgrade: str = UNDO,
    *,
    revision: str = "a1",
    down: str | None = None,
    prelude: str = "",
    title: str = "test revision",
) -> bytes:
    """A complete revision file; bodies are written flush left."""
    text = HEADER.format(
        title=title,
        revision=revision,
        down=down or "",
        down_literal=repr(down),
        prelude=textwrap.dedent(prelude),
        upgrade=textwrap.indent(textwrap.dedent(upgrade).strip() or "pass", "    "),
        downgrade=textwrap.indent(textwrap.dedent(downgrade).strip() or "pass", "    "),
    )
    return text.encode()


def revision(source: bytes, path: str = "versions/a1.py") -> MigrationFile:
    return parse_migration(RepoPath(path), blob_sha(source), source)


def findings(
    upgrade: str,
    downgrade: str = UNDO,
    *,
    version: int = 14,
    env: EnvSettings | None = None,
    prelude: str = "",
) -> list[Finding]:
    """Per-file findings of a revision with this upgrade() body (real pglast)."""
    source = revision_source(upgrade, downgrade, prelude=prelude)
    return file_findings(revision(source), source, env or EnvSettings(), version)


def rule_ids(upgrade: str, downgrade: str = UNDO, **options: object) -> set[str]:
    return {finding.rule for finding in findings(upgrade, downgrade, **options)}  # type: ignore[arg-type]


def chain(bodies: Sequence[str]) -> list[tuple[MigrationFile, bytes]]:
    """Revisions r0 → r1 → … with these upgrade() bodies, in upgrade order."""
    made: list[tuple[MigrationFile, bytes]] = []
    for index, body in enumerate(bodies):
        source = revision_source(
            body, revision=f"r{index}", down=f"r{index - 1}" if index else None
        )
        made.append((revision(source, f"versions/r{index}.py"), source))
    return made


def path_rule_ids(
    bodies: Sequence[str], *, env: EnvSettings | None = None, version: int = 14
) -> list[tuple[str, str, int | None]]:
    """(rule, path, line) of the upgrade-path findings over a chain of revisions."""
    made = chain(bodies)
    sources = {migration.path: source for migration, source in made}
    found = path_findings(
        [migration for migration, _ in made], env or EnvSettings(), version, sources
    )
    return [(finding.rule, str(finding.path), finding.line) for finding in found]


def line_of(source: bytes, needle: str) -> int:
    """The 1-based line of the first line of ``source`` containing ``needle``."""
    for number, line in enumerate(source.decode().splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in source")


def write_demo(root: Path, env_py: str | None = None) -> Path:
    """The demo's Alembic project (head of the branch) as plain files; returns versions/."""
    (root / VERSIONS).mkdir(parents=True)
    for path, content in demo_alembic_files().items():
        (root / path).write_bytes(content)
    if env_py is not None:
        (root / ENV_PY).write_text(env_py)
    return root / VERSIONS
