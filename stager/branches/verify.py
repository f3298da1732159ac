"""``stager verify``: prove the phase branches are the plan, lose nothing, and run.

Five checks, each reading the branches themselves; only the layout and
where phase 1 starts come from the record of the split of this head
(``refs/stager/record/<branch>``), else from the branches. A clone without the
phase branches but with the record verifies the remote branches that are at
the recorded commits:

(a) **plan** — each branch's diff against its parent is exactly the phase's
    paths with head's blobs; a re-chained migration differs from head's only
    by the rewrite (``relink`` of head's version gives its bytes) and the
    rewrite is recorded in a commit message;
(b) **nothing lost** — stacked: the last tree is head's tree except those
    rewrites; independent: every changed path is in exactly one phase, with
    head's blob; ``--onto``: the last tree is ``git merge-tree --write-tree
    REF HEAD`` except those rewrites (head's revision files that REF already
    has taken as REF has them re-chained);
(c) **alembic** — each phase's revision graph has as many heads as the
    base's, no dangling parent, no cycle, and no parent that differs from the
    previous phase's;
(d) **compiles** — every changed ``.py`` file of the phase compiles, for the
    project's interpreter (``[verify] python``; nothing is imported or run:
    :mod:`stager.branches.compile_check`);
(e) **check** — ``--check CMD`` passes in a temporary worktree of the phase.

With ``--all``, *nothing lost* also checks the history invariant
(:mod:`stager.branches.history_invariant`): at every revision of the feature
branch, the phases built have applied the same operations as the branch; a
revision where they have not is a failure unless split listed it (from the
chains it recorded; without a record, as the plan re-chains).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from stager.analysis import Analysis
from stager.branches.check_command import run_in_worktree
from stager.branches.compile_check import compile_sources
from stager.branches.graph_check import broken_graph
from stager.branches.heads import GraphReader, check_graph, onto_parents, ref_parents
from stager.branches.history_invariant import (
    divergences,
    feature_history,
    graph_history,
    history_warning,
    planned_divergences,
)
from stager.branches.record import SplitRecord, built_record, recorded_chains
from stager.branches.split_invariant import split_problems
from stager.branches.split_types import BROKEN, CONTRACT, DERIVED_TRAILER, Layout, parse_trailer
from stager.branches.targets import assign_paths, derived_source, path_entries, rechains
from stager.errors import StagerError
from stager.git.history import commit_messages, diff_entries, first_parent_history, is_ancestor
from stager.git.refs import list_refs, read_refs
from stager.git.repository import Repository, TreeEntry
from stager.git.write import SUBMODULE_OR_LINK, MergeOutcome, Writer, object_type
from stager.migrations.graph import RevisionGraph
from stager.migrations.rechain_file import RelinkError, relink
from stager.plan.phase import Phase
from stager.plan.sql_order import VersionsShipped
from stager.rules.sections import branch_name
from stager.types import Announce, RepoPath, Revision, Sha, unannounced

PLAN, LOSSLESS, ALEMBIC, COMPILES, CHECK = "plan", "nothing lost", "alembic", "compiles", "check"
_TAIL = 20
_SHOWN = 10

Node = tuple[str, Sha]


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    details: tuple[str, ...] = ()
    skipped: bool = False  # not run (no --check, or the branch is missing)


@dataclass(frozen=True)
class PhaseVerification:
    phase: Phase
    branch: str
    commit: Sha | None  # None: the branch does not exist
    parent: Sha | None
    checks: tuple[CheckResult, ...]

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)


@dataclass(frozen=True)
class Verification:
    head: Sha
    merge_base: Sha
    start: Sha
    onto: str | None
    layout: Layout
    phases: tuple[PhaseVerification, ...]
    lossless: CheckResult

    @property
    def ok(self) -> bool:
        return self.lossless.ok and all(phase.ok for phase in self.phases)


@dataclass(frozen=True)
class _Layout:
    layout: Layout
    start: Sha
    onto: str | None


def _recorded(
    repo: Repository, analysis: Analysis, branches: Mapping[int, str]
) -> SplitRecord | None:
    """The record of the split of this head, when its branches are the plan's."""
    found = built_record(repo, analysis.refs.head_ref, analysis.refs.head)
    record = found.record if found is not None else None
    if record is None or any(
        branches.get(phase.number, phase.branch) != phase.branch for phase in record.phases
    ):
        return None
    return record


