"""Rendering ``stager status``: a table for people, JSON for scripts (keys: docs/json-output.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stager.branches.stack_state import STALE, PhaseStatus, StackStatus
from stager.render.formats import SCHEMA_VERSION, json_text
from stager.render.quoting import one_line, quote_path

if TYPE_CHECKING:
    from rich.console import Console


def status_to_json(stack: StackStatus) -> dict[str, Any]:
    return {
        "branch": stack.feature,
        "head_ref": stack.head_ref,
        "head": stack.head,
        "base_ref": stack.base_ref,
        "base": stack.base,
        "remote": stack.remote,
        "record": stack.record,
        "layout": stack.layout.value,
        "split_time": stack.split_time,
        "split_head": stack.split_head,
        "monolith_moved": stack.monolith_moved,
        "monolith_unknown": stack.monolith_unknown,
        "new_paths": list(stack.new_paths),
        "github": stack.github,
        "phases": [_phase_to_json(phase) for phase in stack.phases],
        "base_on_remote": stack.base_on_remote,
        "next": {"command": stack.next.command, "why": stack.next.why},
        "notes": list(stack.notes),
        "schema_version": SCHEMA_VERSION,
    }


def _phase_to_json(phase: PhaseStatus) -> dict[str, Any]:
    merged, pull = phase.merged, phase.pull
    return {
        "number": phase.number,
        "name": phase.name,
        "title": phase.title,
        "branch": phase.branch,
        "built": phase.built,
        "local": phase.local,
        "remote": phase.remote,
        "remote_state": phase.remote_state,
        "merged": None
        if merged is None
        else {
            "state": merged.state,
            "how": merged.how,
            "on_base": list(merged.on_base),
            "missing": list(merged.missing),
        },
        "behind_base": phase.behind_base,
        "behind_monolith": list(phase.behind_monolith),
        "foreign_commits": list(phase.foreign),
        "foreign_in_feature": list(phase.foreign_in_feature),
        "cherry_pick": phase.cherry_pick,
        "diverged": phase.diverged,
        "empty": phase.empty,
        "pull_state": phase.pull_state,
        "stale_because": phase.stale_because,
        "pull_request": None
        if pull is None
        else {
            "number": pull.number,
            "url": pull.url,
            "state": pull.state,
            "base": pull.base,
            "head_sha": pull.head_sha,
            "merge_commit": pull.merge_commit or None,
            "draft": pull.draft,
            "review": pull.review,
            "approved_by": list(pull.approved_by),
            "changes_requested_by": list(pull.changes_requested_by),
            "requested": list(pull.requested),
        },
    }


def render_json(stack: StackStatus, *, pretty: bool = True) -> str:
    return json_text(status_to_json(stack), pretty=pretty)


def render_table(stack: StackStatus, console: Console) -> None:
    """One row per phase, then what needs a hand, then the one command to run next."""
    from rich.table import Table

    title = (
        f"stager status: {one_line(stack.feature)} onto {one_line(stack.base_ref)} "
        f"({stack.base[:12]}), split {stack.split_time}"
    )
    table = Table(title=title, title_justify="left")
    for column in ("Phase", "Branch", "Here", f"On {one_line(stack.remote)}", "Git"):
        table.add_column(column, no_wrap=True)
    table.add_column("Pull request")  # its review wraps rather than squeeze the others
    for phase in stack.phases:
        table.add_row(
            str(phase.number),
            one_line(phase.branch),
            phase.local[:12] if phase.local else "—",
            _remote_cell(phase),
            _git_cell(phase, stack),
            _pull_cell(phase),
        )
    console.print(table)
    say = _plain(console)
    say(f"GitHub: {stack.github}")
    if stack.monolith_moved:
        moved = (
            f"{stack.feature} moved since the split ({stack.split_head[:12]} → {stack.head[:12]})"
        )
        if stack.new_paths:
            shown = ", ".join(quote_path(path) for path in stack.new_paths[:5])
            more = len(stack.new_paths) - 5
            moved += f"; in no phase left to merge: {shown}"
            moved += f" and {more} more" if more > 0 else ""
        say(moved)
    for phase in stack.phases:
        if phase.cherry_pick:
            say(
                f"phase {phase.number}: {len(phase.foreign) - len(phase.foreign_in_feature)} "
                f"commit(s) on {one_line(phase.branch)} that stager did not write; to bring "
                f"them into {one_line(stack.feature)}, run on it: {phase.cherry_pick}"
            )
    for note in stack.notes:
        say(f"note: {one_line(note)}")
    if stack.next.command:
        say(f"next: {stack.next.command}  ({one_line(stack.next.why)})")
    else:
        say(f"next: nothing to run — {one_line(stack.next.why)}")


def _plain(console: Console) -> Any:
    def say(line: str) -> None:
        console.print(line, highlight=False, soft_wrap=True, markup=False)

    return say


def _remote_cell(phase: PhaseStatus) -> str:
    if phase.remote is None:
        return "—"
    if phase.remote_state in ("", "same", "remote only"):
        return phase.remote[:12]
    return f"{phase.remote[:12]} ({phase.remote_state})"


def _git_cell(phase: PhaseStatus, stack: StackStatus) -> str:
    if phase.merged is not None:
        text = f"{phase.merged.state} ({phase.merged.how})"
        if phase.merged.missing:
            text += f", {len(phase.merged.missing)} path(s) not on the base"
        return text
    if phase.empty:
        return "empty: nothing on top of its start"
    parts = []
    if phase.diverged:
        parts.append("rewritten outside stager")
    if phase.behind_base:
        parts.append(f"behind {one_line(stack.base_ref)} by {phase.behind_base}")
    if phase.behind_monolith:
        parts.append(f"behind {one_line(stack.feature)}: {len(phase.behind_monolith)} path(s)")
    if phase.foreign:
        parts.append(f"+{len(phase.foreign)} reviewer commit(s)")
    return ", ".join(parts) or "up to date"


def _pull_cell(phase: PhaseStatus) -> str:
    pull = phase.pull
    if pull is None:
        return "none" if phase.pull_state == "none" else "unknown"
    text = f"#{pull.number} {phase.pull_state}"
    if pull.draft and pull.state == "open":
        text += " (draft)"
    if phase.pull_state == STALE and phase.stale_because:
        text += f": {one_line(phase.stale_because)}"
    if pull.state == "merged" and pull.merge_commit:
        text += f" as {pull.merge_commit[:12]}"
    if pull.review:
        who = pull.approved_by if pull.review == "approved" else pull.changes_requested_by
        text += f", {pull.review}" + (f" by {', '.join(who)}" if who else "")
    return text
