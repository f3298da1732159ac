"""What the lazy imports save: each library's import cost against Python's own start.

stager imports rich, jinja2, networkx, pglast and PyGithub only where a command
needs them (tests/test_import_cost.py keeps the light paths light). This prints
what each would add to every command if it were imported at the top, measured
in fresh interpreters, as a ratio to starting Python at all (the baseline of
this run), and the same for stager's own modules on the `analyze --format json`
path.

    python benchmarks/bench_imports.py [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

LAZY = ("rich.console", "jinja2.sandbox", "networkx", "pglast", "github")
EAGER = ("stager.cli", "stager.commands.analyze")


def seconds(code: str, runs: int) -> float:
    """Median wall time of a fresh interpreter running ``code``."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs
    baseline = seconds("pass", runs)
    print(f"python start (baseline): {baseline * 1000:.0f} ms")
    for label, modules in (("lazy", LAZY), ("top-level", EAGER)):
        for module in modules:
            cost = seconds(f"import {module}", runs) - baseline
            print(f"{label:9} {module:24} +{cost * 1000:5.0f} ms  {cost / baseline:4.2f}x start")


if __name__ == "__main__":
    main()
