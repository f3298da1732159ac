"""`stager lint` and squawk side by side: the same SQL corpus, and the catch table on the cases.

Each command runs as its own process, as in CI: wall time and CPU time (user +
system, from ``wait4``: the machine may be loaded, and CPU time says what the
process itself cost), the runs alternating (stager, squawk, stager, ...) so
drift falls on both. squawk is an optional dev dependency (``squawk-cli`` on
PyPI); without it, stager is timed alone and the table says squawk is absent.

The catch table reads tests/migrations/lint/cases (cases.toml): for a risky
case, stager catches it when the expected rule fires on the SQL form; squawk
when it raises anything beyond the three reminders it raises on any DDL
(``require-lock-timeout``, ``require-statement-timeout``,
``prefer-robust-stmts``). A false alarm is, on a safe case, a high or critical
stager finding, or any such squawk rule.

``PYTHONDONTWRITEBYTECODE`` is dropped for the timed processes: an installed
stager has its ``.pyc`` files (pip writes them), and compiling every module
from source costs a single run ~200 ms that CI never pays. The warm-up run
writes them.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "tests" / "migrations" / "lint" / "cases"
# Raised on any DDL whatever it does, so they catch no case: the two timeouts, and
# prefer-robust-stmts (IF NOT EXISTS / IF EXISTS, for re-running a failed migration).
REMINDERS = frozenset({"require-lock-timeout", "require-statement-timeout", "prefer-robust-stmts"})
HIGH = frozenset({"high", "critical"})


@dataclass(frozen=True)
class Run:
    wall: float
    cpu: float


def run_once(command: Sequence[str], ok: frozenset[int]) -> Run:
    """One process to completion: its wall and CPU seconds; exit codes outside ``ok`` fail."""
    start = time.perf_counter()
    process = subprocess.Popen(
        list(command), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=_env()
    )
    assert process.stderr is not None
    errors = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    process.stderr.close()
    code = os.waitstatus_to_exitcode(status)
    if code not in ok:
        raise SystemExit(f"{' '.join(command)} failed ({code}):\n{errors.decode()}")
    return Run(wall, usage.ru_utime + usage.ru_stime)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def stager_command(paths: Sequence[str]) -> list[str]:
    return [
        sys.executable,
        "-m",
        "stager",
        "lint",
        "--format",
        "json",
        "--fail-on",
        "critical",
        *paths,
    ]


def squawk_path() -> str | None:
    return shutil.which("squawk")


def time_side_by_side(folder: Path, files: int, runs: int) -> None:
    """Print the median wall and CPU ms of one process over ``folder``, per run and per file."""
    sql = sorted(str(path) for path in folder.glob("*.sql"))
    commands = {"stager lint": (stager_command([str(folder)]), frozenset({0, 4}))}
    squawk = squawk_path()
    if squawk is not None:
        commands["squawk"] = ([squawk, *sql], frozenset({0, 1}))
    timings: dict[str, list[Run]] = {name: [] for name in commands}
    for command, ok in commands.values():
        run_once(command, ok)  # warm-up: the page cache, pyc files
    for _ in range(runs):
        for name, (command, ok) in commands.items():
            timings[name].append(run_once(command, ok))
    print(f"\n{files} SQL migration files (Flyway), one process each, median of {runs} runs")
    print(f"{'':12} {'wall ms':>9} {'cpu ms':>9} {'wall ms/file':>13} {'cpu ms/file':>12}")
    for name, found in timings.items():
        wall = statistics.median(run.wall for run in found) * 1000
        cpu = statistics.median(run.cpu for run in found) * 1000
        print(f"{name:12} {wall:9.1f} {cpu:9.1f} {wall / files:13.3f} {cpu / files:12.3f}")
    if squawk is None:
        print(
            "squawk: not installed (pip install squawk-cli, in the dev extra): timed stager alone"
        )
    else:
        ratio = statistics.median(r.wall for r in timings["stager lint"]) / statistics.median(
            r.wall for r in timings["squawk"]
        )
        print(f"stager lint takes {ratio:.1f}x squawk's wall time")
    stager_wall = statistics.median(run.wall for run in timings["stager lint"])
    stager_cpu = statistics.median(run.cpu for run in timings["stager lint"])
    load = os.getloadavg()[0]
    # On a loaded machine wall time is mostly waiting for a core; CPU time is what
    # the process cost, and what an idle CI runner's wall time comes close to.
    print(
        f"goal, one stager lint process under 600 ms: wall {stager_wall * 1000:.0f} ms "
        f"({'under' if stager_wall < 0.6 else 'OVER'}), CPU {stager_cpu * 1000:.0f} ms "
        f"({'under' if stager_cpu < 0.6 else 'OVER'}); load average {load:.1f} "
        f"on {os.cpu_count()} cores"
    )


def catch_table() -> None:
    """Each case's verdict for both tools, and the totals."""
    from stager.migrations.lint.sql_files import sql_file_findings
    from stager.types import RepoPath

    squawk = squawk_path()
    cases = tomllib.loads((CASES / "cases.toml").read_text(encoding="utf-8"))["case"]
    rows: list[list[str]] = []
    totals = {"risky": 0, "safe": 0, "stager": 0, "stager_fa": 0, "squawk": 0, "squawk_fa": 0}
    for case in cases:
        path = CASES / "sql" / f"{case['name']}.sql"
        if not path.exists():
            continue  # no SQL form (an ORM backfill, an f-string): neither tool reads it
        expect = case["expect"]
        found = sql_file_findings(RepoPath(path.name), path.read_bytes(), 14)
        if expect:
            stager_hit = expect in {f.rule for f in found}
        else:
            stager_hit = any(f.risk.label in HIGH for f in found)
        totals["risky" if expect else "safe"] += 1
        totals["stager" if expect else "stager_fa"] += stager_hit
        row = [case["name"], expect or "(safe)", _verdict(stager_hit, bool(expect))]
        if squawk is not None:
            rules = _squawk_rules(squawk, path)
            totals["squawk" if expect else "squawk_fa"] += bool(rules)
            row += [_verdict(bool(rules), bool(expect)), ", ".join(sorted(rules))]
        rows.append(row)
    print(f"\ncatch table: the SQL form of {len(rows)} cases of tests/migrations/lint/cases")
    for row in rows:
        print(
            f"  {row[0]:<34} {row[1]:<7} stager {row[2]:<12}"
            + (f"squawk {row[3]:<12}{row[4]}" if len(row) > 3 else "")
        )
    print(
        f"stager: caught {totals['stager']}/{totals['risky']} risky, "
        f"{totals['stager_fa']} false alarms on {totals['safe']} safe"
    )
    if squawk:
        print(
            f"squawk: caught {totals['squawk']}/{totals['risky']} risky, "
            f"{totals['squawk_fa']} false alarms on {totals['safe']} safe"
        )
    else:
        print("squawk: not installed: its column is empty")


def _verdict(hit: bool, risky: bool) -> str:
    if risky:
        return "caught" if hit else "MISSED"
    return "FALSE ALARM" if hit else "quiet"


def _squawk_rules(squawk: str, path: Path) -> set[str]:
    """squawk's rules on one file, less the two reminders it raises on any DDL."""
    result = subprocess.run(
        [squawk, "--reporter", "json", "--pg-version", "14", str(path)],
        capture_output=True,
        check=False,
    )
    if result.returncode not in (0, 1):
        raise SystemExit(f"squawk failed on {path}: {result.stderr.decode()}")
    found = json.loads(result.stdout or b"[]")
    return {hit["rule_name"] for hit in found} - REMINDERS
