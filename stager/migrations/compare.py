"""The migration side of ``stager analyze``: merge base vs head (vs the base's tip).

Reads every tree's config files in one batch and every tree's revision files in
a second one, parses each distinct blob once, builds one graph per tree and
reports what the branch does to the Alembic history as :class:`Finding` s.

Its rules, SG001 to SG011, are in :data:`stager.rules.catalogue.RULES`.

Graph problems that already exist on the merge base are not the branch's doing:
each rule reports them once, labelled, at low risk.
"""

from __future__ import annotations

import ast
import posixpath
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field, replace

from stager.findings import Finding
from stager.git.repository import TreeEntry
from stager.migrations.discovery import config_candidates, discover, migration_entries
from stager.migrations.graph import RevisionGraph
from stager.migrations.parse import parse_migration
from stager.migrations.revision_files import AlembicConfig, BlobSource, MigrationFile
from stager.rules.catalogue import RULES
from stager.types import RepoPath, Revision, Risk, Sha

Tree = Mapping[RepoPath, TreeEntry]


@dataclass(frozen=True)
class MigrationReport:
    """What a branch does to the Alembic history of a repository."""

    configs: tuple[AlembicConfig, ...]  # head's
    versions_dirs: tuple[RepoPath, ...]
    base: RevisionGraph  # the merge base
    head: RevisionGraph
    added: tuple[MigrationFile, ...]  # in head's upgrade order
    modified: tuple[MigrationFile, ...]  # head versions, in head's upgrade order
    deleted: tuple[MigrationFile, ...]  # merge-base versions
    findings: list[Finding]
    by_path: dict[RepoPath, MigrationFile]  # head version; base version for deleted files
    previous: dict[RepoPath, MigrationFile] = field(default_factory=dict)  # modified: base version
    tip: RevisionGraph | None = None  # the base branch's current tip, when it moved on
    # every revision file of the trees, by blob (what a parse cache keeps)
    parsed: dict[Sha, MigrationFile] = field(default_factory=dict)
    # One graph per Alembic environment (keyed by its version locations): a
    # monorepo's services each have their own history, heads and revision ids.
    base_environments: dict[tuple[RepoPath, ...], RevisionGraph] = field(default_factory=dict)
    head_environments: dict[tuple[RepoPath, ...], RevisionGraph] = field(default_factory=dict)

    def environment_graphs(self, *, base: bool = False) -> list[RevisionGraph]:
        """Each environment's graph of the merge base (``base``) or of head."""
        environments = self.base_environments if base else self.head_environments
        return list(environments.values()) or [self.base if base else self.head]

    def revision_count(self, *, base: bool = False) -> int:
        """Revisions of every environment (the same id in two environments counts twice)."""
        return sum(len(graph) for graph in self.environment_graphs(base=base))

    def all_heads(self, *, base: bool = False) -> list[Revision]:
        """Every environment's heads, sorted."""
        return sorted(
            {head for graph in self.environment_graphs(base=base) for head in graph.heads()}
        )

    def change(self, path: RepoPath) -> str | None:
        """``added``, ``modified``, ``deleted`` or None for a migration path."""
        for name, group in (
            ("added", self.added),
            ("modified", self.modified),
            ("deleted", self.deleted),
        ):
            if any(migration.path == path for migration in group):
                return name
        return None


class _Blobs:
    """Remembers what was read, so each side's reads cost one batch for all trees."""

    def __init__(self, source: BlobSource) -> None:
        self.source = source
        self.data: dict[Sha, bytes] = {}

    def prefetch(self, blobs: Iterable[Sha]) -> None:
        missing = [blob for blob in dict.fromkeys(blobs) if blob not in self.data]
        if missing:
            self.data.update(self.source.read_blobs(missing))

    def read_blobs(self, blobs: Iterable[Sha]) -> Mapping[Sha, bytes]:
        wanted = list(blobs)
        self.prefetch(wanted)
        return {blob: self.data[blob] for blob in wanted if blob in self.data}


@dataclass
class _Side:
    """One tree, loaded: its configs, revision files (load order) and graph."""

    configs: list[AlembicConfig]
    files: list[MigrationFile]
    graph: RevisionGraph
    environments: dict[tuple[RepoPath, ...], RevisionGraph]


