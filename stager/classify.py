"""Every changed file gets a category, a risk, a phase, and the reasons for them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from stager.findings import Finding
from stager.git.diff import ChangedFile
from stager.migrations.revision_files import MigrationFile
from stager.rules.settings import CategoryRule, PhaseRule, Rules
from stager.types import MigrationKind, RepoPath, Risk
from stager.wording import count

OTHER = "other"
SUBMODULE = "submodule"
GITMODULES = ".gitmodules"
# Used only when the rules name no category for a file: unknown files are not
# presumed safe, hence medium.
_BUILTIN_RISK = Risk.MEDIUM
_BUILTIN_TITLES = {SUBMODULE: "Submodules", OTHER: "Other files"}

_KIND_TEXT = {
    MigrationKind.EMPTY: "no operations (empty or merge revision)",
    MigrationKind.ADDITIVE: "additive schema migration",
    MigrationKind.REFERENCE_DATA: "reference data migration",
    MigrationKind.DATA: "data migration",
    MigrationKind.DESTRUCTIVE: "destructive migration",
}


@dataclass(frozen=True)
class FileClass:
    """Where one changed file goes and why; ``phase`` is None when the rules have no phases."""

    path: RepoPath
    category: str
    risk: Risk
    phase: int | None
    reasons: tuple[str, ...]
    raised_by: tuple[str, ...] = ()  # rule ids of the findings that raised the risk


@dataclass(frozen=True)
class CategorySummary:
    """One row of the risk table."""

    category: str
    title: str
    count: int
    risk: Risk
    can_stage_first: str  # "yes", "partial — <reason>" or "no — <reason>"


def classify(
    files: Sequence[ChangedFile],
    rules: Rules,
    migrations: Mapping[RepoPath, MigrationFile],
    findings: Sequence[Finding],
    sql_kinds: Mapping[RepoPath, MigrationKind] | None = None,
) -> list[FileClass]:
    """Classify ``files`` (same order) by the first category whose conditions all hold.

    ``migrations`` holds the revision files of the branch by path; a rename is
    matched on its new path; ``sql_kinds`` the kind of each plain SQL migration
    file (``[migrations] sql``), which ``migration = [...]`` matches as a
    revision's. A file's risk is the highest of its category's and of the
    findings about it.
    """
    by_path: dict[RepoPath, list[Finding]] = defaultdict(list)
    for finding in findings:
        if finding.path is not None:
            by_path[finding.path].append(finding)
    last = rules.phases[-1] if rules.phases else None
    sql = sql_kinds or {}
    return [_classify_one(file, rules, migrations, by_path, last, sql) for file in files]


def _classify_one(
    file: ChangedFile,
    rules: Rules,
    migrations: Mapping[RepoPath, MigrationFile],
    findings: Mapping[RepoPath, list[Finding]],
    last: PhaseRule | None,
    sql_kinds: Mapping[RepoPath, MigrationKind],
) -> FileClass:
    migration = migrations.get(file.path)
    if migration is not None and migration.revision is None:
        migration = None  # a file in a versions folder that is no revision
    kind = migration.kind if migration is not None else sql_kinds.get(file.path)
    reasons: list[str] = []
    for category in rules.categories:
        because = _match(category, file, kind)
        if because is not None:
            name, risk = category.name, category.risk
            reasons.append(f"category {name!r} ({category.location}, {because})")
            break
    else:
        submodule = _submodule(file)
        name, risk = (SUBMODULE if submodule else OTHER), _BUILTIN_RISK
        reasons.append(
            f"submodule change; no category in {rules.source} sets submodule = true"
            if submodule
            else f"no category in {rules.source} matched"
        )
    if migration is not None:
        reasons.append(f"alembic revision {migration.revision}: {_KIND_TEXT[migration.kind]}")
    elif kind is not None:
        reasons.append(f"SQL migration ([migrations] sql): {_KIND_TEXT[kind]}")

    own = sorted(
        {finding for path in file.paths for finding in findings.get(path, ())},
        key=lambda finding: (finding.line or 0, finding.rule),
    )
    category_risk = risk
    raised_by: list[str] = []
    for finding in own:
        if finding.risk > category_risk:
            reasons.append(f"{finding.rule} raised risk to {finding.risk.label}: {finding.message}")
            risk = max(risk, finding.risk)
            raised_by.append(finding.rule)

    phase = rules.phase_of_category(name)
    if phase is None and last is not None:
        phase = last
        reasons.append(
            f"category {name!r} is in no [[phase]] (unassigned → last phase: {last.label})"
        )
    return FileClass(
        path=file.path,
        category=name,
        risk=risk,
        phase=phase.number if phase is not None else None,
        reasons=tuple(reasons),
        raised_by=tuple(dict.fromkeys(raised_by)),
    )


def _submodule(file: ChangedFile) -> bool:
    """A gitlink, or the .gitmodules file that declares the submodules (it moves with them)."""
    return file.submodule or file.path == GITMODULES


def _match(category: CategoryRule, file: ChangedFile, kind: MigrationKind | None) -> str | None:
    """Why ``category`` takes ``file`` ("pattern '…'", …), or None when it does not."""
    # Submodule categories take only submodules, and only they do: a gitlink
    # is no file, whatever its path looks like.
    if category.submodule != _submodule(file):
        return None
    because: list[str] = []
    if category.submodule:
        because.append("submodule change" if file.submodule else "submodule configuration")
    if category.migration:
        if kind is None or kind not in category.migration:
            return None
        because.append(f"migration kind '{kind.value}'")
    if category.paths:
        pattern = category.match_path(file.path)
        if pattern is None:
            return None
        because.append(f"pattern '{pattern.text}'")
    return ", ".join(because)


def summarize(classes: Sequence[FileClass], rules: Rules) -> list[CategorySummary]:
    """The risk table: one row per category with files, in staging order.

    Rows follow the phases (the order the pull requests will merge in), then the
    rules' order within a phase; built-in categories come last.
    """
    by_category: dict[str, list[FileClass]] = defaultdict(list)
    for item in classes:
        by_category[item.category].append(item)
    order = [category.name for category in rules.categories]
    order += [name for name in (SUBMODULE, OTHER) if name not in order]
    phases = [item.phase for item in classes if item.phase is not None]
    first = min(phases) if phases else None
    summaries = []
    for name in order:
        items = by_category.get(name)
        if not items:
            continue
        category = rules.category(name)
        title = category.title if category is not None else _BUILTIN_TITLES[name]
        summaries.append(
            CategorySummary(
                category=name,
                title=title,
                count=len(items),
                risk=max(item.risk for item in items),
                can_stage_first=_can_stage_first(title, items, first, rules),
            )
        )
    earliest = {
        name: min((item.phase for item in items if item.phase is not None), default=10**9)
        for name, items in by_category.items()
    }
    return sorted(summaries, key=lambda summary: earliest[summary.category])  # stable sort


def _can_stage_first(
    title: str, items: Sequence[FileClass], first: int | None, rules: Rules
) -> str:
    """yes / partial / no: can this category's files go in the first pull request?

    Placement only: the risk has a column of its own, and the findings say why.
    """
    later = sorted({item.phase for item in items if item.phase != first and item.phase is not None})
    if not later:
        return "yes"
    waiting = sum(1 for item in items if item.phase != first)
    where = " and ".join(_phase_text(number, rules) for number in later)
    if waiting == len(items):
        return f"no — {_lower(title)} must go in {where}"
    return f"partial — {waiting} of {count(len(items), 'file')} must go in {where}"


def _phase_text(number: int, rules: Rules) -> str:
    phase = rules.phase(number)
    label = phase.label if phase is not None else f"phase {number}"
    return f"the final {label}" if number == len(rules.phases) else label


def _lower(title: str) -> str:
    """'Data migrations' → 'data migrations', but 'ETL and scripts' keeps its acronym."""
    if len(title) > 1 and title[1].isupper():
        return title
    return title[:1].lower() + title[1:]
