"""Real Alembic, offline, over the branches ``stager split --all`` built (issue 12's check).

For phase k, ``alembic upgrade <heads of k-1>:<heads of k> --sql``, phase 0
being the recorded start; the concatenation must equal head's
``upgrade <merge-base heads>:heads --sql``. Statements are compared by the
revision that emitted them (see driver.py), which gives three answers:

- ``exact``: the phased statements, concatenated, are head's, in order;
- ``by_revision``: each revision of head emits the same statements, in the
  same order, on the phased history, where an expand revision counts as
  part of the revision it was split from;
- ``reordered``: the revisions at which a database holds other statements
  on the phased history than on the branch (the issue's invariant, on the
  statements alembic emits).

Why not always ``exact``: re-chaining runs an independent revision (an index,
a new table) in an early phase, ahead of a contract revision that must wait
for the code; head runs them the other way round, and no phased history can
run head's order. ``assert_same_sql`` then demands the other two answers and
that the caller names exactly the revisions ``reordered`` lists, so a reorder
nobody expected still fails, and nothing may be lost or run twice.

A revision whose offline SQL cannot be trusted is left out of every answer
and listed in ``not_checked``, with why.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stager.branches.split_invariant import interleaves
from tests.gitrepo import GitRepo

DRIVER = Path(__file__).parent / "driver.py"


@dataclass(frozen=True)
class Section:
    """What one revision's ``upgrade()`` emitted offline."""

    revision: str
    statements: tuple[str, ...]


@dataclass(frozen=True)
class Run:
    """One ``alembic upgrade <start>:heads --sql`` of one checkout."""

    name: str
    start: tuple[str, ...]
    heads: tuple[str, ...]
    sections: tuple[Section, ...]
    not_checked: Mapping[str, str]


@dataclass(frozen=True)
class OfflineCheck:
    """Head's run and the phases' runs, compared; ``origins`` maps an expand revision to R."""

    head: Run
    phases: tuple[Run, ...]
    origins: Mapping[str, str]

    def origin(self, revision: str) -> str:
        return self.origins.get(revision, revision)

    @property
    def not_checked(self) -> dict[str, str]:
        """Revisions (by original id) left out of the comparison, with why."""
        found: dict[str, str] = {}
        for run in (self.head, *self.phases):
            for revision, reason in run.not_checked.items():
                found.setdefault(self.origin(revision), f"{revision} on {run.name}: {reason}")
        return found

    def _head_sections(self) -> list[Section]:
        """Head's sections; a split revision's statements in the order its two parts run.

        A split moves R's expand operations into R_e, ahead of the contract ones,
        each part in head's order: where head wrote a contract operation first
        (``drop_column`` then ``add_column``, which touch other objects: the split
        refuses operations on one object in both parts), the parts interleave into
        head's statements, and head's revision is compared in the parts' order.
        """
        parts = self._parts()
        sections = []
        for section in self.head.sections:
            if section.revision in self.not_checked:
                continue
            split = parts.get(section.revision)
            if split is not None and interleaves(section.statements, *split):
                sections.append(Section(section.revision, (*split[0], *split[1])))
            else:
                sections.append(section)
        return sections

    def _parts(self) -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
        """Each split revision R: (R_e's statements, R's statements) on the phases."""
        emitted = {s.revision: s.statements for run in self.phases for s in run.sections}
        return {
            original: (emitted.get(expand, ()), emitted.get(original, ()))
            for expand, original in self.origins.items()
        }

    @property
    def interleaved(self) -> list[str]:
        """Split revisions whose parts run head's statements in another (allowed) order."""
        parts = self._parts()
        return [
            s.revision
            for s in self.head.sections
            if s.revision in parts
            and s.statements != (*parts[s.revision][0], *parts[s.revision][1])
            and interleaves(s.statements, *parts[s.revision])
        ]

    def _phased_sections(self) -> list[Section]:
        sections = [s for run in self.phases for s in run.sections]
        return [s for s in sections if self.origin(s.revision) not in self.not_checked]

    @property
    def head_statements(self) -> list[str]:
        return [statement for s in self._head_sections() for statement in s.statements]

    @property
    def phased_statements(self) -> list[str]:
        return [statement for s in self._phased_sections() for statement in s.statements]

    @property
    def exact(self) -> bool:
        """The phased statements, concatenated, are head's (split ones in their parts' order)."""
        return self.phased_statements == self.head_statements

    @property
    def by_revision(self) -> dict[str, tuple[list[str], list[str]]]:
        """Revisions whose statements differ: id -> (head's, the phases')."""
        head: dict[str, list[str]] = {}
        phased: dict[str, list[str]] = {}
        for section in self._head_sections():
            head.setdefault(section.revision, []).extend(section.statements)
        for section in self._phased_sections():
            phased.setdefault(self.origin(section.revision), []).extend(section.statements)
        return {
            revision: (head.get(revision, []), phased.get(revision, []))
            for revision in sorted(head.keys() | phased.keys())
            if head.get(revision, []) != phased.get(revision, [])
        }

    @property
    def reordered(self) -> list[str]:
        """Head's revisions at which the phased history holds other statements than the branch.

        A database at revision X has run every statement up to X's last section; on
        the phased history that includes whatever re-chaining moved before X.
        """
        head, phased = self._head_sections(), self._phased_sections()
        found = []
        for at, section in enumerate(head):
            positions = [
                i for i, s in enumerate(phased) if self.origin(s.revision) == section.revision
            ]
            if not positions or _applied(phased[: positions[-1] + 1]) != _applied(head[: at + 1]):
                found.append(section.revision)
        return found

    def assert_same_sql(
        self, *, reordered: Sequence[str] = (), not_checked: Sequence[str] = ()
    ) -> None:
        """The issue's check, with every exception named by the caller.

        Each revision emits head's statements, one head per phase, and the
        phased concatenation equals head's unless re-chaining moved
        ``reordered``. ``not_checked`` must be exactly the revisions left out.
        """
        assert sorted(self.not_checked) == sorted(not_checked), self.explain()
        assert all(len(run.heads) == 1 for run in self.phases), self.explain()
        assert self.by_revision == {}, self.explain()
        assert self.reordered == list(reordered), self.explain()
        assert self.exact == (not reordered), self.explain()
        # nothing of head is lost or run twice, whatever the order
        assert Counter(self.phased_statements) == Counter(self.head_statements)

    def explain(self) -> str:
        """The runs, for an assertion message."""
        lines = []
        for run in (self.head, *self.phases):
            lines.append(f"{run.name}: {','.join(run.start) or 'base'} -> {','.join(run.heads)}")
            lines.extend(f"  {s.revision}: {list(s.statements)}" for s in run.sections)
        lines.append(f"not checked: {self.not_checked}")
        return "\n".join(lines)


