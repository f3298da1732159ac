"""Which interpreter the package-origin check asks: the one that runs the project's Alembic."""

from __future__ import annotations

import sys
from pathlib import Path

from stager.database.package_origin import project_python


def test_the_interpreter_is_read_from_the_projects_alembic_command(tmp_path: Path) -> None:
    tree, bin_folder = tmp_path / "tree", tmp_path / "tree" / ".venv" / "bin"
    bin_folder.mkdir(parents=True)
    script = bin_folder / "alembic"
    script.write_text("#!/opt/app/.venv/bin/python3.12\nfrom alembic.config import main\n")
    script.chmod(0o755)
    on_path = tmp_path / "bin"
    on_path.mkdir()
    (on_path / "alembic").write_text("#!/usr/bin/env python3\n")
    (on_path / "alembic").chmod(0o755)
    env = {"PATH": str(on_path)}

    assert project_python((".venv/bin/alembic",), tree, env) == ["/opt/app/.venv/bin/python3.12"]
    assert project_python(("alembic",), tree, env) == ["/usr/bin/env", "python3"]
    assert project_python(("uv", "run", "alembic"), tree, env) == ["uv", "run", "python"]
    assert project_python((".venv/bin/python", "-m", "alembic"), tree, env) == [".venv/bin/python"]
    # not found, or no #! line: stager's own, the best it can do
    assert project_python(("alembic",), tree, {"PATH": str(tmp_path / "none")}) == [sys.executable]
