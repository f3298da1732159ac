"""A file's diff as hunks, and the file with only its expand hunks (stager/plan/hunks.py)."""

from __future__ import annotations

import ast
import difflib
import re
import subprocess
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stager.plan.hunks import (
    CONTEXT,
    Hunk,
    HunkSplit,
    Route,
    Side,
    Span,
    WholeFile,
    classify_hunks,
    dependency,
    file_hunks,
    hunks_from_diff,
    partial_text,
    remaining_hunks,
    split_file,
    split_lines,
    stage_file,
    unified_diff,
)
from stager.rules.globs import compile_glob
from tests.examples import examples
from tests.gitrepo import GitRepo

FILES = Path(__file__).parent / "hunk_files"
MODEL = "backend/app/models/compliance_report_summary.py"
EXPAND = ["historical_snapshot"]
CONTRACT = ["credits_offset_a", "credits_offset_b", "credits_offset_c"]


def _read(name: str) -> str:
    return (FILES / name).read_text(encoding="utf-8")


def _model() -> tuple[str, str]:
    return _read("summary_base.py.txt"), _read("summary_head.py.txt")


def _lines(*words: str) -> str:
    return "".join(f"{word}\n" for word in words)


FILLER = [f"line_{number} = {number}" for number in range(20)]


# --- the seed's model -------------------------------------------------------


def test_the_model_ships_its_new_column_early_and_drops_the_old_ones_late() -> None:
    base, head = _model()
    result = split_file(MODEL, base, head, expand_names=EXPAND, contract_names=CONTRACT)
    assert isinstance(result, HunkSplit), result
    assert [side.side for side in result.sides] == [Side.EXPAND, Side.CONTRACT]
    assert result.phases == (1, 2)
    early = result.early
    assert "historical_snapshot = Column(JSONB)" in early
    for column in CONTRACT:
        assert f"{column} = Column(Integer)" in early
    ast.parse(early)
    assert result.late == head
    assert result.text_at(0) == base
    assert result.text_at(1) == early
    assert result.text_at(2) == result.text_at(7) == head
    # early is base plus exactly the one added line
    assert split_lines(early) == [
        *split_lines(base)[:18],
        "    historical_snapshot = Column(JSONB)\n",
        *split_lines(base)[18:],
    ]


def test_the_sides_say_what_each_hunk_names() -> None:
    base, head = _model()
    sides = classify_hunks(file_hunks(base, head), EXPAND, CONTRACT)
    assert sides[0].reason == "hunk 1 (base after line 18) adds 'historical_snapshot' (expand)"
    assert sides[1].reason == (
        "hunk 2 (base lines 27-38) removes 'credits_offset_a', 'credits_offset_b', "
        "'credits_offset_c' (contract)"
    )


def test_qualified_names_and_patterns_name_objects_too() -> None:
    base = _lines("x = 1", *FILLER, "y = Model.old_col")
    head = _lines("x = Summary.new_col", *FILLER, "y = 2")
    hunks = file_hunks(base, head)
    sides = classify_hunks(hunks, ["Summary.new_col"], [re.compile(r"\bold_\w+")])
    assert [side.side for side in sides] == [Side.EXPAND, Side.CONTRACT]
    # a word is a whole name: new_column is not new_col, nor is renew_col
    near_misses = _lines("a = Summary.new_column + renew_col", *FILLER)
    assert [side.side for side in classify_hunks(file_hunks("", near_misses), ["new_col"])] == [
        Side.NEUTRAL
    ]


def test_a_hunk_that_adds_and_removes_keeps_the_file_whole() -> None:
    base = _lines(*FILLER[:8], "    credits_offset_a = Column(Integer)", *FILLER[8:])
    head = _lines(*FILLER[:8], "    historical_snapshot = Column(JSONB)", *FILLER[8:])
    result = split_file(MODEL, base, head, expand_names=EXPAND, contract_names=CONTRACT)
    assert result == WholeFile(
        MODEL,
        f"{MODEL}: hunk 1 (base line 9) both adds 'historical_snapshot' (expand) and removes "
        "'credits_offset_a' (contract): the file cannot be split there",
    )


