"""Which interpreter the package-origin check asks: the one that runs the project's Alembic."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from stager.database.alembic_run import ProjectAlembic
from stager.database.package_origin import project_python
from stager.database.psql import Connection
from tests.database.project import project_files


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


def test_the_package_origin_is_asked_of_the_projects_own_interpreter(tmp_path: Path) -> None:
    # The project's virtualenv has an editable install of the user's checkout (a .pth);
    # stager's own interpreter has not, so asking it would find nothing to warn about.
    tree, scratch = tmp_path / "tree", tmp_path / "scratch"
    scratch.mkdir()
    for path, text in project_files().items():
        (tree / path).parent.mkdir(parents=True, exist_ok=True)
        (tree / path).write_text(text)
    env_py = tree / "migrations" / "env.py"
    env_py.write_text("import fuelapp\n" + env_py.read_text())
    (tree / "src" / "fuelapp").mkdir(parents=True)
    (tree / "src" / "fuelapp" / "__init__.py").write_text("")
    checkout = tmp_path / "checkout"
    (checkout / "fuelapp").mkdir(parents=True)
    (checkout / "fuelapp" / "__init__.py").write_text("")
    venv = tmp_path / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", "--system-site-packages", str(venv)],
        check=True,
    )
    python = venv / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    Path(site, "__editable__.fuelapp.pth").write_text(f"{checkout}\n")
    connection = Connection("127.0.0.1", 9, "stager", "pw", "stager_verify_x")

    stagers = ProjectAlembic.parse("alembic -c alembic.ini")
    projects = ProjectAlembic.parse(f"{python} -m alembic -c alembic.ini")
    assert stagers.foreign_packages(tree, scratch, connection) == []
    assert projects.foreign_packages(tree, scratch, connection) == [
        f"the project's package fuelapp resolves to {checkout / 'fuelapp' / '__init__.py'}, "
        "outside the phase's tree (an editable install of a checkout?): its Alembic would "
        "import that code, not the phase's"
    ]