def _layout(
    repo: Repository, analysis: Analysis, tips: Mapping[int, Sha], record: SplitRecord | None
) -> _Layout:
    """The recorded layout and start, else read from the branches."""
    if record is not None:
        return _Layout(record.layout, record.start, record.onto)
    ordered = [tips[number] for number in sorted(tips)]
    stacked = all(is_ancestor(repo, before, after) for before, after in itertools.pairwise(ordered))
    return _Layout(
        Layout.STACKED if stacked or len(ordered) < 2 else Layout.INDEPENDENT,
        analysis.refs.merge_base,
        None,
    )


def _shown(lines: Sequence[str]) -> tuple[str, ...]:
    if len(lines) <= _SHOWN:
        return tuple(lines)
    return (*lines[:_SHOWN], f"… and {len(lines) - _SHOWN} more")


class _Verifier:
    def __init__(
        self,
        repo: Repository,
        writer: Writer,
        analysis: Analysis,
        phases: Sequence[Phase],
        layout: _Layout,
        record: SplitRecord | None = None,
    ) -> None:
        self.repo = repo
        self.record = record
        self.writer = writer
        self.analysis = analysis
        self.phases = phases
        self.layout = layout
        self.taken = assign_paths(analysis.files, phases)
        self.head_nodes: dict[RepoPath, Node | None] = {
            path: path_entries(path, changed)[1]
            for changed in analysis.files
            for path in changed.paths
        }
        self.base_graph = analysis.migrations.base
        mapping: dict[Revision, Revision] = {}
        self.base_renames: dict[RepoPath, RepoPath] = {}
        # --onto: each changed path's node in the merge of REF and head (None: conflicts)
        self.onto_nodes: dict[RepoPath, Node | None] | None = None
        # --onto: what REF merges (head, or head with REF's versions of merged revisions)
        self.onto_head = analysis.refs.head
        if layout.onto is not None:
            self.base_graph = GraphReader(repo, analysis.migrations.parsed).graph(
                repo.list_tree(layout.start)
            )
            mapping = onto_parents(
                analysis.migrations.base, self.base_graph, layout.onto, analysis.migrations.head
            )
            for changed in repo.changed_files(analysis.refs.merge_base, layout.start):
                if changed.old_path:
                    self.base_renames[changed.old_path] = changed.path
        self.rechained = {
            item.path: item.parents
            for item in rechains(
                phases,
                analysis.migrations,
                mapping,
                ref_parents(self.base_graph) if layout.onto is not None else None,
            )
        }
        # Files stager derived (issue 12), by phase, as split writes them; and the version
        # the last phase must hold (a later phase's replaces an earlier one's).
        self.derived: dict[int, dict[RepoPath, bytes]] = {
            phase.number: {item.path: derived_source(phase, item) for item in phase.derived}
            for phase in phases
        }
        self.final_derived: dict[RepoPath, bytes] = {}
        for phase in phases:
            self.final_derived.update(self.derived[phase.number])
            for path in phase.paths:  # head's version again, in a later phase
                if path not in self.derived[phase.number]:
                    self.final_derived.pop(path, None)
        self.graphs = GraphReader(repo, analysis.migrations.parsed)
        self._head_tree: dict[RepoPath, TreeEntry] | None = None  # read when needed
        self.merged: MergeOutcome | None = None  # --onto: the merge of REF and head
        if layout.onto is not None:
            self.onto_head = self._merged_head(layout.start)
            self.merged = merged = writer.merge_tree(layout.start, self.onto_head)
            if not merged.conflicts:
                self.onto_nodes = {
                    path: new
                    for path, (_, new) in diff_entries(
                        repo, layout.start, merged.tree, env=writer.env
                    ).items()
                }

    def _merged_head(self, ref: Sha) -> Sha:
        """Head as --onto REF merges it: a revision REF already has in its re-chained form.

        Once a phase merged, REF has the branch's revision files as that phase
        re-chained them; head's own versions would conflict with them (add/add).
        The commit is written into the verification's throw-away quarantine.
        """
        head = self.analysis.refs.head
        files = self.base_graph.files
        entries: list[tuple[RepoPath, str, Sha]] = []
        for path, parents in self.rechained.items():
            current = self.analysis.migrations.by_path.get(path)
            node = self.head_nodes.get(path)
            if current is None or current.revision not in files or node is None:
                continue
            try:
                source = relink(self.writer.read_blob(node[1]), parents).source
            except RelinkError:
                continue  # left as head has it: the merge shows the difference
            entries.append((path, node[0], self.writer.add_object("blob", source)))
        # A revision file a merged phase settled (left out of the branch's files): REF's
        # version is the branch's now, whatever head's says (a merged contract part).
        changed = {path for item in self.analysis.files for path in item.paths}
        for path, current in self.analysis.migrations.by_path.items():
            node = self.head_nodes.get(path) or self._head_entry(path)
            theirs = files.get(current.revision) if current.revision is not None else None
            if path in changed or node is None or theirs is None or theirs.path != path:
                continue
            if theirs.blob != node[1]:
                entries.append((path, node[0], theirs.blob))
        if not entries:
            return head
        self.writer.flush()
        with self.writer.temporary_index() as index:
            index.read_tree(self.writer.tree_of(head))
            index.update_entries(entries)
            tree = index.write_tree()
        who = "stager <stager@localhost> 0 +0000"
        text = (
            f"tree {tree}\nparent {head}\nauthor {who}\ncommitter {who}\n\n"
            f"head, as {ref} merges it\n"
        )
        commit = self.writer.add_object("commit", text.encode())
        self.writer.flush()
        return commit

    def _head_entry(self, path: RepoPath) -> Node | None:
        """Head's entry of a path the branch's changed files do not list (a settled one)."""
        if self._head_tree is None:
            self._head_tree = self.repo.list_tree(self.analysis.refs.head)
        entry = self._head_tree.get(path)
        return (entry.mode, entry.blob) if entry is not None else None

    # -- (a) plan ----------------------------------------------------------------

    def derived_mismatch(self, path: RepoPath, found: Node | None, expected: bytes) -> list[str]:
        """[] when ``found`` holds exactly the bytes split derives for ``path``, else why not."""
        if found is None or self.writer.read_blob(found[1]) != expected:
            return [f"{path}: differs from the file stager derives for it (expand/contract)"]
        return []

    def mismatch(
        self, path: RepoPath, found: Node | None, wanted: Node | tuple[()] | None, problem: str
    ) -> list[str]:
        """[] when ``found`` is ``wanted`` or exactly its planned re-chaining, else why not."""
        if not (path in self.rechained and found and wanted):
            return [] if found == wanted else [problem]
        parents = self.rechained[path]
        try:
            expected = relink(self.writer.read_blob(wanted[1]), parents).source
        except RelinkError as error:
            return [f"{path}: cannot re-chain head's version: {error}"]
        if self.writer.read_blob(found[1]) != expected:
            return [
                f"{path}: differs from head's version by more than the re-chaining "
                f"(down_revision → {', '.join(parents) or 'None'})"
            ]
        return []

    def plan_check(
        self,
        phase: Phase,
        parent: Sha,
        tip: Sha,
        diff: Mapping[RepoPath, tuple[Node | None, Node | None]],
    ) -> CheckResult:
        problems: list[str] = []
        if not is_ancestor(self.repo, parent, tip):
            problems.append(f"does not start from {parent[:12]}")
        own = set(self.taken[phase.number])
        onto = self.layout.onto
        allowed, wanted_nodes, what = own, self.head_nodes, "head"
        if onto is not None:
            # With --onto a path of the phase holds the merge of REF's and head's versions
            # (a rename on REF moves it): the merge of REF and HEAD has exactly that.
            allowed = own | {self.base_renames[path] for path in own if path in self.base_renames}
            wanted_nodes, what = self.onto_nodes or {}, f"the merge of {onto} and head"
        derived = self.derived[phase.number]
        for path in sorted(set(diff) - allowed - set(derived)):
            problems.append(f"{path}: changed, but not in this phase")
        for path, expected in sorted(derived.items()):
            problems += self.derived_mismatch(
                path, diff[path][1] if path in diff else None, expected
            )
        allowed = allowed - set(derived)
        if onto is None or self.onto_nodes is not None:
            for path in sorted((allowed & set(wanted_nodes)) - set(diff)):
                problems.append(f"{path}: in this phase, but not changed")
            for path in sorted(allowed & set(diff)):
                found = diff[path][1]
                if path not in wanted_nodes:
                    problems.append(f"{path}: changed, but {what} keeps {onto}'s version")
                    continue
                wanted = wanted_nodes[path]
                problems += self.mismatch(
                    path, found, wanted, f"{path}: {_node(found)} where {what} has {_node(wanted)}"
                )
        lines = [
            line.strip()
            for message in commit_messages(self.repo, parent, tip)
            for line in message.splitlines()
        ]
        recorded = {parsed[0] for line in lines if (parsed := parse_trailer(line)) is not None}
        written = {line.split(" ", 2)[-1] for line in lines if line.startswith(DERIVED_TRAILER)}
        for path in sorted(set(derived) & set(diff) - written):
            problems.append(f"{path}: written by stager, but no commit message records it")
        for migration in phase.migrations:
            if onto is not None and migration.path not in diff:
                continue  # already on REF as it is: no commit of this phase re-chains it
            if migration.path in self.rechained and migration.revision not in recorded:
                problems.append(
                    f"{migration.revision}: re-chained, but no commit message records it"
                )
        return CheckResult(PLAN, not problems, _shown(problems))

    # -- (b) nothing lost --------------------------------------------------------

    def kept_paths(self) -> frozenset[RepoPath]:
        """The paths the record's kept commits change (a reviewer's, replayed by sync)."""
        kept = [k.commit for p in (self.record.phases if self.record else ()) for k in p.kept]
        return frozenset(
            change.path
            for sha in kept
            for commit in first_parent_history(self.repo, Sha(f"{sha}^"), sha)
            for change in commit.changes
        )

    def lossless_stacked(self, last: Sha, expected: Sha, what: str) -> CheckResult:
        """``last``'s tree equals ``expected`` except the planned re-chainings."""
        problems: list[str] = []
        kept = self.kept_paths()
        recorded = {
            rewrite.path: rewrite.new_blob
            for phase in (self.record.phases if self.record else ())
            for rewrite in phase.rewrites
            if rewrite.reason == CONTRACT
        }
        for path, (want, found) in sorted(
            diff_entries(self.repo, expected, last, env=self.writer.env).items()
        ):
            if path in kept:
                continue  # a commit someone pushed to a phase branch, which sync kept
            if found is not None and recorded.get(path) == found[1]:
                continue  # the contract part split built, whose expand part is merged
            if path in self.final_derived:
                problems += self.derived_mismatch(path, found, self.final_derived[path])
                continue
            problems += self.mismatch(
                path,
                found,
                want,
                f"{path}: {_node(found)} in the last phase, {_node(want)} in {what}",
            )
        problems += split_problems(
            self.phases,
            self.analysis.migrations,
            lambda path: self.repo.read_path(last, path),
        )
        return CheckResult(LOSSLESS, not problems, _shown(problems))

    def lossless_independent(
        self,
        diffs: Mapping[int, Mapping[RepoPath, tuple[Node | None, Node | None]]],
        expected: Mapping[RepoPath, Node | None] | None = None,
        what: str = "head",
    ) -> CheckResult:
        """Every changed path in exactly one phase, with head's blob (or its planned rewrite).

        ``expected``: what the phases must add up to, by path (default: head's
        changes; with --onto, the merge of REF and head against REF).
        """
        wanted_nodes = self.head_nodes if expected is None else expected
        owners: dict[RepoPath, list[int]] = {}
        for number, diff in diffs.items():
            for path in diff:
                owners.setdefault(path, []).append(number)
        problems: list[str] = []
        for path, numbers in sorted(owners.items()):
            if len(numbers) > 1:
                problems.append(f"{path}: changed in phases {', '.join(map(str, numbers))}")
                continue
            found, wanted = diffs[numbers[0]][path][1], wanted_nodes.get(path, ())
            problems += self.mismatch(
                path, found, wanted, f"{path}: {_node(found)} in phase {numbers[0]}, {what} differs"
            )
        problems += [
            f"{path}: changed on the branch, in no phase branch"
            for path in sorted(set(wanted_nodes) - set(owners))
        ]
        return CheckResult(LOSSLESS, not problems, _shown(problems))

    def history(self, lossless: CheckResult, tree: Mapping[RepoPath, TreeEntry]) -> CheckResult:
        """``lossless`` with the history invariant of the phases' combined ``tree`` added."""
        report = self.analysis.migrations
        base = report.base.files
        built = graph_history(self.graphs.graph(tree), base)
        found = divergences(feature_history(report), built, base)
        chains = recorded_chains(self.record, self.phases, report.base.heads())
        listed = {d.revision for d in planned_divergences(chains, self.phases, report)}
        problems = [
            f"{divergence.describe()}; split lists no such exception"
            for divergence in found
            if divergence.revision not in listed
        ]
        shown = [d.revision for d in found if d.revision in listed]
        warning = history_warning(report, shown)
        notes = [f"re-chained as split listed: {warning.message}"] if warning else []
        details = (*lossless.details, *problems, *notes)
        return CheckResult(LOSSLESS, lossless.ok and not problems, _shown(details))

    # -- (d) compiles ------------------------------------------------------------

    def compiles(self, diff: Mapping[RepoPath, tuple[Node | None, Node | None]]) -> CheckResult:
        wanted = {
            path: node[1]
            for path, (_, node) in diff.items()
            if node is not None and path.endswith(".py") and node[0] not in SUBMODULE_OR_LINK
        }
        contents = self.writer.read_blobs(wanted.values())
        compiled = compile_sources(
            {path: contents[blob] for path, blob in wanted.items()},
            self.analysis.rules.verify.python,
            self.repo.work_tree,
        )
        return CheckResult(
            COMPILES, not compiled.problems, _shown([*compiled.problems, *compiled.notes])
        )


