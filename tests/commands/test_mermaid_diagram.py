"""The migration diagram: a Mermaid flowchart whose every line parses, drawn from the phases.

No Debian or PyPI package provides Mermaid's own renderer (mmdc is an npm
package that drives a browser), so the block is checked against the grammar
stager writes: every line is one of the statements below, and nothing else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from click.testing import CliRunner

from stager.cli import cli
from stager.demo import DemoRepository
from stager.render.mermaid import label
from tests.branches.helpers import migration
from tests.gitrepo import GitRepo

LABEL = r'"[A-Za-z0-9 _.,:/()+\-=#;]*"'  # only the safe characters and #NN; entities
STATEMENTS = {
    "node": re.compile(rf"^ {{2,4}}([br]\d+|e\d+)\[({LABEL})\]$"),
    "subgraph": re.compile(rf"^  subgraph (p\d+)\[({LABEL})\]$"),
    "edge": re.compile(rf"^  (\w+) (-->|-\. ({LABEL}) \.->|== ({LABEL}) ==>|~~~) (\w+)$"),
    "other": re.compile(
        r"^(flowchart TB|    direction TB|  end|  linkStyle \d+ [a-z:#0-9,-]+"
        r"|  classDef (expand|contract) [a-z:#0-9,-]+|  class \w+ (expand|contract)"
        r"|  style p\d+ stroke-width:3px)$"
    ),
}


@dataclass
class Diagram:
    """The parsed block: boxes in order with their nodes, and every edge by kind."""

    boxes: dict[str, list[str]] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    edges: list[tuple[str, str, str, str]] = field(default_factory=list)  # from, kind, label, to
    styles: list[str] = field(default_factory=list)


def parse(source: str) -> Diagram:
    diagram, box = Diagram(), None
    lines = source.splitlines()
    assert lines[0] == "flowchart TB"
    for line in lines:
        kind, match = next(
            ((kind, m) for kind, pattern in STATEMENTS.items() if (m := pattern.match(line))),
            (None, None),
        )
        assert match is not None, f"not a statement stager writes: {line!r}"
        if kind == "subgraph":
            box = match.group(1)
            diagram.boxes[box] = []
            diagram.labels[box] = match.group(2)
        elif kind == "node":
            diagram.labels[match.group(1)] = match.group(2)
            if box is not None:
                diagram.boxes[box].append(match.group(1))
        elif kind == "edge":
            arrow, text = match.group(2), match.group(3) or match.group(4) or ""
            dotted = "rechained" if "-." in arrow else "ec"
            kind = {"-->": "chain", "~~~": "order"}.get(arrow, dotted)
            diagram.edges.append((match.group(1), kind, text, match.group(5)))
        elif line == "  end":
            box = None
        elif line.startswith(("  style", "  class ", "  linkStyle")):
            diagram.styles.append(line.strip())
    return diagram


def invoke(path: str, *args: str) -> str:
    result = CliRunner().invoke(cli, ["-C", path, *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_the_demo_diagram_chains_each_phase_onto_the_base(demo: DemoRepository) -> None:
    source = invoke(str(demo.path), "plan", "--format", "mermaid")
    diagram = parse(source)
    assert list(diagram.boxes) == ["p1", "p2", "p3", "p4"]  # merge order
    assert [(a, b) for a, kind, _, b in diagram.edges if kind == "order"] == [
        ("p1", "p2"), ("p2", "p3"), ("p3", "p4"),
    ]  # fmt: skip
    parents: dict[str, list[str]] = {}
    for parent, kind, _text, child in diagram.edges:
        if kind in {"chain", "rechained"}:
            parents.setdefault(child, []).append(parent)
    seen = [node for node in diagram.labels if node.startswith("b")]  # the base's heads
    assert seen and all("(main)" in diagram.labels[node] for node in seen)
    for box, nodes in diagram.boxes.items():
        revisions = [n for n in nodes if n.startswith("r")]
        edited = [n for n in revisions if "on the base)" in diagram.labels[n]]  # no new edge
        assert all(n not in parents for n in edited)
        # one chain per phase: each revision onto what came before
        for node in (n for n in revisions if n not in edited):
            assert len(parents[node]) == 1 and parents[node][0] in seen, (box, node)
            seen.append(node)
        if not revisions:
            assert diagram.labels[nodes[0]] == '"no migration"'
    rechained = [(a, text, b) for a, kind, text, b in diagram.edges if kind == "rechained"]
    # the contract part, re-chained onto the expand part that now runs before it
    assert [text for _a, text, _b in rechained] == ['"re-chained, was c7a9e1b3d5f7"']
    (expand, _kind, text, contract), *_ = [e for e in diagram.edges if e[1] == "ec"]
    assert text == '"expand, then contract"'
    assert expand in diagram.boxes["p2"] and contract in diagram.boxes["p4"]
    assert f"class {expand} expand" in diagram.styles
    assert "4f6a8c0e2a4c" in diagram.labels[contract]
    assert any("modified on the base" in diagram.labels[n] for n in diagram.boxes["p1"])

    # The staging document carries the same diagram (pull request bodies: tests/github).
    document = invoke(str(demo.path), "plan", "--format", "markdown")
    assert document.count("```mermaid\n") == 1 and f"```mermaid\n{source}```\n" in document


def test_after_a_split_the_diagram_shows_what_split_built(demo: DemoRepository) -> None:
    """main moved on since the merge base: split built phase 1 onto main's tip, re-chained."""
    invoke(str(demo.path), "split", "--all")
    diagram = parse(invoke(str(demo.path), "plan", "--format", "mermaid"))
    assert diagram.labels["b0"] == '"0c2e4a6c8e0f (main)"'  # not the merge base's d1f3b5d7f9b1
    first = diagram.boxes["p1"][0]
    assert ("b0", "rechained", '"re-chained, was d1f3b5d7f9b1"', first) in diagram.edges


def test_repository_text_cannot_break_out_of_a_label(repo: GitRepo) -> None:
    """A title, a phase name or a branch name from the repository stays inside its quotes."""
    versions = "migrations/versions"
    repo.commit("base", {f"{versions}/0001.py": migration("base1", None, "base")})
    repo.git("checkout", "-q", "-b", "feature")
    hostile = 'x"] --> evil[" `@team` ```\n%% click r0 call alert() <!-- &amp;'
    text = migration("abc123", "base1").replace('"""change', f'"""{hostile}', 1)
    repo.commit("hostile", {f"{versions}/0002.py": text})
    source = invoke(str(repo.path), "plan", "--base", "main", "--format", "mermaid")
    diagram = parse(source)  # every line is still one of stager's statements
    assert "```" not in source and "@" not in source and "<" not in source
    node = next(n for n, text in diagram.labels.items() if text.startswith('"abc123'))
    assert "#64;team" in diagram.labels[node]


def test_a_label_is_one_short_line_of_safe_characters() -> None:
    assert label('a "b"\nc') == '"a #34;b#34; c"'
    assert label("x" * 100) == '"' + "x" * 59 + '#8230;"'
    assert re.fullmatch(LABEL, label("\x1b[31m%%{init}%%"))
