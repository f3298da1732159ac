"""The editable plan file (``stager plan --write stager-plan.toml``) and its loader.

The file lists every changed file under the phase it goes in. People move
lines between phases; ``split`` and ``open-pr`` read it back with
:func:`load_plan_file`, which checks it again: the same head commit, every
changed file exactly once, and every dependency still satisfied (a move that
breaks one is an error naming the edge, never a silent fix).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from stager.git.repository import BranchRefs
from stager.plan.assign import Ask, ask_phases
from stager.plan.phase import Plan, PlanError, first_few
from stager.plan.planner import PlanInputs, assemble
from stager.rules.toml_file import read_toml
from stager.rules.toml_tables import Locator
from stager.types import RepoPath
from stager.wording import count

DEFAULT_PLAN_FILE = "stager-plan.toml"
"""Where ``stager plan --write`` is usually pointed, at the repository root."""

VERSION = 1
_SHOWN = 20


def _string(text: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(text, ensure_ascii=False)


def _comment(text: str) -> str:
    return " ".join(text.split())


def refresh_command(refs: BranchRefs, path: str) -> str:
    return f"stager plan --base {refs.base_ref} --head {refs.head_ref} --write {path}"


def render_plan_file(
    plan: Plan, inputs: PlanInputs, refs: BranchRefs, path: str = DEFAULT_PLAN_FILE
) -> str:
    """The plan as an editable TOML file: every rules phase, every changed file once."""
    lines = [
        f"# stager plan: {refs.head_ref} against {refs.base_ref}, one pull request per phase.",
        "#",
        "# Move a file to another phase by moving its line. `stager split` and",
        "# `stager open-pr` use this file and check it again: a move that puts a file",
        "# before something it needs is an error naming that dependency. Migrations are",
        "# re-chained from the phases you choose: the migration comments below show the",
        "# chain as written now, are informative only, and do not follow your moves",
        "# (`stager split --dry-run` shows the chain for the edited plan).",
        "# A renamed file is one change: it moves with both its paths.",
        "# The plan is for one head commit; when the branch moves on, refresh it:",
        f"#     {refresh_command(refs, path)}",
        "# Keep this file untracked (e.g. list it in .git/info/exclude): committing it",
        "# moves the head, which makes the plan stale, and ships it as a changed file.",
        "",
        f"version = {VERSION}",
        f"head = {_string(refs.head)}",
        f"merge_base = {_string(refs.merge_base)}",
        f"base_ref = {_string(refs.base_ref)}",
        f"head_ref = {_string(refs.head_ref)}",
    ]
    planned = {phase.number: phase for phase in plan.phases}
    for rule in inputs.rules.phases:
        phase = planned.get(rule.number)
        lines += ["", "[[phase]]", f"number = {rule.number}", f"name = {_string(rule.name)}"]
        lines.append(f"# {_comment(rule.title)}")
        if phase is None:
            lines += ["# (no file: this phase is skipped)", "files = []"]
            continue
        window = ", maintenance window" if phase.maintenance_window else ""
        depends = ", ".join(str(n) for n in phase.depends_on) or "none"
        lines.append(f"# risk {phase.risk.label}{window}; depends on phases: {depends}")
        if phase.migrations:
            lines.append("# migrations, in upgrade order (down_revision in the split):")
            for migration in phase.migrations:
                parents = ", ".join(migration.down_revision) or "None"
                was = (
                    f", was {', '.join(migration.original_down_revision) or 'None'}"
                    if migration.rechained
                    else ""
                )
                lines.append(
                    f"#   {migration.revision} {_comment(migration.title)} "
                    f"(down_revision {parents}{was})"
                )
        lines.append("files = [")
        for planned_file in phase.files:
            renamed = f" (renamed from {planned_file.old_path})" if planned_file.old_path else ""
            lines.append(
                f"    {_string(planned_file.path)},  # {_comment(planned_file.reason)}{renamed}"
            )
        lines.append("]")
    body = "\n".join(lines) + "\n"
    note = "(`stager plan --write` replaces this file only while unedited, or with --force)"
    return f"{body}{_DIGEST}{_digest(body)} {note}\n"


_DIGEST = "# stager-digest: "


def _digest(body: str) -> str:
    return hashlib.sha256(body.encode("utf-8")).hexdigest()[:16]


def edited(text: str) -> bool:
    """Whether a plan file was changed since stager wrote it (or was not written by stager)."""
    body, found, last = text.rpartition(_DIGEST)
    if not found or "\n" in last.rstrip("\n"):
        return True
    return last.split(" ", 1)[0].strip() != _digest(body)


def _fail(path: Path, problem: str, fix: str, line: int = 0) -> PlanError:
    """The error at ``FILE:LINE`` (``FILE`` when no line is to blame)."""
    return PlanError(f"{path}:{line}: {problem}" if line else f"{path}: {problem}", fix)


def _shown(value: object) -> str:
    """A value of the file in a message: a plain string as written, anything else as repr
    (so a control character in the file never reaches the terminal raw)."""
    return value if isinstance(value, str) and value.isprintable() else repr(value)


def load_plan_file(path: Path, inputs: PlanInputs, refs: BranchRefs, planned: Plan) -> Plan:
    """Read an edited plan file and check it against the branch (same head, every edge).

    ``planned`` is the rules' plan of the same inputs: its dependencies are checked again.

    PlanError, naming the file, when it was made for another head commit (with
    the command that refreshes it), when it lists a file twice, an unknown
    file, or misses one, or when a move breaks a dependency (naming the edge).
    """
    text, doc = read_toml(
        path,
        str(path),
        what="plan file",
        fix="check the path, or write one with `stager plan --write FILE`",
    )
    refresh = f"refresh it: {refresh_command(refs, str(path))}"
    if not doc:
        fix = f"write the plan into it: {refresh_command(refs, str(path))}"
        raise _fail(path, "empty: not a plan file", fix)
    if "version" not in doc:
        # Someone else's TOML (pyproject.toml?): never suggest writing over it.
        fix = (
            "pass the plan file `stager plan --write` wrote, or write one: "
            f"{refresh_command(refs, DEFAULT_PLAN_FILE)}"
        )
        raise _fail(path, "not a plan file stager wrote (it has no `version`)", fix)
    locator = Locator(text)

    def line(key: str) -> int:
        return locator.find("", None, key, None)

    if doc.get("version") != VERSION:
        raise _fail(
            path, f"unknown plan file version {doc.get('version')!r}", refresh, line("version")
        )
    for key, expected, now in (
        ("head", refs.head, f"{refs.head_ref} is now at"),
        ("merge_base", refs.merge_base, f"{refs.head_ref} and {refs.base_ref} now meet at"),
    ):
        found = doc.get(key)
        if found != expected:
            shown = _shown(found[:12] if isinstance(found, str) else found)
            made_for = key.replace("_", " ")
            raise _fail(
                path, f"made for {made_for} {shown}, but {now} {expected[:12]}", refresh, line(key)
            )
    listed = _listed(path, doc, inputs, refresh, locator)
    rules_asked, _ = ask_phases(
        inputs.files, inputs.classes, inputs.rules, inputs.migrations.by_path
    )
    asked: dict[RepoPath, Ask] = {}
    for change in inputs.files:
        number = listed[change.path]
        ask = rules_asked[change.path]
        if ask.phase != number:
            note = f"listed in phase {number} of {path}"
            ask = Ask(number, f"{ask.reason}; {note}", note)
        asked[change.path] = ask
    plan = assemble(
        inputs, asked, planned.dependencies, planned.warnings, str(path), planned.split_inputs
    )
    if plan.conflicts:
        names = {phase.number: phase.name for phase in inputs.rules.phases}
        shown = "\n".join(f"  - {c.describe(names)}" for c in plan.conflicts[:_SHOWN])
        more = (
            f"\n  … and {len(plan.conflicts) - _SHOWN} more" if len(plan.conflicts) > _SHOWN else ""
        )
        raise _fail(
            path,
            f"{count(len(plan.conflicts), 'file')} planned before what it needs:\n{shown}{more}\n",
            "move each to the phase it needs (or move what it needs earlier)",
        )
    return plan


def _listed(
    path: Path, doc: dict[str, Any], inputs: PlanInputs, refresh: str, locator: Locator
) -> dict[RepoPath, int]:
    """Change path → phase number, from the file's [[phase]] tables."""
    owner = {name: change.path for change in inputs.files for name in change.paths}
    tables = doc.get("phase", [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise _fail(
            path, "expected [[phase]] tables", refresh, locator.find("", None, "phase", None)
        )
    listed: dict[RepoPath, tuple[int, str]] = {}
    for index, table in enumerate(tables):
        number, name, files = table.get("number"), table.get("name"), table.get("files", [])

        def line(key: str, value: str | None = None, index: int = index) -> int:
            return locator.find("phase", index, key, value)

        rule = inputs.rules.phase(number) if isinstance(number, int) else None
        if rule is None or rule.name != name:
            expected = f"'{rule.name}'" if rule is not None else "no phase"
            raise _fail(
                path,
                f"phase {number!r} is named {name!r} here, but the rules have {expected} there",
                f"use the rules' phase numbers and names, or {refresh}",
                line("name"),
            )
        if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
            raise _fail(
                path,
                f"phase {number} ({name}): files must be a list of paths",
                refresh,
                line("files"),
            )
        for entry in files:
            key = owner.get(entry)
            if key is None:
                raise _fail(
                    path,
                    f"{entry!r} (phase {number}) is not a file this branch changes",
                    f"remove the line, or {refresh}",
                    line("files", entry),
                )
            if key in listed:
                first, first_entry = listed[key]
                same = "" if first_entry == entry else f" as {first_entry!r}"
                raise _fail(
                    path,
                    f"{entry!r} is listed twice: in phase {first}{same} and in phase {number}"
                    + (" (a renamed file is one change: both paths ship together)" if same else ""),
                    "keep one line for it",
                    line("files", entry),
                )
            listed[key] = (number, entry)
    missing = [change.path for change in inputs.files if change.path not in listed]
    if missing:
        raise _fail(
            path,
            f"{count(len(missing), 'changed file')} in no phase: {first_few(missing, _SHOWN)}",
            f"add each to a phase's files, or {refresh}",
        )
    return {change: number for change, (number, _) in listed.items()}
