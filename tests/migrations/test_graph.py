from __future__ import annotations

import random
import warnings
from collections.abc import Mapping
from pathlib import Path

import networkx as nx
import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory

from stager.migrations.discovery import discover, migration_entries
from stager.migrations.graph import RevisionGraph
from stager.migrations.parse import parse_migration
from stager.migrations.revision_files import MigrationFile
from stager.types import RepoPath, Revision
from tests.migrations.builders import MemoryBlobs, blob_sha, migration, write_files

INI = "[alembic]\nscript_location = %(here)s/mig\n"


def files_of(specs: list[tuple[str, dict[str, object]]]) -> list[MigrationFile]:
    """Parsed files from (revision, keyword arguments of ``migration``) pairs, in this order."""
    parsed = []
    for revision, kwargs in specs:
        text = migration(revision, **kwargs).encode()  # type: ignore[arg-type]
        parsed.append(parse_migration(RepoPath(f"v/{revision}.py"), blob_sha(text), text))
    return parsed


def R(*ids: str) -> tuple[Revision, ...]:
    return tuple(Revision(i) for i in ids)


def test_linear_history() -> None:
    graph = RevisionGraph.build(files_of([("c", {"down": "b"}), ("a", {}), ("b", {"down": "a"})]))
    assert len(graph) == 3
    assert graph.heads() == R("c")
    assert graph.bases() == R("a")
    assert graph.upgrade_order() == R("a", "b", "c")
    assert graph.ancestors(Revision("c")) == {"a", "b"}
    assert graph.descendants(Revision("a")) == {"b", "c"}
    assert graph.revision(Revision("b")).path == "v/b.py"
    assert graph.cycles() == [] and graph.dangling() == () and graph.duplicates() == ()
    assert isinstance(graph.graph, nx.DiGraph)
    assert graph.graph.edges["a", "b"]["kind"] == "down_revision"
    with pytest.raises(KeyError):
        graph.revision(Revision("zzz"))


def test_branches_merge_and_depends_on() -> None:
    graph = RevisionGraph.build(
        files_of(
            [
                ("base", {}),
                ("left", {"down": "base"}),
                ("right", {"down": "base"}),
                ("merge", {"down": ("left", "right")}),
                ("other", {"branch_labels": "plugin"}),
                ("plug2", {"down": "other", "depends_on": "merge"}),
                ("late", {"down": "merge", "depends_on": "plugin"}),
            ]
        )
    )
    # depends_on never makes or unmakes a head
    assert graph.heads() == R("plug2", "late")
    assert graph.bases() == R("base", "other")
    assert graph.graph.edges["merge", "plug2"]["kind"] == "depends_on"
    # a depends_on through a branch label resolves to the labelled revision
    assert graph.graph.edges["other", "late"]["kind"] == "depends_on"
    assert "other" in graph.ancestors(Revision("late"))
    order = graph.upgrade_order()
    assert order.index("merge") < order.index("plug2")
    assert order.index("left") < order.index("merge") > order.index("right")


def test_dangling_duplicates_and_cycles() -> None:
    files = files_of(
        [
            ("a", {}),
            ("b", {"down": "missing"}),
            ("c", {"down": "a", "depends_on": "nowhere"}),
            ("x", {"down": "y"}),
            ("y", {"down": "x"}),
            ("s", {"down": "s"}),
        ]
    )
    dup_text = migration("a", "c").encode()
    duplicate = parse_migration(RepoPath("v/a_again.py"), blob_sha(dup_text), dup_text)
    graph = RevisionGraph.build([*files, duplicate])
    assert [(d.migration.revision, d.target, d.field) for d in graph.dangling()] == [
        ("b", "missing", "down_revision"),
        ("c", "nowhere", "depends_on"),
    ]
    [dup] = graph.duplicates()
    assert dup.revision == "a"
    assert [m.path for m in dup.migrations] == ["v/a.py", "v/a_again.py"]
    assert graph.revision(Revision("a")).path == "v/a.py"
    assert graph.cycles() == [R("x", "y"), R("s")]
    assert sorted(graph.upgrade_order()) == sorted(graph.files)  # still total and finite


