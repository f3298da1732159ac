"""Each Python blob is parsed once ever: cached by blob id, carried over comment edits, pooled."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from stager.analysis import analyze_branch
from stager.git.repository import Repository
from stager.plan import facts_store
from stager.plan.comment_edits import carried_over
from stager.plan.facts_store import FactsStore, earlier_file, parse_all
from stager.plan.pyfacts import PyFacts, python_facts
from stager.types import Sha
from tests.gitrepo import GitRepo
from tests.plan.helpers import RULES, analyze, edge_kinds, make_branch

HELPERS = "def fmt(value):\n    return str(value)\n"
SERVICE = "from app.helpers import fmt\n\n\ndef show(x):\n    return fmt(x)\n"
MODULE = textwrap.dedent(
    '''\
    """A module with a docstring.

    # not a comment: the docstring's text
    """
    import os
    from app.models import Account  # a trailing comment

    QUERY = """
    SELECT id
    # still the string
    FROM account
    """


    @decorated
    class Report(Base):
        __tablename__ = "report"

        total = Column(Integer)

        def run(self, when):
            # a comment in a body
            return os.path.join(QUERY, f"""{when}
            # in an f-string""")


    def helper(a, b=1):
        return Account(a=a, b=b)
    '''
)


def last_run_files() -> list[Path]:
    folder = Path(os.environ["XDG_CACHE_HOME"]) / "stager" / "facts"
    return [path for path in folder.glob("*.jsonl") if not path.name.endswith(".earlier.jsonl")]


def counting(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The texts the store parses from now on."""
    parsed: list[str] = []

    def parse(text: str) -> PyFacts:
        parsed.append(text)
        return python_facts(text)

    monkeypatch.setattr(facts_store, "python_facts", parse)
    return parsed


def test_the_next_run_parses_nothing_and_plans_the_same(
    repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_branch(
        repo,
        {"app/helpers.py": "X = 1\n", "app/service.py": "def show(x):\n    return x\n"},
        {"app/helpers.py": HELPERS, "app/service.py": SERVICE},
    )
    first = analyze(repo, tmp_path)
    assert edge_kinds(first, "app/service.py", "app/helpers.py") == ["import"]
    parsed = counting(monkeypatch)
    again = analyze(repo, tmp_path)
    assert parsed == []
    assert again.plan == first.plan
    [cache] = last_run_files()
    cache.write_bytes(b"not JSON")  # a broken cache is only a slower run
    assert analyze(repo, tmp_path).plan == first.plan
    assert len(parsed) == 4  # both versions of both files
    monkeypatch.setenv("STAGER_NO_CACHE", "1")
    assert analyze(repo, tmp_path).plan == first.plan


CLIENT = "from app.helpers import fmt\n\n\ndef client(x):\n    return fmt(x)\n"


def two_branches(repo: GitRepo) -> None:
    """feature and other both change helpers.py the same way; each changes one user of it."""
    base = {"app/helpers.py": "X = 1\n", "app/service.py": SERVICE, "app/client.py": CLIENT}
    make_branch(repo, base, {"app/helpers.py": HELPERS, "app/service.py": SERVICE + "Y = 1\n"})
    repo.checkout("-b", "other", "main")
    repo.commit("other", {"app/helpers.py": HELPERS, "app/client.py": CLIENT + "Z = 1\n"})


def analyze_head(repo: GitRepo, tmp_path: Path, head: str) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES, encoding="utf-8")
    analyze_branch(Repository(repo.path), "main", head, rules)


def test_switching_branches_parses_only_what_neither_run_parsed(
    repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    two_branches(repo)
    parsed = counting(monkeypatch)
    analyze_head(repo, tmp_path, "feature")
    assert sorted(parsed) == sorted(["X = 1\n", HELPERS, SERVICE, SERVICE + "Y = 1\n"])
    parsed.clear()
    analyze_head(repo, tmp_path, "other")
    assert sorted(parsed) == sorted([CLIENT, CLIENT + "Z = 1\n"])  # helpers.py's are kept
    parsed.clear()
    analyze_head(repo, tmp_path, "feature")
    assert parsed == []  # service.py's come from the run before the last
    [latest] = last_run_files()
    written = latest.stat().st_mtime_ns, earlier_file(latest).stat().st_mtime_ns
    analyze_head(repo, tmp_path, "feature")
    assert parsed == []
    assert (latest.stat().st_mtime_ns, earlier_file(latest).stat().st_mtime_ns) == written


def test_the_least_recently_used_facts_go_beyond_the_limit(
    repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    two_branches(repo)
    analyze_head(repo, tmp_path, "feature")
    [latest] = last_run_files()
    monkeypatch.setattr(facts_store, "CACHE_LIMIT", 0)
    analyze_head(repo, tmp_path, "other")  # the last run's facts are kept, nothing more
    assert earlier_file(latest).read_text(encoding="utf-8").count("\n") == 0  # the header only
    parsed = counting(monkeypatch)
    analyze_head(repo, tmp_path, "feature")
    assert sorted(parsed) == sorted([SERVICE, SERVICE + "Y = 1\n"])  # dropped, parsed again
    monkeypatch.setattr(facts_store, "CACHE_LIMIT", 10 * latest.stat().st_size)
    analyze_head(repo, tmp_path, "other")  # room for what feature used
    parsed.clear()
    analyze_head(repo, tmp_path, "feature")
    assert parsed == []


def test_a_file_changed_only_in_comments_is_parsed_once(
    repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_branch(
        repo,
        {"app/helpers.py": "X = 1\n", "app/service.py": SERVICE, "app/other.py": MODULE},
        {
            "app/helpers.py": HELPERS,
            "app/service.py": "# reformatted\n" + SERVICE,
            "app/other.py": MODULE.replace("    return Account", "    # moved\n    return Account"),
        },
    )
    parsed = counting(monkeypatch)
    analysis = analyze(repo, tmp_path)
    # helpers.py changed code (both versions parsed); the other two changed comments only.
    assert sorted(parsed) == sorted([HELPERS, "X = 1\n", SERVICE, MODULE])
    dependency = next(
        edge for edge in analysis.plan.dependencies if edge.dependent == "app/service.py"
    )
    assert dependency.line == 2  # the import's line on head, one comment line down


def variants(text: str) -> list[str]:
    """``text`` with a comment or blank line put before each of its lines, and one removed."""
    lines = text.split("\n")
    found = []
    for number in range(len(lines)):
        for added in ("# added", "", "    # indented"):
            found.append("\n".join([*lines[:number], added, *lines[number:]]))
        found.append("\n".join([*lines[:number], *lines[number + 1 :]]))
    return found


def test_carried_facts_are_exactly_the_parsed_ones() -> None:
    before = python_facts(MODULE)
    carried = 0
    for variant in variants(MODULE):
        found = carried_over(before, MODULE, variant)
        if found is not None:
            carried += 1
            assert found == python_facts(variant), variant
    assert carried > len(MODULE.split("\n"))  # most comment and blank lines carry over


@pytest.mark.parametrize(
    ("text", "edited"),
    [
        pytest.param('S = """\na\nb\n"""\n', 'S = """\na\n# b\nb\n"""\n', id="inside-a-string"),
        pytest.param("x = 1 + \\\n    2\n", "x = 1 + \\\n\n    2\n", id="after-a-continuation"),
        pytest.param("a = 1\nb = 2\nc = 3\n", "# 1\na = 1\nb = 2\n# 3\nc = 3\n", id="two-blocks"),
        pytest.param("a = 1\nb = 2\n", "a = 1\nb = 3\n", id="code"),
        pytest.param("def f(:\n", "# x\ndef f(:\n", id="scanned"),
    ],
)
def test_what_may_not_carry_over_is_parsed(text: str, edited: str) -> None:
    assert carried_over(python_facts(text), text, edited) is None


def test_the_pool_gives_what_parsing_one_by_one_gives() -> None:
    texts = [MODULE, SERVICE, HELPERS, "def broken(:\n", MODULE + "\nY = 2\n"]
    assert parse_all(texts * 3) == [python_facts(text) for text in texts * 3]


def test_prefetch_parses_one_version_of_a_comment_edit_and_nothing_cached(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(facts_store, "POOL_THRESHOLD", 2)
    store = FactsStore()
    store.used[Sha("c" * 40)] = python_facts(HELPERS)
    store.prefetch(
        [
            ((Sha("a" * 40), SERVICE), (Sha("b" * 40), "# x\n" + SERVICE)),
            ((Sha("c" * 40), HELPERS), (Sha("d" * 40), HELPERS + "Y = 1\n")),
            ((Sha("e" * 40), MODULE), (Sha("f" * 40), MODULE + "Z = 1\n")),
        ]
    )
    assert store.parsed == 3  # a, e and f; b takes a's facts, d c's
    assert store.facts(Sha("b" * 40), "# x\n" + SERVICE, (Sha("a" * 40), SERVICE)) == (
        python_facts("# x\n" + SERVICE)
    )
    assert (store.parsed, store.carried) == (3, 1)


INTERRUPTED = """
import sys
from pathlib import Path
from stager.plan import facts_store
text = Path(facts_store.__file__).with_name("pyfacts.py").read_text()
print("parsing", flush=True)
try:
    facts_store.parse_all([text] * 20_000)
except KeyboardInterrupt:
    print("interrupted", flush=True)
    sys.exit(130)
"""


def test_ctrl_c_stops_the_pool_and_its_workers(tmp_path: Path) -> None:
    """Ctrl-C reaches the whole process group: the workers die quietly, stager unwinds."""
    process = subprocess.Popen(
        [sys.executable, "-c", INTERRUPTED],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline() == "parsing\n"
    try:
        process.wait(timeout=1)  # the workers start meanwhile
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert (process.returncode, out) == (130, "interrupted\n"), err
    assert "Traceback" not in err  # no worker printed its own KeyboardInterrupt
    with pytest.raises(ProcessLookupError):  # nothing of the group is left
        os.killpg(process.pid, 0)


# Each worker says its id at its first file and takes its time with it: the test kills one
# while it holds its share. This process parses without the pause.
KILLED = """
import os, sys, time
from stager.plan import facts_store
from stager.plan.pyfacts import python_facts
parent, started = os.getpid(), []

def parse(text):
    if os.getpid() != parent and not started:
        started.append(True)
        os.write(1, f"{os.getpid()}\\n".encode())  # one write: the two workers' lines never mix
        time.sleep(30)
    return python_facts(text)

facts_store.python_facts = parse
texts = [f"X{number} = {number}\\n" for number in range(400)]
found = facts_store.parse_all(texts)
print("same" if found == [python_facts(text) for text in texts] else "different", flush=True)
"""


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="one core: no pool")
def test_a_worker_killed_mid_parse_leaves_the_rest_to_stager_which_finishes(
    tmp_path: Path,
) -> None:
    """The out-of-memory killer takes a worker: stager parses its share itself, never hangs."""
    process = subprocess.Popen(
        [sys.executable, "-c", KILLED],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert process.stdout is not None
    worker = int(process.stdout.readline())
    os.kill(worker, signal.SIGKILL)
    try:
        out, err = process.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        pytest.fail("stager waited for the killed worker")
    lines = out.splitlines()
    assert (process.returncode, lines[-1]) == (0, "same"), err
    with pytest.raises(ProcessLookupError):  # no worker is left behind
        os.killpg(process.pid, 0)


def test_only_versions_that_import_a_changed_module_are_parsed_ahead(
    repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pool parses what the import graph reads first; a file importing nothing changed waits."""
    alone = "import os\n\n\ndef alone():\n    return os.sep\n"
    make_branch(
        repo,
        {"app/helpers.py": "X = 1\n", "app/service.py": SERVICE, "app/alone.py": alone},
        {
            "app/helpers.py": HELPERS,
            "app/service.py": SERVICE + "\n\ndef more(x):\n    return fmt(x)\n",
            "app/alone.py": alone + "Y = 2\n",
        },
    )
    monkeypatch.setattr(facts_store, "POOL_THRESHOLD", 1)
    pooled: list[str] = []

    def pool(texts: list[str]) -> list[PyFacts]:
        pooled.extend(texts)
        return [python_facts(text) for text in texts]

    monkeypatch.setattr(facts_store, "parse_all", pool)
    analysis = analyze(repo, tmp_path)
    assert sorted(pooled) == sorted([SERVICE, SERVICE + "\n\ndef more(x):\n    return fmt(x)\n"])
    assert edge_kinds(analysis, "app/service.py", "app/helpers.py") == ["import"]


def test_the_cache_entries_read_back_as_the_facts_they_were_written_from() -> None:
    """A file's names are written as one string per field: they come back the same, and an
    item holding the separator is written as a list instead, and comes back too."""
    package = Path(facts_store.__file__).resolve().parents[1]
    for source in sorted(package.glob("plan/*.py")):
        facts = python_facts(source.read_text(encoding="utf-8"))
        assert facts_store._decode(Sha("a" * 40), facts_store._encode(facts)) == facts, source
    odd = PyFacts(words=frozenset({"a|b", "c"}), names=frozenset({"x"}))
    entry = facts_store._encode(odd)
    assert '"names":"x"' in entry and '"words":["a|b","c"]' in entry
    assert facts_store._decode(Sha("a" * 40), entry) == odd


@pytest.mark.parametrize(
    "entry",
    [
        '{"names": 5}',
        '{"names": ["x", 1]}',
        '{"imports": [["os", 0, "not a list", 1]]}',
        '{"imports": [["os", "0", [], 1]]}',
        '{"imports": [["os", 0, []]]}',
        '{"no such field": "x"}',
        '["not", "an", "object"]',
    ],
)
def test_a_cache_entry_of_the_wrong_shape_is_parsed_again_never_trusted(entry: str) -> None:
    assert facts_store._decode(Sha("a" * 40), entry) is None


@pytest.mark.skipif(sys.platform != "linux", reason="the pool forks on Linux only")
def test_the_analysis_lets_the_pool_fork_its_git_threads_are_gone_by_then(
    repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The texts are read in a thread while the rules run; that thread must be gone before
    the planner parses, or the pool would not fork and a cold run would use one core."""
    make_branch(
        repo,
        {"app/helpers.py": "X = 1\n", "app/service.py": SERVICE},
        {"app/helpers.py": HELPERS, "app/service.py": SERVICE + "\nY = 2\n"},
    )
    monkeypatch.setattr(facts_store, "POOL_THRESHOLD", 1)
    chosen: list[str | None] = []
    start_method = facts_store._start_method

    def recorded() -> str | None:
        chosen.append(start_method())
        return chosen[-1]

    monkeypatch.setattr(facts_store, "_start_method", recorded)
    analysis = analyze(repo, tmp_path)
    assert chosen == ["fork"]
    assert edge_kinds(analysis, "app/service.py", "app/helpers.py") == ["import"]