def _node(node: Node | None) -> str:
    return "absent" if node is None else f"{node[1][:12]} ({node[0]})"


def _tree(
    entries: Mapping[RepoPath, TreeEntry], diff: Mapping[RepoPath, tuple[Node | None, Node | None]]
) -> dict[RepoPath, TreeEntry]:
    tree = dict(entries)
    for path, (_, node) in diff.items():
        if node is None:
            tree.pop(path, None)
        else:
            tree[path] = TreeEntry(path, node[0], node[1], object_type(node[0]))
    return tree


# What a --check command gets from stager's environment: enough to find its
# tools, its interpreter and its locale, and nothing that holds a credential.
CHECK_ENV = frozenset(
    {
        "PATH",
        "HOME",
        "USER",
        "LOGNAME",
        "SHELL",
        "TERM",
        "TZ",
        "LANG",
        "LANGUAGE",
        "TMPDIR",
        "TMP",
        "TEMP",
        "VIRTUAL_ENV",
        "CONDA_PREFIX",
        "PYTHONPATH",
        "XDG_CACHE_HOME",
        "XDG_CONFIG_HOME",
        "XDG_DATA_HOME",
        "SYSTEMROOT",
        "COMSPEC",
        "PATHEXT",
    }
)
# These would point the check's git at the user's checkout, not the phase's worktree.
_WORKTREE_GIT = frozenset({"GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_COMMON_DIR"})
# The variables whose values are secrets stager knows: never printed, even when passed.
SECRET_VARIABLES = ("GITHUB_TOKEN", "GH_TOKEN", "GH_ENTERPRISE_TOKEN", "GITHUB_ENTERPRISE_TOKEN")
REDACTED = "[redacted]"