def _environments(
    configs: list[AlembicConfig], files: list[MigrationFile], graph: RevisionGraph
) -> dict[tuple[RepoPath, ...], RevisionGraph]:
    """One graph per distinct set of version locations (a monorepo may hold several)."""
    keys = list(
        dict.fromkeys(config.version_locations for config in configs if config.version_locations)
    )
    if len(keys) <= 1:
        return {keys[0] if keys else (): graph}
    return {key: RevisionGraph.build(_inside(files, key)) for key in keys}


def _side(
    configs: list[AlembicConfig],
    entries: dict[RepoPath, TreeEntry],
    data: Mapping[Sha, bytes],
    parsed: dict[Sha, MigrationFile],
) -> _Side:
    files: list[MigrationFile] = []
    for path, entry in entries.items():
        migration = parsed.get(entry.blob)
        if migration is None:
            migration = parse_migration(path, entry.blob, data.get(entry.blob, b""))
            parsed[entry.blob] = migration
        elif migration.path != path:
            migration = replace(migration, path=path)
        files.append(migration)
    graph = RevisionGraph.build(files)
    return _Side(configs, files, graph, _environments(configs, files, graph))


def _inside(migrations: Iterable[MigrationFile], key: tuple[RepoPath, ...]) -> list[MigrationFile]:
    """The migrations in the version locations ``key`` (every one when it names none)."""
    prefixes = tuple(f"{location}/" if location else "" for location in key) or ("",)
    return [migration for migration in migrations if migration.path.startswith(prefixes)]


def _restrict(side: _Side, key: tuple[RepoPath, ...]) -> _Side:
    """The part of a side in one environment (the side itself when it has only that one)."""
    if len(side.environments) <= 1 and (key in side.environments or not key):
        return side
    files = _inside(side.files, key)
    graph = side.environments.get(key) or RevisionGraph.build(files)
    return _Side(side.configs, files, graph, {key: graph})


def _finding(rule: str, path: RepoPath | None, line: int, message: str, **fields: str) -> Finding:
    return RULES[rule].finding(path, line or None, message, **fields)


def _problem(
    key: tuple[Hashable, ...], path: RepoPath | None, line: int, message: str
) -> tuple[Hashable, Finding]:
    """A finding of rule ``key[0]``, with the key that says 'the same problem' across trees."""
    return key, _finding(str(key[0]), path, line, message)


def _where(migration: MigrationFile) -> str:
    return f"{migration.revision} ({migration.path})"


def _environment_problems(graph: RevisionGraph) -> list[tuple[Hashable, Finding]]:
    """Cycles, dangling references and duplicate ids of one environment's graph."""
    problems: list[tuple[Hashable, Finding]] = []
    for cycle in graph.cycles():
        first = graph.revision(cycle[0])
        problems.append(
            _problem(
                ("SG002", frozenset(cycle)),
                first.path,
                first.down_revision_line,
                "revisions require each other in a cycle: "
                + " → ".join(_where(graph.revision(revision)) for revision in cycle),
            )
        )
    for dangling in graph.dangling():
        migration = dangling.migration
        problems.append(
            _problem(
                ("SG003", migration.revision, dangling.target, dangling.field),
                migration.path,
                migration.down_revision_line
                if dangling.field == "down_revision"
                else migration.depends_on_line,
                f"{dangling.field} of {migration.revision} names {dangling.target!r}, "
                "which no revision file defines",
            )
        )
    for duplicate in graph.duplicates():
        paths = [migration.path for migration in duplicate.migrations]
        later = duplicate.migrations[-1]
        problems.append(
            _problem(
                ("SG004", duplicate.revision, frozenset(paths)),
                later.path,
                later.revision_line,
                f"revision {duplicate.revision!r} is defined by {len(paths)} files: "
                + " and ".join(paths),
            )
        )
    return problems


def _graph_problems(side: _Side) -> list[tuple[Hashable, Finding]]:
    """Problems of one tree's history, each with a key that says 'the same problem' across trees."""
    problems: list[tuple[Hashable, Finding]] = []
    for environment, sub in side.environments.items():
        heads = sub.heads()
        if len(heads) > 1:
            last = sub.revision(heads[-1])
            problems.append(
                _problem(
                    ("SG001", environment, len(heads)),
                    last.path,
                    last.revision_line,
                    f"{len(heads)} Alembic heads: "
                    + ", ".join(_where(sub.revision(head)) for head in heads)
                    + "; `alembic upgrade head` refuses to run",
                )
            )
    seen: set[Hashable] = set()  # environments may share a versions folder
    for graph in side.environments.values() or [side.graph]:
        for key, finding in _environment_problems(graph):
            if key not in seen:
                seen.add(key)
                problems.append((key, finding))
    for migration in side.files:
        if (
            migration.revision is not None
            and migration.revises is not None
            and set(migration.revises) != set(migration.down_revisions)
        ):
            written = ", ".join(migration.revises) or "(nothing)"
            actual = ", ".join(migration.down_revisions) or "None"
            problems.append(
                _problem(
                    ("SG005", migration.revision, migration.revises, migration.down_revisions),
                    migration.path,
                    migration.down_revision_line,
                    f"docstring of {migration.revision} says Revises: {written} "
                    f"but down_revision is {actual}",
                )
            )
        problems.extend(
            _problem(
                ("SG007", migration.blob, p.line, p.message), migration.path, p.line, p.message
            )
            for p in migration.problems
        )
    problems.extend(
        _problem(("SG010", config.source, p.line, p.message), config.source, p.line, p.message)
        for config in side.configs
        for p in config.problems
    )
    return problems


