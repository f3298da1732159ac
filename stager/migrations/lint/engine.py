"""Running the migration rules: inline ignores, rules.toml settings, findings.

Two entry points share everything below them:

* :func:`lint_paths` — ``stager lint``: files and folders on disk, no git;
* :func:`with_rule_findings` — ``stager analyze``: the branch's added and
  modified revisions, read from git in one batch with their env.py.

A rule is silenced by ``# stager: ignore[SM001]`` (or ``[SM001, SM002]``, or
a bare ``# stager: ignore`` for every rule) on the line it reports, or on the
``def upgrade``/``def downgrade`` line for the whole function; by
``[rules.SM001] enabled = false`` or ``ignore = ["glob", ...]`` in rules.toml;
and ``[rules.SM001] risk = "..."`` changes its risk.
"""

from __future__ import annotations

import ast
import difflib
import io
import re
import tokenize
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import NamedTuple

from stager.findings import Finding
from stager.git.repository import TreeEntry
from stager.migrations.actions import CREATE_TABLE, ENUM_ADD_VALUE, migration_actions
from stager.migrations.compare import MigrationReport
from stager.migrations.lint.checks import (
    DOWNGRADE,
    UPGRADE,
    Downgrade,
    Hit,
    NotNullCheck,
    TypeUses,
    check_migration,
    check_upgrade_path,
    migration_not_null_checks,
    migration_type_uses,
)
from stager.migrations.lint.envpy import EnvSettings, find_env, read_env
from stager.migrations.lint.source_rules import helper_hits, recreate_hits
from stager.migrations.lint.sql_reads import unresolved_sql_hits
from stager.migrations.revision_files import BlobSource, MigrationFile, over_parse_limit
from stager.rules.catalogue import RULES
from stager.rules.settings import Rules, apply_settings
from stager.types import RepoPath, Sha

_IGNORE = re.compile(r"\bstager:\s*ignore\b(?:\[([^\]]*)\])?", re.IGNORECASE)
_MAYBE_IGNORE = re.compile(rb"stager:\s*ignore", re.IGNORECASE)
_DEF = re.compile(rb"^[ \t]*(?:async[ \t]+)?def[ \t]+(upgrade|downgrade)\b", re.MULTILINE)
_ALL = frozenset({"*"})
_UNREADABLE = "SG007"


@dataclass(frozen=True)
class SourceFacts:
    """What the rules need from a revision file's text beyond its operations."""

    ignores: Mapping[int, frozenset[str]] = field(default_factory=dict)  # {"*"}: every rule
    def_lines: Mapping[str, int] = field(default_factory=dict)  # upgrade/downgrade → line
    downgrade: Downgrade | None = None  # None: not looked at, or nothing to undo

    def ignored(self, hit: Hit) -> bool:
        """True when an inline comment silences ``hit``."""
        # a call written over several lines: its comment may follow any of them
        lines = list(range(hit.line, max(hit.line, hit.end_line) + 1))
        if hit.function is not None and hit.function in self.def_lines:
            lines.append(self.def_lines[hit.function])
        for line in lines:
            rules = self.ignores.get(line)
            if rules is not None and ("*" in rules or hit.rule in rules):
                return True
        return False


def _comments(source: bytes) -> Iterator[tuple[int, str]]:
    """(line, text) of each ``#`` comment: never the inside of a string literal."""
    try:
        for token in tokenize.tokenize(io.BytesIO(source).readline):
            if token.type == tokenize.COMMENT:
                yield token.start[0], token.string
    except (tokenize.TokenError, SyntaxError, UnicodeDecodeError):
        return


def _ignores(source: bytes) -> dict[int, frozenset[str]]:
    found: dict[int, frozenset[str]] = {}
    if not _MAYBE_IGNORE.search(source):
        return found  # the usual case: no tokenizing
    for line, comment in _comments(source):
        rules = inline_ignore(comment)
        if rules is not None:
            found[line] = rules
    return found