def test_unidentified_files_stay_out_of_the_graph() -> None:
    text = b"down_revision = None\n"
    broken = parse_migration(RepoPath("v/broken.py"), blob_sha(text), text)
    graph = RevisionGraph.build([broken, *files_of([("a", {})])])
    assert graph.unidentified == (broken,)
    assert len(graph) == 1


# --- cross-check against alembic's own ScriptDirectory ---------------------------------


def _ours(files: Mapping[str, str]) -> RevisionGraph:
    blobs = MemoryBlobs()
    tree = blobs.tree(files)
    entries = migration_entries(discover(tree, blobs), tree)
    return RevisionGraph.build(
        parse_migration(path, entry.blob, blobs.store[entry.blob])
        for path, entry in entries.items()
    )


def _alembic(root: Path, files: Mapping[str, str]) -> tuple[list[str], list[str], list[str]]:
    write_files(root, files)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        script = ScriptDirectory.from_config(Config(str(root / "alembic.ini")))
        heads = list(script.get_heads())
        bases = list(script.get_bases())
        order = [s.revision for s in script.walk_revisions()][::-1]
    return heads, bases, order


def _check(tmp_path: Path, files: Mapping[str, str]) -> RevisionGraph:
    ours = _ours(files)
    heads, bases, order = _alembic(tmp_path, files)
    assert list(ours.heads()) == heads
    assert list(ours.bases()) == bases
    assert list(ours.upgrade_order()) == order
    return ours


def test_cross_check_hand_written(tmp_path: Path) -> None:
    files = {
        "alembic.ini": INI,
        # file names deliberately out of topological order: the load order breaks ties
        "mig/versions/0009_merge.py": migration("e5f6", ("c3d4", "b2c3"), title="merge"),
        "mig/versions/0001_base.py": migration("a1b2"),
        "mig/versions/0005_left.py": migration("b2c3", "a1b2"),
        "mig/versions/0003_right.py": migration("c3d4", "a1b2"),
        "mig/versions/0010_after.py": migration("f6a7", "e5f6", annotated=True),
        "mig/versions/0002_plugin.py": migration("p1", branch_labels=("plugin",)),
        "mig/versions/0004_plugin2.py": migration("p2", "p1", depends_on="b2c3"),
        "mig/versions/0008_needs_plugin.py": migration("g7", "f6a7", depends_on="plugin"),
        "mig/versions/0007_side.py": migration("s1", "a1b2", branch_labels="side"),
    }
    graph = _check(tmp_path, files)
    assert len(graph.heads()) == 3


def _random_history(seed: int, size: int) -> dict[str, str]:
    rng = random.Random(seed)
    files = {"alembic.ini": INI}
    revisions: list[str] = []
    heads: list[str] = []
    labels: list[str] = []
    for index in range(size):
        revision = f"{rng.getrandbits(40):010x}"
        kwargs: dict[str, object] = {}
        roll = rng.random()
        if not revisions or roll < 0.06:
            label = f"branch{index}"
            kwargs["branch_labels"] = (label,)
            labels.append(label)
        elif roll < 0.2 and len(heads) >= 2:
            kwargs["down"] = tuple(rng.sample(heads, 2))
        elif roll < 0.35:
            kwargs["down"] = rng.choice(revisions[-8:])
        else:
            kwargs["down"] = rng.choice(heads) if heads else revisions[-1]
        if revisions and rng.random() < 0.12:
            # a label of an earlier revision, never this one's own (that is a cycle)
            own = kwargs.get("branch_labels", ())
            assert isinstance(own, tuple)
            earlier = [label for label in labels if label not in own]
            use_label = earlier and rng.random() < 0.3
            kwargs["depends_on"] = rng.choice(earlier) if use_label else rng.choice(revisions)
        down = kwargs.get("down")
        parents = (down,) if isinstance(down, str) else tuple(down or ())  # type: ignore[arg-type]
        heads = [head for head in heads if head not in parents] + [revision]
        revisions.append(revision)
        name = f"{rng.getrandbits(16):04x}_{revision}.py"
        files[f"mig/versions/{name}"] = migration(revision, **kwargs)  # type: ignore[arg-type]
    return files


# 72 and 167 start the walk from a head that is only a depends_on target.
@pytest.mark.parametrize("seed", [*range(8), 72, 167])
def test_cross_check_random_histories(tmp_path: Path, seed: int) -> None:
    _check(tmp_path, _random_history(seed, 60))