def _introduced(head: _Side, base: _Side) -> list[Finding]:
    """Head's problems the branch introduced, plus one low-risk note per rule for older ones."""
    base_keys = {key for key, _ in _graph_problems(base)}
    base_heads = {key: len(sub.heads()) for key, sub in base.environments.items()}
    findings: list[Finding] = []
    inherited: dict[str, list[Finding]] = {}
    for key, finding in _graph_problems(head):
        if isinstance(key, tuple) and key[0] == "SG001":
            # Heads are compared by count: the branch adds a head, or it does not.
            _, environment, count = key
            if environment in base_heads:
                before = base_heads[environment]
            else:
                before = next(iter(base_heads.values())) if len(base_heads) == 1 else 1
            pre_existing = count <= before
        else:
            pre_existing = key in base_keys
        if pre_existing:
            inherited.setdefault(finding.rule, []).append(finding)
        else:
            findings.append(finding)
    for rule, group in inherited.items():
        first = group[0]
        more = f" (and {len(group) - 1} more)" if len(group) > 1 else ""
        findings.append(
            Finding(
                path=first.path if len(group) == 1 else None,
                line=first.line if len(group) == 1 else None,
                rule=rule,
                risk=Risk.LOW,
                message=f"already on the merge base, not introduced by this branch: "
                f"{first.location()}: {first.message}{more}",
                hint=RULES[rule].hint + " — on the base branch",
                introduced=False,
            )
        )
    return findings


def _first_changed_line(old: bytes, new: bytes) -> int:
    old_lines, new_lines = old.splitlines(), new.splitlines()
    for number, (before, after) in enumerate(zip(old_lines, new_lines, strict=False), 1):
        if before != after:
            return number
    return min(len(old_lines), len(new_lines)) + 1


@dataclass
class _Changes:
    added: list[MigrationFile] = field(default_factory=list)
    modified: list[MigrationFile] = field(default_factory=list)
    deleted: list[MigrationFile] = field(default_factory=list)
    previous: dict[RepoPath, MigrationFile] = field(default_factory=dict)


def _changes(base: _Side, head: _Side) -> _Changes:
    """Pair head's files with the merge base's by path, then by revision id (moved files)."""
    base_by_path = {migration.path: migration for migration in base.files}
    head_paths = {migration.path for migration in head.files}
    base_by_revision: dict[Revision, MigrationFile] = {}
    for migration in base.files:
        if migration.revision is not None:
            base_by_revision.setdefault(migration.revision, migration)
    changes = _Changes()
    matched: set[RepoPath] = set()
    for migration in head.files:
        old = base_by_path.get(migration.path)
        if old is None and migration.revision is not None:
            moved = base_by_revision.get(migration.revision)
            if moved is not None and moved.path not in head_paths and moved.path not in matched:
                old = moved
        if old is None:
            changes.added.append(migration)
            continue
        matched.add(old.path)
        if old.blob != migration.blob or old.path != migration.path:
            changes.modified.append(migration)
            changes.previous[migration.path] = old
    changes.deleted = [migration for migration in base.files if migration.path not in matched]
    return changes


def _restrict_changes(changes: _Changes, key: tuple[RepoPath, ...]) -> _Changes:
    """The changes inside one environment."""
    return _Changes(
        _inside(changes.added, key),
        _inside(changes.modified, key),
        _inside(changes.deleted, key),
        changes.previous,
    )


def _same_code(old: bytes, new: bytes) -> bool:
    """Whether two sources are one program: they differ in comments or formatting only.

    Alembic runs the code, not the text: an edit that leaves the syntax tree
    alone runs the same everywhere. A docstring is part of the tree; a file
    Python cannot parse is never the same code.
    """
    try:
        return ast.dump(ast.parse(old)) == ast.dump(ast.parse(new))
    except (SyntaxError, ValueError):
        return False