def inline_ignore(comment: str) -> frozenset[str] | None:
    """The rule ids ``# stager: ignore[...]`` in ``comment`` silences (``{"*"}``: all); None."""
    # anywhere in the comment, after other tools' directives (noqa, type: ignore)
    match = _IGNORE.search(comment)
    if match is None:
        return None
    listed = match.group(1)
    if listed is None:
        return _ALL
    ids = {part.strip().upper() for part in listed.split(",")}
    return frozenset(ids - {""}) or _ALL


def _downgrade(module: ast.Module, fallback_line: int) -> Downgrade:
    for node in module.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == DOWNGRADE:
            body = [
                statement
                for statement in node.body
                if not (
                    isinstance(statement, ast.Pass)
                    or (
                        isinstance(statement, ast.Expr)
                        and isinstance(statement.value, ast.Constant)
                    )
                )
            ]
            if not body:
                return Downgrade("empty", node.lineno)
            if any(isinstance(statement, ast.Raise) for statement in body):
                # ``log.warning(...); raise NotImplementedError``: it always raises
                return Downgrade("raises", node.lineno)
            return Downgrade("ok", node.lineno)
    return Downgrade("missing", fallback_line)


def source_facts(migration: MigrationFile, source: bytes | None) -> SourceFacts:
    """Inline ignores, ``def`` lines and the downgrade's shape; cheap when nothing is there."""
    if source is None:
        return SourceFacts()
    ignores = _ignores(source)
    def_lines = {
        match.group(1).decode(): source.count(b"\n", 0, match.start()) + 1
        for match in _DEF.finditer(source)
    }
    downgrade = None
    if {op.function for op in migration.operations} == {UPGRADE}:
        # Only now is the downgrade worth a parse: it may be missing, empty or raise.
        try:
            module = ast.parse(source)
        except (SyntaxError, ValueError, MemoryError, RecursionError):
            module = None
        if module is not None:
            downgrade = _downgrade(module, migration.revision_line or 1)
    return SourceFacts(ignores, def_lines, downgrade)


def finding_of(path: RepoPath, hit: Hit, version: int) -> Finding:
    rule = RULES[hit.rule]
    return Finding(
        path=path,
        line=hit.line or None,
        rule=hit.rule,
        risk=hit.risk if hit.risk is not None else rule.risk,
        message=hit.message,
        hint=hit.hint if hit.hint is not None else rule.hint_for(version),
    )


def _file_hits(
    migration: MigrationFile,
    source: bytes | None,
    env: EnvSettings,
    version: int,
    checks: Mapping[str, NotNullCheck] | None = None,
    type_uses: TypeUses | None = None,
    new_tables: frozenset[str] = frozenset(),
) -> list[Hit]:
    facts = source_facts(migration, source)
    hits = check_migration(migration, env, version, facts.downgrade, checks, type_uses, new_tables)
    if source is not None:
        hits.extend(helper_hits(source))
        hits.extend(recreate_hits(source))
        hits = unresolved_sql_hits(source, hits)
    return [hit for hit in hits if not facts.ignored(hit)]


def file_findings(
    migration: MigrationFile,
    source: bytes | None,
    env: EnvSettings,
    version: int,
    edit: Edit | None = None,
    checks: Mapping[str, NotNullCheck] | None = None,
    type_uses: TypeUses | None = None,
) -> list[Finding]:
    """The rules about one revision file, minus what its inline comments silence.

    With ``edit`` (a revision the branch modified), only what the edit brought:
    the code that was already there has already run. ``checks``: the CHECK
    (col IS NOT NULL) constraints the migrations before it left (SM008);
    ``type_uses``: the columns they left of each enum type (SM019).
    """
    hits = _file_hits(migration, source, env, version, checks, type_uses)
    if edit is not None:
        hits = [hit for hit in hits if edit.brought(hit)]
    return [finding_of(migration.path, hit, version) for hit in hits]