def test_a_partial_python_file_that_does_not_compile_stays_whole() -> None:
    # The expand hunk opens a bracket that only the later (neutral) hunk closes.
    items = [f"line_{number}," for number in range(10)]
    base = _lines("x = 0", *items, "y = 0")
    head = _lines("x = [", "historical_snapshot,", *items, "]")
    result = split_file("app/service.py", base, head, expand_names=EXPAND)
    assert result == WholeFile(
        "app/service.py",
        "app/service.py: the version for phase 1 does not compile (line 1: '[' was never closed)",
    )
    # Not Python: the same split is fine.
    assert isinstance(split_file("app/service.txt", base, head, expand_names=EXPAND), HunkSplit)


def test_head_that_does_not_compile_here_is_not_split() -> None:
    base = _lines("x = 1", *FILLER, "y = 2")
    head = _lines("x = historical_snapshot", *FILLER, "y = (")
    result = split_file("a.py", base, head, expand_names=EXPAND)
    assert isinstance(result, WholeFile)
    assert "head's version does not compile here" in result.reason


def test_added_deleted_unchanged_and_one_phase_files_are_not_split() -> None:
    text = _lines("historical_snapshot = 1")
    assert split_file("a.py", None, text, expand_names=EXPAND) == WholeFile(
        "a.py", "a.py: an added file ships whole"
    )
    assert split_file("a.py", text, None) == WholeFile("a.py", "a.py: a deleted file ships whole")
    # Nothing to split is no news: the plan does not warn about it.
    assert split_file("a.py", text, text) == WholeFile(
        "a.py", "a.py: unchanged", worth_saying=False
    )
    one = split_file("a.py", "", text, expand_names=EXPAND)
    assert one == WholeFile(
        "a.py", "a.py: every hunk ships in phase 1; nothing to split", worth_saying=False
    )
    assert split_file("a.py", text, text + "x = 2\n") == WholeFile(
        "a.py", "a.py: every hunk ships in phase 2; nothing to split", worth_saying=False
    )


def test_the_early_phase_comes_first() -> None:
    with pytest.raises(ValueError, match="must come before"):
        split_file("a.py", "", "", early=2, late=2)


# --- line ends ---------------------------------------------------------------


def test_crlf_files_keep_their_line_ends() -> None:
    base = "\r\n".join(["a = 1", *FILLER, "b = credits_offset_a", ""])
    head = "\r\n".join(["a = historical_snapshot", *FILLER, "b = 2", ""])
    result = split_file("m.py", base, head, expand_names=EXPAND, contract_names=CONTRACT)
    assert isinstance(result, HunkSplit)
    assert result.early == "\r\n".join(
        ["a = historical_snapshot", *FILLER, "b = credits_offset_a", ""]
    )
    assert result.late == head


def test_no_newline_at_the_end_is_kept_or_added_as_head_says() -> None:
    base = _lines("a = 1", *FILLER) + "b = credits_offset_a"
    head = _lines("a = historical_snapshot", *FILLER) + "b = 2\n"
    result = split_file("m.py", base, head, expand_names=EXPAND, contract_names=CONTRACT)
    assert isinstance(result, HunkSplit)
    assert result.early == _lines("a = historical_snapshot", *FILLER) + "b = credits_offset_a"
    assert result.late == head
    diff = unified_diff(base, head)
    assert diff.endswith("-b = credits_offset_a\n\\ No newline at end of file\n+b = 2\n")


def test_only_newline_ends_a_line() -> None:
    # \r, form feed and U+2028 are inside lines, as git sees them
    text = "a\rb\x0cc\u2028d\ne"
    assert split_lines(text) == ["a\rb\x0cc\u2028d\n", "e"]
    assert split_lines("") == []
    assert split_lines("\n") == ["\n"]