def _cosmetic_edits(paths: list[RepoPath]) -> Finding:
    """One low SG006 for every edit that changes no code, listing the files."""
    finding = _finding(
        "SG006",
        None,
        0,
        f"{len(paths)} revision{'s' if len(paths) != 1 else ''} on the merge base "
        f"{'are' if len(paths) != 1 else 'is'} edited on this branch without a change to "
        f"their code (comments, formatting): {', '.join(sorted(paths))}",
    )
    return replace(
        finding,
        risk=Risk.LOW,
        hint="each file runs the same as before in every database; reverting the edits "
        "keeps the history's files as they were deployed",
    )


def _edits(changes: _Changes, data: Mapping[Sha, bytes]) -> list[Finding]:
    findings: list[Finding] = []
    cosmetic: list[RepoPath] = []
    for migration in changes.modified:
        old = changes.previous[migration.path]
        if old.blob == migration.blob:
            continue  # moved unchanged: nothing runs differently
        before, after = data.get(old.blob, b""), data.get(migration.blob, b"")
        if _same_code(before, after):
            cosmetic.append(migration.path)
            continue
        line = _first_changed_line(before, after)
        moved = f" (moved from {old.path})" if old.path != migration.path else ""
        findings.append(
            _finding(
                "SG006",
                migration.path,
                line,
                f"{migration.revision} exists on the merge base and this branch edits it{moved}",
            )
        )
    if cosmetic:
        findings.append(_cosmetic_edits(cosmetic))
    for migration in changes.deleted:
        findings.append(
            _finding(
                "SG009",
                migration.path,
                migration.revision_line,
                f"{migration.revision} exists on the merge base and this branch deletes it",
            )
        )
    return findings


def _tip_findings(base: _Side, tip: _Side, changes: _Changes) -> list[Finding]:
    """SG008: the base moved on; the branch's migrations would fork its history.

    The branch's own revisions already on the tip (a phase merged, squashed or
    not, maybe re-chained) are neither what the base gained nor still to merge:
    the tip's form of them stays, as ``split`` keeps it.
    """
    own = {migration.revision for migration in changes.added if migration.revision is not None}
    known = own | set(base.graph.files)
    gained = [revision for revision in tip.graph.files if revision not in known]
    pending = [
        migration
        for migration in changes.added
        if migration.revision is None or migration.revision not in tip.graph
    ]
    branch_added = [migration for migration in pending if migration.revision is not None]
    if not gained or not branch_added:
        return []
    merged_by_path = {migration.path: migration for migration in tip.files}
    for migration in changes.deleted:
        merged_by_path.pop(migration.path, None)
    for migration in changes.modified:
        merged_by_path.pop(changes.previous[migration.path].path, None)
        merged_by_path[migration.path] = migration
    for migration in pending:
        merged_by_path[migration.path] = migration
    merged = RevisionGraph.build(merged_by_path.values())
    merged_heads = merged.heads()
    if len(merged_heads) <= len(tip.graph.heads()):
        return []
    tip_heads = [head for head in tip.graph.heads() if head in set(gained)] or list(
        tip.graph.heads()
    )
    # A pending revision on one the tip has (the merge base's, or a merged phase's) starts a line.
    roots = [
        migration
        for migration in branch_added
        if any(parent in base.graph or parent in tip.graph for parent in migration.down_revisions)
    ]
    heads_text = ", ".join(merged_heads)
    gained_text = ", ".join(gained[:5]) + (
        f" and {len(gained) - 5} more" if len(gained) > 5 else ""
    )
    findings: list[Finding] = []
    first: tuple[MigrationFile, list[Revision]] | None = None
    for root in roots or branch_added[:1]:
        if root.revision is None:  # branch_added holds identified revisions only
            continue
        descendants = merged.descendants(root.revision) | {root.revision}
        line_heads = [head for head in merged_heads if head in descendants]
        if first is not None and line_heads and not set(line_heads) & set(first[1]):
            # A second line of the branch's own: re-chaining it onto the base's
            # head too would still leave two heads. It goes after the first line.
            onto = first[1][0]
            target = f"{onto} (the head of the branch's line from {first[0].revision})"
        else:
            onto = next(
                (
                    head
                    for head in tip_heads
                    if any(parent in tip.graph.ancestors(head) for parent in root.down_revisions)
                ),
                tip_heads[0],
            )
            target = f"the base's head {onto}"
        if first is None and line_heads:
            first = (root, line_heads)
        findings.append(
            _finding(
                "SG008",
                root.path,
                root.down_revision_line,
                f"the base branch gained {gained_text} after the merge base; merging this branch "
                f"gives Alembic {len(merged_heads)} heads ({heads_text}): re-chain "
                f"{root.revision} onto {target}",
                onto=onto,
                file=posixpath.basename(root.path),
            )
        )
    return findings