@dataclass(frozen=True)
class Edit:
    """How the branch changed a revision file that exists on the merge base."""

    lines: frozenset[int]  # head lines the branch wrote
    gaps: frozenset[int]  # head line k: the branch deleted lines between k and k + 1
    before: frozenset[tuple[str, int]]  # (rule, head line) of the base version's hits

    def brought(self, hit: Hit) -> bool:
        """True unless ``hit`` is about code the base already had, reported there already."""
        if not hit.line:
            return True  # about the whole file: nothing to scope
        end = max(hit.line, hit.end_line)
        if any(line in self.lines for line in range(hit.line, end + 1)):
            return True  # the branch wrote (part of) the reported call
        if any(hit.line <= gap < end for gap in self.gaps):
            return True  # ... or deleted something inside it (an argument)
        # An untouched line can still gain a finding through an edit elsewhere
        # (a deleted ``SET lock_timeout``): keep it unless the base had it too.
        return (hit.rule, hit.line) not in self.before


def edit_of(
    previous: MigrationFile,
    before: bytes,
    after: bytes,
    env: EnvSettings,
    version: int,
) -> Edit:
    """The lines the branch changed from ``before`` (merge base) to ``after`` (head)."""

    old = before.decode("utf-8", "replace").splitlines()
    new = after.decode("utf-8", "replace").splitlines()
    lines: set[int] = set()
    gaps: set[int] = set()
    moved: dict[int, int] = {}  # base line → head line, for the lines the edit kept
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            moved.update({i1 + k + 1: j1 + k + 1 for k in range(i2 - i1)})
        elif j1 == j2:
            gaps.add(j1)  # deleted after head line j1 (1-based)
        else:
            lines.update(range(j1 + 1, j2 + 1))
    hits = _file_hits(previous, before, env, version)
    known = frozenset((hit.rule, moved[hit.line]) for hit in hits if hit.line in moved)
    return Edit(frozenset(lines), frozenset(gaps), known)


def path_findings(
    migrations: Sequence[MigrationFile],
    env: EnvSettings,
    version: int,
    sources: Mapping[RepoPath, bytes] | None = None,
) -> list[Finding]:
    """SM017 over ``migrations`` in upgrade order (a branch, or one phase of it)."""
    facts: dict[RepoPath, SourceFacts] = {}
    found: list[Finding] = []
    for migration, hit in check_upgrade_path(migrations, env, version):
        if migration.path not in facts:
            source = (sources or {}).get(migration.path)
            facts[migration.path] = source_facts(migration, source)
        if not facts[migration.path].ignored(hit):
            found.append(finding_of(migration.path, hit, version))
    return found


def unreadable_findings(migration: MigrationFile) -> list[Finding]:
    """SG007 for each problem of a revision file stager (and alembic) cannot read."""
    rule = RULES[_UNREADABLE]
    return [
        rule.finding(migration.path, problem.line or None, problem.message)
        for problem in migration.problems
    ]


class Linted(NamedTuple):
    """Revision files checked together: one Alembic environment's upgrade path."""

    migrations: tuple[MigrationFile, ...]  # in upgrade order
    env: EnvSettings


def lint_migrations(
    groups: Sequence[Linted], sources: Mapping[RepoPath, bytes], version: int
) -> list[Finding]:
    """Per-file rules for every migration, and SM017 along each group's upgrade path."""
    found: list[Finding] = []
    for group in groups:
        checks: dict[str, NotNullCheck] = {}
        uses: TypeUses = {}
        for migration in group.migrations:
            source = sources.get(migration.path)
            found.extend(
                file_findings(migration, source, group.env, version, checks=checks, type_uses=uses)
            )
            checks = migration_not_null_checks(migration, checks)
            uses = migration_type_uses(migration, uses)
        found.extend(path_findings(group.migrations, group.env, version, sources))
    return found


def group_by_env(
    migrations: Iterable[MigrationFile], env_of: Callable[[MigrationFile], EnvSettings]
) -> list[Linted]:
    """Migrations (kept in the order given) grouped by the env.py that runs them."""
    groups: dict[str | None, tuple[EnvSettings, list[MigrationFile]]] = {}
    for migration in migrations:
        env = env_of(migration)
        groups.setdefault(env.path, (env, []))[1].append(migration)
    return [Linted(tuple(items), env) for env, items in groups.values()]