def _applied(sections: Sequence[Section]) -> Counter[str]:
    return Counter(statement for section in sections for statement in section.statements)


def export(repo: GitRepo, commit: str, dest: Path) -> Path:
    """``commit``'s tree written to ``dest`` with ``git archive``: the repository stays as it is."""
    archive = subprocess.run(
        ["git", "archive", "--format=tar", commit],
        cwd=repo.path,
        env=repo.env,
        capture_output=True,
        check=True,
    ).stdout
    dest.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(dest, filter="data")
    return dest


def run_driver(config: str, chains: Sequence[Sequence[Path]], env: Mapping[str, str]) -> Any:
    """The driver's JSON for ``chains`` of checkouts (one process: alembic loads once)."""
    job = {"config": config, "chains": [[str(path) for path in chain] for chain in chains]}
    result = subprocess.run(
        [sys.executable, str(DRIVER), json.dumps(job)],
        env=dict(env),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _run(name: str, data: Mapping[str, Any]) -> Run:
    return Run(
        name=name,
        start=tuple(data["start"]),
        heads=tuple(data["heads"]),
        sections=tuple(Section(s["revision"], tuple(s["statements"])) for s in data["sections"]),
        not_checked=dict(data["not_checked"]),
    )


def check_split_offline(
    repo: GitRepo,
    workdir: Path,
    *,
    branch: str = "feature",
    config: str = "alembic.ini",
    origins: Mapping[str, str] | None = None,
) -> OfflineCheck:
    """Run head and every phase of ``branch``'s split record through real alembic, offline."""
    record = json.loads(repo.git("show", f"refs/stager/record/{branch}:record.json"))
    names = ["merge-base", "head", "start", *(p["branch"] for p in record["phases"])]
    commits = [record["merge_base"], record["head"], record["start"]]
    commits += [repo.git("rev-parse", f"refs/heads/{p['branch']}") for p in record["phases"]]
    trees = [
        export(repo, commit, workdir / f"{n}-{commit[:10]}") for n, commit in enumerate(commits)
    ]
    (head,), phases = run_driver(config, [trees[:2], trees[2:]], repo.env)
    return OfflineCheck(
        head=_run("head", head),
        phases=tuple(_run(name, data) for name, data in zip(names[3:], phases, strict=True)),
        origins=dict(origins or {}),
    )