def test_a_file_with_one_hunk() -> None:
    base = _lines("a = 1", "b = 2")
    head = _lines("a = 1", "b = historical_snapshot")
    (hunk,) = file_hunks(base, head)
    assert hunk == Hunk(
        0,
        Span(1, 2),
        Span(1, 2),
        ("b = 2\n",),
        ("b = historical_snapshot\n",),
        ("b = 2\n",),
        ("b = historical_snapshot\n",),
    )
    assert partial_text(base, [hunk], {0}) == head
    assert partial_text(base, [hunk], ()) == base


# --- dependencies ------------------------------------------------------------


def _zero_context_diff() -> tuple[str, str, list[Hunk]]:
    """``git diff --unified=0`` of two changes one line apart: two hunks, not one."""
    base = _lines("a", "b", "c", "d", "e")
    head = _lines("a", "B", "c", "D", "e")
    diff = "--- a/f\n+++ b/f\n@@ -2 +2 @@\n-b\n+B\n@@ -4 +4 @@\n-d\n+D\n"
    return base, head, hunks_from_diff(diff, base)


def test_hunks_closer_than_their_context_depend_on_each_other() -> None:
    base, head, hunks = _zero_context_diff()
    assert [hunk.base for hunk in hunks] == [Span(1, 2), Span(3, 4)]
    assert partial_text(base, hunks, {0, 1}) == head
    assert dependency(hunks, {0}) == (hunks[0], hunks[1])
    assert dependency(hunks, {1}) == (hunks[1], hunks[0])
    assert dependency(hunks, {0, 1}) is None
    assert dependency(hunks, ()) is None
    result = stage_file("f", base, hunks, (1, 2))
    assert result == WholeFile(
        "f",
        f"f: hunk 1 (base line 2) (phase 1) is within {2 * CONTEXT} lines of hunk 2 "
        "(base line 4) (phase 2): the earlier one cannot ship alone",
    )


def test_difflib_hunks_are_never_that_close() -> None:
    # 6 unchanged lines between two changes: one hunk; 7: two, which do not depend
    for gap, count in ((2 * CONTEXT, 1), (2 * CONTEXT + 1, 2)):
        middle = [f"m{number}" for number in range(gap)]
        hunks = file_hunks(_lines("a", *middle, "b"), _lines("A", *middle, "B"))
        assert len(hunks) == count
        assert dependency(hunks, {0}) is None or count == 1


def test_a_diff_that_is_not_of_the_base_is_refused() -> None:
    _, _, hunks = _zero_context_diff()
    with pytest.raises(ValueError, match="does not apply"):
        partial_text(_lines("x", "y", "z", "w"), hunks, {0})
    with pytest.raises(ValueError, match="does not apply to the base text"):
        hunks_from_diff("--- a/f\n+++ b/f\n@@ -2 +2 @@\n-x\n+B\n", _lines("a", "b"))
    with pytest.raises(ValueError, match="not a unified diff"):
        hunks_from_diff("--- a/f\n+++ b/f\n@@ -2 +2 @@\n-x\n", _lines("a", "b"))
    with pytest.raises(ValueError, match="a diff of 2 files"):
        hunks_from_diff(unified_diff("a\n", "b\n", "f") + unified_diff("a\n", "b\n", "g"), "a\n")
    assert hunks_from_diff("", "a\n") == []


# --- routes ------------------------------------------------------------------


def _route(phase: int, path: str, match: str) -> Route:
    return Route(phase, compile_glob(path), re.compile(match))