def _read(
    migrations: Sequence[MigrationFile],
    head_tree: Mapping[RepoPath, TreeEntry],
    blobs: BlobSource,
    more: Iterable[Sha] = (),
) -> tuple[dict[RepoPath, bytes], Callable[[MigrationFile], EnvSettings], Mapping[Sha, bytes]]:
    """The revision files' sources, the env.py settings of each, and every blob read.

    One ``read_blobs`` call reads the files, their env.py and ``more``. A file
    over the parse limit counts as unread: its source rules and edit would
    parse or diff it whole (its SG007 says it was not checked).
    """
    env_paths = {m.path: find_env(m.path, lambda path: path in head_tree) for m in migrations}
    wanted: dict[Sha, RepoPath] = {m.blob: m.path for m in migrations}
    for env_path in set(env_paths.values()):
        if env_path is not None:
            wanted[head_tree[RepoPath(env_path)].blob] = RepoPath(env_path)
    data = {
        blob: content
        for blob, content in blobs.read_blobs({*wanted, *more}).items()
        if over_parse_limit(len(content)) is None
    }
    sources = {wanted[blob]: content for blob, content in data.items() if blob in wanted}
    envs = {
        path: read_env(sources.get(RepoPath(path), b""), path) if path else EnvSettings()
        for path in set(env_paths.values())
    }
    return sources, lambda migration: envs[env_paths[migration.path]], data


def env_settings(
    paths: Iterable[RepoPath], head_tree: Mapping[RepoPath, TreeEntry], blobs: BlobSource
) -> dict[RepoPath, EnvSettings]:
    """The settings of the env.py that runs each revision file of ``paths`` (one read)."""
    env_paths = {path: find_env(path, lambda found: found in head_tree) for path in paths}
    wanted = {head_tree[RepoPath(env)].blob: env for env in set(env_paths.values()) if env}
    data = blobs.read_blobs(wanted)
    envs = {env: read_env(data.get(blob, b""), env) for blob, env in wanted.items()}
    return {path: envs[env] if env else EnvSettings() for path, env in env_paths.items()}


def with_rule_findings(
    findings: Sequence[Finding],
    report: MigrationReport,
    head_tree: Mapping[RepoPath, TreeEntry],
    rules: Rules,
    blobs: BlobSource,
) -> list[Finding]:
    """``findings`` plus the migration rules of the branch, with rules.toml settings applied.

    The branch's added revisions are checked one by one and along their
    upgrade order (SM017); its modified ones (already run somewhere: SG006)
    one by one, keeping only what the edit brought (:func:`edit_of`).
    Revision files, the base versions of modified ones and their env.py are
    read in one batch.
    """
    added = [m for m in report.added if m.revision is not None]
    modified = [m for m in report.modified if m.revision is not None]
    if not added and not modified:
        return apply_settings(findings, rules)
    # the merge-base versions of modified revisions: what the edit changed
    previous = {m.path: report.previous[m.path] for m in modified if m.path in report.previous}
    sources, env_of, data = _read(
        [*added, *modified], head_tree, blobs, [m.blob for m in previous.values()]
    )
    version = rules.postgres_version
    rule_findings = lint_migrations(group_by_env(added, env_of), sources, version)
    for migration in modified:
        source = sources.get(migration.path)
        before = previous.get(migration.path)
        edit = None
        if source is not None and before is not None and before.blob in data:
            env = env_of(migration)
            edit = edit_of(before, data[before.blob], source, env, version)
        rule_findings.extend(file_findings(migration, source, env_of(migration), version, edit))
    return apply_settings([*findings, *rule_findings], rules)


class PhaseUpgrade(NamedTuple):
    """One phase's own ``alembic upgrade``: its number and its revision files, in upgrade order."""

    number: int
    paths: tuple[RepoPath, ...]


