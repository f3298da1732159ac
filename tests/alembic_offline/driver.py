"""Run ``alembic upgrade <heads before>:heads --sql`` over a list of checkouts; print JSON.

Run as a script, in a process of its own, by ``tests.alembic_offline``:
alembic's env.py may configure logging, and revision files run module code.
Input (argv[1], JSON): ``{"config": "backend/alembic.ini", "chains": [[<dir>,
...], ...]}``. In each chain the first checkout gives only the heads the next
one starts from; each further run starts from the heads the run before it left.

Each statement alembic emits is recorded under the revision whose
``upgrade()`` emitted it, by wrapping ``upgrade()``; what alembic emits
around the migrations (BEGIN/COMMIT of the run, the ``alembic_version``
table and its updates) belongs to no revision and is left out.

A revision is *not checked* when its offline SQL cannot be trusted: its
source asks the database (``get_bind``, ``inspect``, reflection), or it
fails offline. Its statements are dropped and the reason reported, so a
caller can never mistake it for a checked one.
"""

from __future__ import annotations

import ast
import functools
import io
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic.config import Config
from alembic.ddl.impl import DefaultImpl
from alembic.runtime.environment import EnvironmentContext
from alembic.script import Script, ScriptDirectory

MINIMAL_ENV = Path(__file__).parent / "minimal_env"
OFFLINE_URL = "postgresql://offline/check"
# Names whose call means the migration reads the database it runs on.
ASKS_THE_DATABASE = frozenset({"get_bind", "inspect", "reflect", "has_table", "get_columns"})
REFLECTION_KEYWORDS = frozenset({"autoload_with", "autoload"})

emitted: list[tuple[str | None, str]] = []
running: list[str] = []


def record_output(self: DefaultImpl, text: str) -> None:
    """DefaultImpl.static_output, also noting which revision emitted the text."""
    emitted.append((running[-1] if running else None, text))
    original_static_output(self, text)


original_static_output = DefaultImpl.static_output
DefaultImpl.static_output = record_output  # type: ignore[method-assign]


def asks_the_database(path: str) -> str | None:
    """Why the revision file reads the database it runs on (every such call), or None."""
    found: set[tuple[int, str]] = set()
    for node in ast.walk(ast.parse(Path(path).read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in ASKS_THE_DATABASE:
                found.add((node.lineno, f"{name}()"))
            found.update(
                (node.lineno, f"{keyword.arg}=")
                for keyword in node.keywords
                if keyword.arg in REFLECTION_KEYWORDS
            )
    if not found:
        return None
    return "asks the database: " + ", ".join(f"{what} on line {at}" for at, what in sorted(found))


def tracked(script: Script, not_checked: dict[str, str]) -> Callable[..., None]:
    """``script``'s upgrade(), recording its revision while it runs and surviving its failure."""
    upgrade: Callable[..., None] = script.module.upgrade

    @functools.wraps(upgrade)  # alembic's "-- Running upgrade A -> B" reads the name
    def run(**kw: Any) -> None:
        reason = asks_the_database(script.path)
        if reason:
            not_checked[script.revision] = reason
        running.append(script.revision)
        try:
            upgrade(**kw)
        except Exception as error:  # any failure offline means "not checked"
            not_checked.setdefault(script.revision, f"fails offline: {error!r}")
        finally:
            running.pop()

    return run


def config_for(checkout: Path, ini: str) -> Config:
    """The checkout's own alembic config, or the minimal env when it has no env.py."""
    config = Config(str(checkout / ini))
    location = Path(config.get_main_option("script_location") or "migrations")
    if not location.is_absolute():
        location = (checkout / ini).parent / location
    if not (location / "env.py").exists():
        config = Config()
        config.set_main_option("script_location", str(MINIMAL_ENV))
        config.set_main_option("version_locations", str(location / "versions"))
    if not config.get_main_option("sqlalchemy.url"):
        config.set_main_option("sqlalchemy.url", OFFLINE_URL)
    return config


def upgrade_sql(checkout: Path, ini: str, start: tuple[str, ...] | None) -> dict[str, Any]:
    """Heads of ``checkout``; with ``start``, the SQL of ``start:heads`` by revision."""
    saved_path, saved_modules, saved_cwd = list(sys.path), set(sys.modules), Path.cwd()
    os.chdir((checkout / ini).parent)  # prepend_sys_path and relative paths, as on the command line
    try:
        config = config_for(checkout, ini)
        script = ScriptDirectory.from_config(config)
        heads = sorted(script.get_heads())
        if start is None:
            return {"heads": heads}
        not_checked: dict[str, str] = {}
        for found in script.walk_revisions():  # only those that run can be "not checked"
            setattr(found.module, "upgrade", tracked(found, not_checked))  # noqa: B010
        emitted.clear()

        def steps(rev: Any, context: Any) -> Any:
            return script._upgrade_revs("heads", rev)

        with EnvironmentContext(
            config,
            script,
            fn=steps,
            as_sql=True,
            starting_rev=start or None,
            destination_rev="heads",
            output_buffer=io.StringIO(),  # the statements are recorded one by one instead
        ):
            script.run_env()
        sections: list[dict[str, Any]] = []
        for revision, text in emitted:
            if revision is None:
                continue
            if not sections or sections[-1]["revision"] != revision:
                sections.append({"revision": revision, "statements": []})
            sections[-1]["statements"].append(text.strip())
        return {"heads": heads, "sections": sections, "not_checked": not_checked}
    finally:
        os.chdir(saved_cwd)
        sys.path[:] = saved_path
        for name in set(sys.modules) - saved_modules:
            del sys.modules[name]


def main() -> None:
    job = json.loads(sys.argv[1])
    chains = []
    for first, *runs in job["chains"]:
        heads = tuple(upgrade_sql(Path(first), job["config"], None)["heads"])
        results = []
        for checkout in runs:
            result = upgrade_sql(Path(checkout), job["config"], heads)
            results.append({"start": list(heads), **result})
            heads = tuple(result["heads"])
        chains.append(results)
    json.dump(chains, sys.stdout)


if __name__ == "__main__":
    main()