def check_environment(
    phase: Phase, branch: str, passed: Sequence[str] = (), environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The check's environment: :data:`CHECK_ENV`, ``LC_*``, the ``passed`` names, STAGER_*."""
    source = os.environ if environ is None else environ
    wanted = CHECK_ENV.union(passed) - _WORKTREE_GIT
    env = {key: value for key, value in source.items() if key in wanted or key.startswith("LC_")}
    env.update(STAGER_PHASE=str(phase.number), STAGER_PHASE_NAME=phase.name, STAGER_BRANCH=branch)
    return env


def redact(text: str, environ: Mapping[str, str] | None = None) -> str:
    """``text`` with the values of :data:`SECRET_VARIABLES` replaced."""
    source = os.environ if environ is None else environ
    secrets = {source.get(name, "").strip() for name in SECRET_VARIABLES} - {""}
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


def run_check(
    repo: Repository,
    tip: Sha,
    command: str,
    phase: Phase,
    branch: str,
    passed: Sequence[str] = (),
) -> CheckResult:
    """``command`` in a temporary detached worktree of ``tip`` (see :mod:`.check_command`)."""
    env = check_environment(phase, branch, passed)
    returncode, output = run_in_worktree(
        repo, tip, command, env, prefix=f"stager-verify-{phase.number}-"
    )
    lines = redact(output.decode("utf-8", "replace")).rstrip().splitlines()
    return CheckResult(CHECK, returncode == 0, (f"exit {returncode}", *lines[-_TAIL:]))


def verify_split(
    repo: Repository,
    analysis: Analysis,
    phases: Sequence[Phase],
    *,
    branch_template: str,
    only: int | None = None,
    check: str | None = None,
    check_env: Sequence[str] = (),
    announce: Announce = unannounced,
) -> Verification:
    """Run every check on the phase branches of ``phases`` (``only``: one phase).

    ``check`` runs with :func:`check_environment` (``check_env``: more names to pass).
    ``announce`` is told each step as it begins (a phase's checks, its ``check``).
    """
    if not phases:
        raise StagerError("the plan has no phase: there is nothing to verify", "run `stager plan`")
    numbers = [phase.number for phase in phases]
    if only is not None and only not in numbers:
        raise StagerError(
            f"there is no phase {only} in the plan; its phases are {', '.join(map(str, numbers))}",
            "pick one of these numbers, or verify --all",
        )
    branches = {
        phase.number: branch_name(branch_template, phase.number, phase.name) for phase in phases
    }
    refs = read_refs(repo, [f"refs/heads/{name}" for name in branches.values()])
    tips = {
        number: refs[f"refs/heads/{name}"]
        for number, name in branches.items()
        if f"refs/heads/{name}" in refs
    }
    record = _recorded(repo, analysis, branches)
    if record is not None:
        # A clone has the phase branches as remote branches (origin/stage/…): those at
        # the recorded commit are the branches the record describes.
        remote = set(list_refs(repo, "refs/remotes/").items())
        for recorded in record.phases:
            pushed = any(
                name.endswith(f"/{recorded.branch}") and sha == recorded.commit
                for name, sha in remote
            )
            if recorded.number not in tips and pushed:
                tips[recorded.number] = recorded.commit
    if not tips:
        raise StagerError(
            f"no phase branch exists ({', '.join(branches.values())})",
            "build them with `stager split --all`",
        )
    layout = _layout(repo, analysis, tips, record)
    # A split that repaired the branch's own broken graph must have been told to:
    # the record says which files --rechain-broken re-chained.
    told = [
        rewrite.path
        for recorded in (record.phases if record is not None else ())
        for rewrite in recorded.rewrites
        if rewrite.reason == BROKEN
    ]
    repaired = broken_graph(analysis.migrations, phases).unacknowledged(phases, told)
    with Writer(repo, dry_run=True) as writer:  # merge-tree writes: into a throw-away quarantine
        verifier = _Verifier(repo, writer, analysis, phases, layout, record)
        return _verify(verifier, branches, tips, only, check, check_env, repaired, announce)


def _verify(
    verifier: _Verifier,
    branches: Mapping[int, str],
    tips: Mapping[int, Sha],
    only: int | None,
    check: str | None,
    check_env: Sequence[str],
    repaired: Mapping[int, Sequence[str]],
    announce: Announce,
) -> Verification:
    """``repaired``: phase number → its re-chainings that repair the branch's broken
    graph without --rechain-broken (each fails the phase's alembic check)."""
    repo, analysis, layout = verifier.repo, verifier.analysis, verifier.layout
    stacked = layout.layout is Layout.STACKED
    start_entries = repo.list_tree(layout.start)
    previous_tip, previous_entries = layout.start, start_entries
    previous_graph: RevisionGraph = verifier.base_graph
    results: list[PhaseVerification] = []
    diffs: dict[int, dict[RepoPath, tuple[Node | None, Node | None]]] = {}
    combined = dict(start_entries)  # every phase applied in turn: the phased history
    versions = VersionsShipped()  # plain SQL migrations keep their version order
    for phase in verifier.phases:
        tip = tips.get(phase.number)
        parent = previous_tip if stacked else layout.start
        if tip is None:
            if only is None or only == phase.number:
                missing = CheckResult(
                    PLAN, False, (f"branch {branches[phase.number]} does not exist",)
                )
                results.append(
                    PhaseVerification(phase, branches[phase.number], None, parent, (missing,))
                )
            continue
        diff = diff_entries(repo, parent, tip)
        diffs[phase.number] = diff
        combined = _tree(combined, diff)
        entries = _tree(previous_entries if stacked else start_entries, diff)
        graph = verifier.graphs.graph(entries)
        out_of_order = versions.ship(
            phase.number,
            (
                path
                for path, (old, new) in diff.items()
                if old is None and new is not None and analysis.rules.is_sql_migration(path)
            ),
        )
        if only is None or only == phase.number:
            announce(f"phase {phase.number}: plan, alembic, compiles")
            alembic = check_graph(
                graph, verifier.base_graph, previous_graph if stacked else verifier.base_graph
            )
            problems = (*alembic.problems, *repaired.get(phase.number, ()), *out_of_order)
            checks = [
                verifier.plan_check(phase, parent, tip, diff),
                CheckResult(ALEMBIC, not problems, _shown(problems)),
                verifier.compiles(diff),
            ]
            if check is not None:
                announce(f"phase {phase.number} check: {check}", always=True)
                checks.append(run_check(repo, tip, check, phase, branches[phase.number], check_env))
            results.append(
                PhaseVerification(phase, branches[phase.number], tip, parent, tuple(checks))
            )
        previous_tip, previous_entries, previous_graph = tip, entries, graph
    announce("nothing lost: the phases against the branch")
    lossless = _lossless(verifier, tips, diffs, only)
    if only is None and all(phase.number in tips for phase in verifier.phases):
        lossless = verifier.history(lossless, combined)
    return Verification(
        head=analysis.refs.head,
        merge_base=analysis.refs.merge_base,
        start=layout.start,
        onto=layout.onto,
        layout=layout.layout,
        phases=tuple(results),
        lossless=lossless,
    )


def _lossless(
    verifier: _Verifier,
    tips: Mapping[int, Sha],
    diffs: Mapping[int, Mapping[RepoPath, tuple[Node | None, Node | None]]],
    only: int | None,
) -> CheckResult:
    if only is not None:
        return CheckResult(LOSSLESS, True, ("checked with --all only",), skipped=True)
    numbers = [phase.number for phase in verifier.phases]
    missing = [number for number in numbers if number not in tips]
    if missing:
        return CheckResult(
            LOSSLESS,
            False,
            (f"phase {', '.join(map(str, missing))} has no branch: its files are missing",),
        )
    layout = verifier.layout
    head = verifier.analysis.refs.head
    if layout.onto is None:
        if layout.layout is Layout.INDEPENDENT:
            return verifier.lossless_independent(diffs)
        return verifier.lossless_stacked(tips[numbers[-1]], verifier.writer.tree_of(head), "head")
    merged = verifier.merged
    assert merged is not None  # built for --onto
    if merged.conflicts:
        paths = ", ".join(conflict.path for conflict in merged.conflicts[:_SHOWN])
        return CheckResult(
            LOSSLESS, False, (f"{layout.onto} and head do not merge cleanly: {paths}",)
        )
    what = f"the merge of {layout.onto} and head"
    if layout.layout is Layout.INDEPENDENT:
        return verifier.lossless_independent(diffs, verifier.onto_nodes, what)
    return verifier.lossless_stacked(tips[numbers[-1]], merged.tree, what)


def write_merged_tree(
    repo: Repository, analysis: Analysis, result: Verification, folder: Path
) -> bool:
    """With --onto: the merge of REF and head the lossless proof builds, as files in ``folder``.

    That merge is never committed, so ``verify --database`` runs its own
    ``upgrade heads`` from these files: the schema the phases must end at.
    False when REF and head do not merge cleanly (the lossless proof fails then).
    """
    assert result.onto is not None, "only a split --onto REF has a merged tree"
    layout = _Layout(result.layout, result.start, result.onto)
    with Writer(repo, dry_run=True) as writer:
        verifier = _Verifier(repo, writer, analysis, [item.phase for item in result.phases], layout)
        merged = verifier.merged
        if merged is None or merged.conflicts:
            return False
        writer.write_files(merged.tree, folder)
    return True
