"""Which changed files ship in steps, by hunk, and what the earlier step holds.

For each migration the plan splits, a changed file whose diff adds uses of
what the expand revision creates and removes uses of what the contract drops
ships its expand hunks with the expand revision (a ``partial`` derived file:
base plus those hunks) and the rest in its own phase, with head's version.
``[[phase]] hunks`` routes move the hunks they match the same way, split or
not. A file that cannot be split (a hunk mixing both, a hunk that depends on
a later one, a partial Python file that does not compile, a partial model that
maps a column a later phase's migration adds) ships whole in its phase, and the
plan's warnings say why.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, replace

from stager.git.diff import ChangedFile
from stager.migrations.revision_files import Operation
from stager.plan.expand_split import Chosen
from stager.plan.hunks import HunkSplit, Route, Side, WholeFile, names_pattern, split_file
from stager.plan.phase import DerivedFile, DerivedKind, PlannedPartial
from stager.plan.sources import Texts
from stager.types import RepoPath

_ADDS = ("add_column", "create_table")
_DROPS = ("drop_column", "drop_table")


# Why a file's version with some hunks cannot ship in a phase (path, phase, base, text).
EarlyCheck = Callable[[RepoPath, int, str, str], str | None]


@dataclass(frozen=True)
class Partials:
    """The partial files by the phase that ships them, and why other files stay whole."""

    derived: Mapping[int, tuple[DerivedFile, ...]]
    steps: tuple[PlannedPartial, ...]
    warnings: tuple[str, ...]


def _names(operations: Sequence[Operation], kinds: Sequence[str]) -> list[str]:
    """The columns (and tables, when created or dropped whole) the upgrade operations name."""
    found: list[str] = []
    for operation in operations:
        if operation.function != "upgrade" or operation.name not in kinds:
            continue
        if operation.name.endswith("_table") and operation.table:
            found.append(operation.table)
        found.extend(operation.columns if operation.name.endswith("_column") else ())
    return list(dict.fromkeys(found))


def partial_files(
    files: Sequence[ChangedFile],
    texts: Texts,
    final: Mapping[RepoPath, int],
    splits: Sequence[Chosen],
    expand_phases: Mapping[RepoPath, int],
    routes: Sequence[Route],
    migrations: Collection[RepoPath],
    too_early: EarlyCheck,
) -> Partials:
    """Split each changed non-migration file that a split migration or a route concerns.

    ``expand_phases``: each split migration's path → its expand revision's phase.
    ``too_early``: why a version cannot ship in a phase (a model mapping a column
    a later migration adds); such a file ships whole in its own phase.
    """
    derived: dict[int, list[DerivedFile]] = {}
    steps: list[PlannedPartial] = []
    warnings: list[str] = []
    for change in files:
        path = change.path
        base, head = texts.base.get(path), texts.head.get(path)
        if path in migrations or base is None or head is None or path not in final:
            continue
        if "\ufffd" in base or "\ufffd" in head:
            continue  # not UTF-8: read with replacements, a partial text would corrupt it
        late = final[path]
        found = _split_one(path, base, head, late, splits, expand_phases, routes)
        if found is not None and not isinstance(found, WholeFile):
            # Every version shipped before the file's own phase, head's too when a route moved it.
            early = (too_early(path, n, base, text) for n, text in found.texts if n < late)
            found = next((WholeFile(path, why) for why in early if why is not None), found)
        if isinstance(found, WholeFile):
            warnings.append(f"{found.reason}; it ships whole in phase {late}")
        elif found is not None:
            # Every step before the file's own phase; a route may put the last
            # hunk (head's version) in an earlier phase too.
            for phase, text in (step for step in found.texts if step[0] < late):
                step = _step(found, phase, late)
                steps.append(step)
                derived.setdefault(phase, []).append(
                    DerivedFile(
                        path, text.encode("utf-8"), DerivedKind.PARTIAL, path, step.describe()
                    )
                )
    return Partials({k: tuple(v) for k, v in derived.items()}, tuple(steps), tuple(warnings))


def _split_one(
    path: RepoPath,
    base: str,
    head: str,
    late: int,
    splits: Sequence[Chosen],
    expand_phases: Mapping[RepoPath, int],
    routes: Sequence[Route],
) -> HunkSplit | WholeFile | None:
    """The file's split, why it stays whole, or None when nothing asks to split it."""
    expand: list[str] = []
    contract: list[str] = []
    early = late
    for item in splits:
        phase = expand_phases[item.migration.path]
        adds = _names(item.split.expand_operations, _ADDS)
        pattern = names_pattern(_words(adds))
        if phase >= late or pattern is None or not pattern.search(head):
            continue
        early = min(early, phase)
        expand += adds
        contract += _names(item.split.contract_operations, _DROPS)
    # A route can move hunks earlier than the file's phase, never later: the
    # file itself ships head's version in its own phase, so a later route's
    # hunks stay there (and are not taken for expand hunks).
    mine = tuple(
        replace(route, phase=min(route.phase, late)) for route in routes if route.path.match(path)
    )
    routed_early = [route.phase for route in mine if route.phase < late]
    if not expand and not routed_early:
        return None
    if not expand:
        early = min(routed_early)
    found = split_file(
        path,
        base,
        head,
        expand_names=_words(expand),
        contract_names=_words(contract),
        routes=mine,
        early=early,
        late=late,
    )
    if isinstance(found, WholeFile) and not found.worth_saying:
        return None
    return found


def _words(names: Sequence[str]) -> list[re.Pattern[str]]:
    """Each name as a whole word, attribute access included (``summary.credits_offset_a``)."""
    return [re.compile(rf"(?<!\w){re.escape(name)}(?!\w)") for name in dict.fromkeys(names)]


def _step(found: HunkSplit, phase: int, late: int) -> PlannedPartial:
    """What ``phase`` ships of the file: the hunks up to it, what they add, which were routed."""
    shipped = {i for i, number in enumerate(found.phases) if number <= phase}
    sides = [side for side in found.sides if side.hunk in shipped]
    adds = [name for side in sides if side.side is Side.EXPAND for name in side.names]
    return PlannedPartial(
        path=RepoPath(found.path),
        phase=phase,
        file_phase=late,
        hunks=tuple(index + 1 for index in sorted(shipped)),
        hunk_count=len(found.hunks),
        adds=tuple(dict.fromkeys(adds)),
        routed=tuple(side.hunk + 1 for side in sides if side.side is Side.ROUTED),
    )