def with_phase_findings(
    findings: Sequence[Finding],
    phases: Sequence[PhaseUpgrade],
    report: MigrationReport,
    head_tree: Mapping[RepoPath, TreeEntry],
    rules: Rules,
    blobs: BlobSource,
) -> list[Finding]:
    """``findings`` plus SM017 along each phase's own upgrade, in split order.

    What a table made earlier in the same phase's upgrade is spared (an index,
    a constraint, a backfill on it: the table is still empty) is dropped from
    ``findings`` first (:func:`_without_new_table_findings`).

    Each phase is deployed by its own ``alembic upgrade``, with its revisions
    re-chained: a commit (an autocommit_block) that the branch's order puts
    between a new enum value and its use may land in another phase. Files are
    read only when a phase adds an enum value (or a revision touches a table
    an earlier one of its phase creates).
    """

    findings = _without_new_table_findings(findings, phases, report, head_tree, rules, blobs)
    by_path = {m.path: m for m in report.added if m.revision is not None}
    runs = [(phase, [by_path[path] for path in phase.paths if path in by_path]) for phase in phases]
    runs = [
        (phase, migrations)
        for phase, migrations in runs
        if any(action.verb == ENUM_ADD_VALUE for m in migrations for action in migration_actions(m))
    ]
    if len(phases) < 2 or not runs:
        return list(findings)
    sources, env_of, _ = _read([m for _, ms in runs for m in ms], head_tree, blobs)
    seen = {(f.rule, f.path, f.line) for f in findings}
    extra: list[Finding] = []
    for phase, migrations in runs:
        for group in group_by_env(migrations, env_of):
            for finding in path_findings(
                group.migrations, group.env, rules.postgres_version, sources
            ):
                if (finding.rule, finding.path, finding.line) in seen:
                    continue
                seen.add((finding.rule, finding.path, finding.line))
                message = f"{finding.message} — in phase {phase.number}'s own upgrade"
                extra.append(replace(finding, message=message))
    return [*findings, *apply_settings(extra, rules)]


def _without_new_table_findings(
    findings: Sequence[Finding],
    phases: Sequence[PhaseUpgrade],
    report: MigrationReport,
    head_tree: Mapping[RepoPath, TreeEntry],
    rules: Rules,
    blobs: BlobSource,
) -> list[Finding]:
    """``findings`` minus those a table created earlier in the same phase makes moot.

    A phase ships as one ``alembic upgrade``: a table an earlier revision of
    it creates is empty and unused by any release when a later one indexes,
    constrains or fills it, as if the same migration had created it. A table
    created in an earlier phase is live by then, and keeps its findings.
    """
    by_path = {m.path: m for m in report.added if m.revision is not None}
    later: list[tuple[MigrationFile, frozenset[str]]] = []
    for phase in phases:
        created: set[str] = set()
        for path in phase.paths:
            migration = by_path.get(path)
            if migration is None:
                continue
            upgrade = [x for x in migration_actions(migration) if x.function == UPGRADE]
            touched = {x.table.lower() for x in upgrade if x.table and x.verb != CREATE_TABLE}
            if touched & created:
                later.append((migration, frozenset(created)))
            created |= {x.table.lower() for x in upgrade if x.verb == CREATE_TABLE and x.table}
    if not later:
        return list(findings)
    sources, env_of, _ = _read([migration for migration, _ in later], head_tree, blobs)
    version = rules.postgres_version
    moot: set[tuple[RepoPath, str, int | None]] = set()
    for migration, created_before in later:
        source, env = sources.get(migration.path), env_of(migration)
        alone = _file_hits(migration, source, env, version)
        in_phase = _file_hits(migration, source, env, version, new_tables=created_before)
        kept = {(hit.rule, hit.line or None) for hit in in_phase}
        moot |= {
            (migration.path, hit.rule, hit.line or None)
            for hit in alone
            if (hit.rule, hit.line or None) not in kept
        }
    return [f for f in findings if (f.path, f.rule, f.line) not in moot]