def test_a_route_sends_matching_hunks_to_its_phase_before_names_decide() -> None:
    base = _lines("a = 1", *FILLER, "b = 1", *FILLER, "c = credits_offset_a")
    head = _lines("a = feature_flag", *FILLER, "b = historical_snapshot", *FILLER, "c = 0")
    routes = [_route(3, "services/*.py", r"feature_flag"), _route(1, "*.py", "never")]
    result = split_file(
        "services/x.py",
        base,
        head,
        expand_names=EXPAND,
        contract_names=CONTRACT,
        routes=routes,
        early=2,
        late=4,
    )
    assert isinstance(result, HunkSplit)
    assert [side.side for side in result.sides] == [Side.ROUTED, Side.EXPAND, Side.CONTRACT]
    assert result.sides[0].phase == 3
    assert "matches 'feature_flag' of a [[phase]] hunks rule (path 'services/*.py')" in (
        result.sides[0].reason
    )
    assert result.phases == (3, 2, 4)
    assert [number for number, _ in result.texts] == [2, 3, 4]
    late_line = "c = credits_offset_a"
    assert result.text_at(2) == _lines(
        "a = 1", *FILLER, "b = historical_snapshot", *FILLER, late_line
    )
    assert result.text_at(3) == _lines(
        "a = feature_flag", *FILLER, "b = historical_snapshot", *FILLER, late_line
    )
    assert result.text_at(4) == head
    # another path: the route does not apply
    other = split_file("models/x.py", base, head, expand_names=EXPAND, routes=routes)
    assert isinstance(other, HunkSplit)
    assert other.sides[0].side is Side.NEUTRAL


def test_a_route_matches_removed_lines_too() -> None:
    base = _lines("a = 1", *FILLER, "old_call()")
    head = _lines("a = 2", *FILLER)
    sides = classify_hunks(
        file_hunks(base, head), routes=[_route(1, "*", r"old_call")], path="x.py"
    )
    assert [(side.side, side.phase) for side in sides] == [(Side.NEUTRAL, None), (Side.ROUTED, 1)]


# --- git's diff text reads the same ----------------------------------------------


def _git_diff(repo: GitRepo, base: str, head: str) -> str:
    path = repo.path / "f.py"
    path.write_bytes(base.encode())
    repo.git("add", "f.py")
    repo.git("commit", "-q", "-m", "base")
    path.write_bytes(head.encode())
    flags = ["--unified=3", "--inter-hunk-context=0", "--no-color", "--diff-algorithm=myers"]
    result = subprocess.run(
        ["git", "diff", *flags, "--", "f.py"],
        cwd=repo.path,
        env=repo.env,
        capture_output=True,
        check=True,
    )
    return result.stdout.decode()


@pytest.mark.parametrize(
    "case",
    ["model", "crlf", "no-newline"],
)
def test_git_diff_text_gives_the_same_hunks_as_difflib(repo: GitRepo, case: str) -> None:
    if case == "model":
        base, head = _model()
    elif case == "crlf":
        base = "\r\n".join(["a = 1", *FILLER, "b = 2", ""])
        head = "\r\n".join(["a = 10", *FILLER, "b = 20", "c = 3", ""])
    else:
        base = _lines("a = 1", *FILLER) + "b = 2"
        head = _lines("a = 10", *FILLER) + "b = 2\nc = 3"
    diff = _git_diff(repo, base, head)
    assert hunks_from_diff(diff, base) == file_hunks(base, head)
    from_git = split_file("f.py", base, head, expand_names=["10"], diff=diff)
    assert from_git == split_file("f.py", base, head, expand_names=["10"])


def test_a_diff_that_does_not_give_head_is_refused() -> None:
    base = _lines("a", "b")
    with pytest.raises(ValueError, match="does not turn its base into its head"):
        split_file("f", base, _lines("a", "c"), diff=unified_diff(base, _lines("a", "B")))


# --- properties ----------------------------------------------------------------

_LINE = st.sampled_from(["a", "b", "c", "", "d = 1", "e\r", "f\x0c", "g\u2028h"])


@st.composite
def _texts(draw: st.DrawFn) -> str:
    lines = draw(st.lists(_LINE, max_size=30))
    end = draw(st.sampled_from(["\n", "\r\n"]))
    text = "".join(line + end for line in lines)
    if text and draw(st.booleans()):
        text = text.removesuffix(end)  # no newline at the end of the file
    return text