def _tip_heads(base: _Side, tip: _Side) -> list[Finding]:
    """SG011: the base's tip gained an Alembic head (e.g. a phase merged beside its revision).

    No branch goes onto such a base: which head would it revise? Its own
    finding, not SG008's re-chaining advice, since the base must mend it.
    """
    heads, before = tip.graph.heads(), base.graph.heads()
    if len(heads) <= max(len(before), 1):
        return []
    last = tip.graph.revision(heads[-1])
    return [
        _finding(
            "SG011",
            last.path,
            last.revision_line,
            f"the base branch has {len(heads)} Alembic heads "
            f"({', '.join(_where(tip.graph.revision(head)) for head in heads)}) where the merge "
            f"base had {len(before)}: `alembic upgrade head` refuses to run on it, and no branch "
            "can be split onto it until they are merged",
            heads=" ".join(heads),
        )
    ]


def analyze_migrations(
    base_tree: Tree,
    head_tree: Tree,
    tip_tree: Tree | None,
    blobs: BlobSource,
    known: Mapping[Sha, MigrationFile] | None = None,
) -> MigrationReport:
    """Compare the Alembic history of the merge base, the branch head and the base's tip.

    ``known`` holds files parsed before (a cache by blob id): they are neither
    read nor parsed again.

    ``tip_tree`` is None when the base branch has not moved since the merge base.
    Reads blobs in two ``read_blobs`` calls whatever the number of trees.
    """
    trees: list[Tree] = [base_tree, head_tree] + ([tip_tree] if tip_tree is not None else [])
    cache = _Blobs(blobs)
    candidates = [config_candidates(tree) for tree in trees]
    cache.prefetch(entry.blob for found in candidates for entry in found)
    discovered = []
    for tree, found in zip(trees, candidates, strict=True):
        configs = discover(tree, cache, candidates=found)
        discovered.append((configs, migration_entries(configs, tree)))
    parsed = dict(known or {})
    cache.prefetch(
        entry.blob
        for _, entries in discovered
        for entry in entries.values()
        if entry.blob not in parsed
    )
    sides = [_side(configs, entries, cache.data, parsed) for configs, entries in discovered]
    base, head = sides[0], sides[1]
    tip = sides[2] if len(sides) > 2 else None

    changes = _changes(base, head)
    # Both versions of each edited migration, for the line of the first change
    # (files parsed from the cache were not read).
    cache.prefetch(
        blob
        for migration in changes.modified
        for blob in (migration.blob, changes.previous[migration.path].blob)
    )
    findings = _introduced(head, base) + _edits(changes, cache.data)
    if tip is not None:
        # Each environment has its own history: a revision gained by one service
        # never forks another's.
        for key in tip.environments:
            findings += _tip_findings(
                _restrict(base, key), _restrict(tip, key), _restrict_changes(changes, key)
            )
            findings += _tip_heads(_restrict(base, key), _restrict(tip, key))
    findings.sort(key=lambda f: (-f.risk, f.rule, f.path or "", f.line or 0))

    by_path = {migration.path: migration for migration in head.files}
    for migration in changes.deleted:
        by_path.setdefault(migration.path, migration)
    versions_dirs = tuple(
        dict.fromkeys(location for config in head.configs for location in config.version_locations)
    )
    return MigrationReport(
        configs=tuple(head.configs),
        versions_dirs=versions_dirs,
        base=base.graph,
        head=head.graph,
        added=head.graph.in_upgrade_order(changes.added),
        modified=head.graph.in_upgrade_order(changes.modified),
        deleted=base.graph.in_upgrade_order(changes.deleted),
        findings=findings,
        by_path=by_path,
        previous=changes.previous,
        tip=tip.graph if tip is not None else None,
        base_environments=dict(base.environments),
        head_environments=dict(head.environments),
        parsed={
            entry.blob: parsed[entry.blob]
            for _, entries in discovered
            for entry in entries.values()
            if entry.blob in parsed
        },
    )
