"""Rendering a split: JSON (the plan's ``phases[]`` plus the branch keys), markdown, table."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stager.branches.refs import UndoResult
from stager.branches.split_types import BuildStatus, BuiltPhase, Rewrite, SplitResult
from stager.plan.phase import first_few
from stager.render.analysis import phase_to_json
from stager.render.formats import SCHEMA_VERSION, json_text
from stager.render.quoting import one_line, quote_path
from stager.render.templating import render_template

if TYPE_CHECKING:
    from rich.console import Console


def built_to_json(built: BuiltPhase) -> dict[str, Any]:
    """``phase_to_json`` + ``branch``, ``commit``, ``parent``, ``strategy`` and the details."""
    data = phase_to_json(built.phase)
    data.update(
        {
            "branch": built.branch,
            "ref": built.ref,
            "commit": built.commit,
            "parent": built.parent,
            "tree": built.tree,
            "strategy": built.strategy.value,
            "strategy_note": built.strategy_note,
            "status": built.status.value,
            "previous": built.previous,
            "backup": built.backup,
            "prerequisite": built.prerequisite,
            "commits": [
                {
                    "sha": commit.sha,
                    "parent": commit.parent,
                    "subject": commit.subject,
                    "source": commit.source,
                }
                for commit in built.commits
            ],
            "rewrites": [
                {
                    "path": rewrite.path,
                    "revision": rewrite.revision,
                    "original_down_revision": list(rewrite.old_parents),
                    "down_revision": list(rewrite.new_parents),
                    "reason": rewrite.reason,
                }
                for rewrite in built.rewrites
            ],
        }
    )
    return data


def split_to_json(result: SplitResult) -> dict[str, Any]:
    return {
        "base": result.base,
        "head": result.head,
        "merge_base": result.merge_base,
        "start": result.start,
        "onto": result.onto,
        "layout": result.layout.value,
        "dry_run": result.dry_run,
        "phases": [built_to_json(built) for built in result.phases],
        "notes": list(result.notes),
        "schema_version": SCHEMA_VERSION,
    }


def render_split_json(result: SplitResult, *, pretty: bool = True) -> str:
    return json_text(split_to_json(result), pretty=pretty)


def _verb(built: BuiltPhase, dry_run: bool) -> str:
    words = {
        BuildStatus.CREATED: ("would create", "created"),
        # the words of the JSON's status (`updated`), which never changes: one name, one meaning
        BuildStatus.UPDATED: ("would update", "updated"),
        BuildStatus.UNCHANGED: ("unchanged", "unchanged"),
        BuildStatus.REFUSED: ("would refuse (--force)", "refused"),
    }
    return words[built.status][0 if dry_run else 1]


def render_split_markdown(result: SplitResult) -> str:
    """Paste-ready GitHub markdown, from templates/split.md.j2."""
    data = split_to_json(result)
    for phase, built in zip(data["phases"], result.phases, strict=True):
        phase["verb"] = _verb(built, result.dry_run)
        phase["rewritten"] = [
            f"{_done(rewrite)} {rewrite.describe()}" for rewrite in built.rewrites
        ]
    return render_template("split.md.j2", data=data, details=_details(result))


_SHOWN_FILES = 10


def _paths(built: BuiltPhase) -> list[str]:
    """The phase's files, with those stager derived for it (an expand revision is new)."""
    return sorted(
        {planned.path for planned in built.phase.files}
        | {derived.path for derived in built.phase.derived}
    )


def _done(rewrite: Rewrite) -> str:
    """What the split did to the file: wrote it (derived) or gave it another parent."""
    return "wrote" if rewrite.derived else "re-chained"


def _details(result: SplitResult) -> list[str]:
    lines: list[str] = []
    for built in result.phases:
        lines.append(f"phase {built.phase.number}: {built.strategy_note}")
        for rewrite in built.rewrites:
            lines.append(f"phase {built.phase.number}: {_done(rewrite)} {rewrite.describe()}")
        if built.backup:
            lines.append(f"{built.branch}: old tip {built.previous} kept as {built.backup}")
        if built.status is BuildStatus.REFUSED:
            lines.append(
                f"{built.branch}: would refuse: exists at {(built.previous or '')[:12]} and "
                "differs (use --force to replace it, keeping a backup)"
            )
    lines.extend(result.notes)
    return lines


def _phase_lines(built: BuiltPhase) -> list[str]:
    """A phase's commits and files, for the terminal (the files cut short)."""
    lines = [f"{built.phase.number}. {one_line(built.branch)}"]
    lines += [f"    {commit.sha[:10]} {one_line(commit.subject)}" for commit in built.commits] or [
        "    (no new commit)"
    ]
    paths = [quote_path(path) for path in _paths(built)]
    lines.append(f"    files: {first_few(paths, _SHOWN_FILES)}")
    return lines


def render_split_terminal(result: SplitResult, console: Console) -> None:
    """The branches as a table, then the details; no text is read as rich markup."""
    from rich.table import Table
    from rich.text import Text

    title = "Split — dry run, nothing written" if result.dry_run else "Split"
    table = Table(title=title, title_justify="left")
    for column in ("#", "Branch", "Commit", "Strategy", "Files"):
        table.add_column(column, no_wrap=True)
    table.add_column("Status")  # "would refuse: …" wraps rather than squeeze the others
    for built in result.phases:
        table.add_row(
            str(built.phase.number),
            Text(one_line(built.branch)),
            built.commit[:10],
            built.strategy.value,
            str(len(_paths(built))),
            _verb(built, result.dry_run),
        )
    console.print(table)
    for line in _details(result):
        # data (paths, commit subjects), never rich markup: "[slug]" would vanish
        console.print(f"  {one_line(line)}", highlight=False, soft_wrap=True, markup=False)
    for built in result.phases:
        for line in _phase_lines(built):
            console.print(f"  {line}", highlight=False, soft_wrap=True, markup=False)
    if not result.dry_run and any(b.status is not BuildStatus.UNCHANGED for b in result.phases):
        console.print(
            "\nCheck them with `stager verify`; undo with `stager split --undo`.", highlight=False
        )


def render_undo(result: UndoResult) -> str:
    if result.settled is not None:
        return f"Nothing else was undone: {result.settled}.\n"
    if not result.restored:
        return "Nothing to restore: the last split changed no branch that still exists.\n"
    lines = [f"Undid the split of {result.time}:"]
    for item in result.restored:
        if item.now is None:
            lines.append(f"  deleted {item.branch} (the split had created it)")
        else:
            lines.append(f"  {item.branch}: back to {item.now[:12]}")
        if item.kept is not None and item.was is not None:
            lines.append(
                f"    it had moved since the split: its tip {item.was[:12]} is kept under "
                f"{item.kept}"
            )
    for backup in result.removed_backups:
        lines.append(f"  removed backup {backup}")
    return "\n".join(lines) + "\n"
