"""The migration diagram: the phases in merge order, each phase's revisions chained onto the base.

A Mermaid flowchart, which GitHub draws wherever markdown holds a ```mermaid
block (the staging document, every pull request body; ``plan --format
mermaid`` prints it alone). It is drawn from the phases' judgements
(``plan.assessment``), so from what split built when a record describes the
branch, else from the plan: the same chains the tables beside it show.

- one box (subgraph) per phase, in merge order, its revisions inside in upgrade order;
- the base's heads, outside every phase, where the first chain starts;
- ``-->``: a revision's parent as the phase writes it;
- ``-.->`` labelled ``re-chained``: a parent stager changed (the branch had another);
- ``==>`` labelled ``expand, then contract``: a split migration's new expand revision
  to the original revision reduced to its contract (both nodes coloured);
- a base revision the phase edits sits in its box, marked, with no edge of its own.

Revision ids, titles and phase names come from the repository: untrusted text.
No node id is made from them (ids are ``b0``, ``p1``, ``r0``, …), and every
label is a quoted string in which anything but letters, digits and a few safe
signs is written as Mermaid's ``#NN;`` entity, so no label can end its quotes,
start a directive or a link, or close the markdown fence around it.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from stager.plan.assessment import PhaseAssessment
from stager.render.quoting import BuiltMarkdown, escape_controls
from stager.types import Revision

_SAFE = re.compile(r"[A-Za-z0-9 _.,:/()+\-=]")
_LABEL_CHARACTERS = 60
BLOCK_START = "```mermaid"


def label(text: str) -> str:
    """``text`` as a quoted Mermaid label: one line, every other character an entity."""
    one_line = " ".join(escape_controls(text).split())
    if len(one_line) > _LABEL_CHARACTERS:
        one_line = one_line[: _LABEL_CHARACTERS - 1] + "…"
    return '"' + "".join(c if _SAFE.fullmatch(c) else f"#{ord(c)};" for c in one_line) + '"'


@dataclass
class _Graph:
    base_name: str
    lines: list[str] = field(default_factory=list)
    nodes: dict[Revision, str] = field(default_factory=dict)
    base: list[str] = field(default_factory=list)  # lines of the base's heads, drawn first
    styles: list[str] = field(default_factory=list)
    edges: int = 0  # linkStyle counts every edge, in order

    def node(self, revision: Revision, text: str, indent: str, lines: list[str]) -> str:
        if revision not in self.nodes:
            self.nodes[revision] = f"r{len(self.nodes)}"
            lines.append(f"{indent}{self.nodes[revision]}[{label(text)}]")
        return self.nodes[revision]

    def parent(self, revision: Revision) -> str:
        """A parent no phase adds: a head of the base (drawn with the base)."""
        if revision not in self.nodes:
            self.nodes[revision] = f"b{len(self.base)}"
            self.base.append(f"  b{len(self.base)}[{label(f'{revision} ({self.base_name})')}]")
        return self.nodes[revision]

    def edge(self, line: str, style: str | None = None) -> None:
        self.lines.append(f"  {line}")
        if style is not None:
            self.styles.append(f"  linkStyle {self.edges} {style}")
        self.edges += 1


def migration_diagram(
    assessments: Sequence[PhaseAssessment],
    names: Mapping[int, str],
    base_name: str,
    current: int | None = None,
) -> str:
    """The Mermaid source of the phases' migrations (module doc), in merge order.

    ``names``: each phase's name by number; ``current``: the phase a pull request is
    for, drawn with a thicker border.
    """
    graph = _Graph(base_name)
    boxes = [line for a in assessments for line in _box(graph, a, names, current)]
    if assessments:
        for head in assessments[0].heads_before:
            graph.parent(head)
    if not graph.base and not graph.nodes:
        graph.base.append(f"  b0[{label(base_name + ': no Alembic revision')}]")
    for earlier, later in itertools.pairwise(assessments):  # merge order, even without edges
        graph.edge(f"p{earlier.number} ~~~ p{later.number}")
    for assessment in assessments:
        _edges(graph, assessment)
    classes = [line for line in graph.styles if line.startswith("  class ")]
    defined = [f"  classDef {name} {style}" for name, style in _CLASSES.items()] if classes else []
    lines = ["flowchart TB", *graph.base, *boxes, *graph.lines, *defined, *graph.styles]
    return "\n".join(lines) + "\n"


_CLASSES = {"expand": "fill:#ecfdf5,stroke:#059669", "contract": "fill:#fff7ed,stroke:#d97706"}


def _box(
    graph: _Graph, assessment: PhaseAssessment, names: Mapping[int, str], current: int | None
) -> list[str]:
    """The phase's subgraph: its revisions in upgrade order, the new expand revisions too."""
    box = f"p{assessment.number}"
    inside: list[str] = []
    for migration in assessment.migrations:
        text = f"{migration.revision}: {migration.title}"
        graph.node(migration.revision, text, "    ", inside)
    for expand in assessment.expands:
        graph.node(expand.revision, f"{expand.revision}: expand of {expand.origin}", "    ", inside)
    for edited in assessment.edited:  # a base revision the phase edits: in its box, no new edge
        text = f"{edited.revision}: {edited.title} ({edited.change} on the base)"
        graph.node(edited.revision, text, "    ", inside)
    if assessment.number == current:
        graph.styles.append(f"  style {box} stroke-width:3px")
    name = label(f"{assessment.number}. {names.get(assessment.number, '')}")
    return [
        f"  subgraph {box}[{name}]",
        "    direction TB",
        *(inside or [f"    e{assessment.number}[{label('no migration')}]"]),
        "  end",
    ]


def _edges(graph: _Graph, assessment: PhaseAssessment) -> None:
    """Each revision from its parents; a split migration's expand part to its contract."""
    for migration in assessment.migrations:
        child = graph.nodes[migration.revision]
        for parent in migration.down_revision:
            node = graph.nodes.get(parent) or graph.parent(parent)
            if migration.rechained:
                was = ", ".join(migration.original_down_revision) or "base"
                graph.edge(f"{node} -. {label('re-chained, was ' + was)} .-> {child}")
            else:
                graph.edge(f"{node} --> {child}")
    for part in assessment.contracts:
        expand = graph.nodes.get(part.expand_revision)
        contract = graph.nodes.get(part.revision)
        if expand is not None and contract is not None:
            graph.edge(
                f"{expand} == {label('expand, then contract')} ==> {contract}",
                "stroke:#d97706,stroke-width:2px",
            )
            graph.styles += [f"  class {expand} expand", f"  class {contract} contract"]


def diagram_block(
    assessments: Sequence[PhaseAssessment],
    names: Mapping[int, str],
    base_name: str,
    current: int | None = None,
) -> BuiltMarkdown:
    """:func:`migration_diagram` in the fenced block GitHub draws, for a markdown template
    to write whole; empty when no phase has a migration (there is nothing to draw)."""
    if not any(a.migrations or a.expands for a in assessments):
        return BuiltMarkdown("")
    source = migration_diagram(assessments, names, base_name, current)
    return BuiltMarkdown(f"{BLOCK_START}\n{source}```\n")