@st.composite
def _edited(draw: st.DrawFn) -> tuple[str, str]:
    """A base text, and head: base with edits at random places (or any other text)."""
    base = draw(_texts())
    if draw(st.integers(0, 4)) == 0:
        return base, draw(_texts())
    lines = split_lines(base)
    for _ in range(draw(st.integers(0, 5))):
        at = draw(st.integers(0, len(lines)))
        removed = draw(st.integers(0, 3))
        added = draw(st.lists(_LINE.map(lambda line: line + "\n"), max_size=3))
        lines[at : at + removed] = added
    return base, "".join(lines)


def _opcode_spans(base: str, head: str) -> list[tuple[Span, Span]]:
    """What difflib's own grouping says each hunk changes, trimmed to its changes."""
    matcher = difflib.SequenceMatcher(None, split_lines(base), split_lines(head))
    spans = []
    for group in matcher.get_grouped_opcodes(CONTEXT):
        changed = [opcode for opcode in group if opcode[0] != "equal"]
        first, last = changed[0], changed[-1]
        spans.append((Span(first[1], last[2]), Span(first[3], last[4])))
    return spans


@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_edited(), st.data())
def test_any_allowed_subset_then_the_rest_gives_head(
    texts: tuple[str, str], data: st.DataObject
) -> None:
    base, head = texts
    hunks = file_hunks(base, head)
    everything = range(len(hunks))
    assert partial_text(base, hunks, everything) == head
    assert partial_text(base, hunks, ()) == base
    # difflib's grouping and unidiff's reading of its text agree
    assert [(hunk.base, hunk.head) for hunk in hunks] == _opcode_spans(base, head)
    for hunk in hunks:  # what a hunk keeps inside it is the same in both texts
        assert len(hunk.old) - len(hunk.removed) == len(hunk.new) - len(hunk.added)
        assert hunk.removed or hunk.added
    selected = data.draw(st.sets(st.sampled_from(list(everything)))) if hunks else set()
    if dependency(hunks, selected) is not None:
        return
    partial = partial_text(base, hunks, selected)
    rest = remaining_hunks(hunks, selected)
    assert {hunk.index for hunk in rest} == set(everything) - selected
    assert partial_text(partial, rest, {hunk.index for hunk in rest}) == head
    # the split's texts are the same prefixes
    phases = [1 if index in selected else 2 for index in everything]
    staged = stage_file("f.txt", base, hunks, phases)
    if isinstance(staged, HunkSplit):
        assert staged.early == partial
        assert staged.late == head


def _no_index_diff(base: str, head: str) -> str:
    """git's own diff of two texts, with the flags of the patch strategy."""
    flags = ["--unified=3", "--inter-hunk-context=0", "--diff-algorithm=myers", "--no-color"]
    with tempfile.TemporaryDirectory() as folder:
        old, new = Path(folder, "old"), Path(folder, "new")
        old.write_bytes(base.encode())
        new.write_bytes(head.encode())
        result = subprocess.run(
            ["git", "diff", "--no-index", *flags, "--no-ext-diff", "--no-textconv", "old", "new"],
            cwd=folder,
            capture_output=True,
            check=False,
        )
    assert result.returncode in (0, 1), result.stderr
    return result.stdout.decode()


@settings(max_examples=examples(40), deadline=None)
@given(_edited(), st.data())
def test_git_diff_text_splits_the_same_way(texts: tuple[str, str], data: st.DataObject) -> None:
    base, head = texts
    hunks = hunks_from_diff(_no_index_diff(base, head), base)
    assert partial_text(base, hunks, range(len(hunks))) == head
    # git's hunks are as far apart as difflib's: none depends on another
    selected = data.draw(st.sets(st.sampled_from(range(len(hunks))))) if hunks else set()
    assert dependency(hunks, selected) is None
    rest = remaining_hunks(hunks, selected)
    partial = partial_text(base, hunks, selected)
    assert partial_text(partial, rest, {hunk.index for hunk in rest}) == head
