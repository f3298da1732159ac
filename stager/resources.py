"""Files stager ships next to its code: the default rules.toml and the templates."""

from __future__ import annotations

from pathlib import Path

from stager.errors import StagerError

_PACKAGE_DIR = Path(__file__).resolve().parent


def packaged_path(name: str) -> Path:
    """Path of a shipped file or folder (``"rules.toml"``, ``"templates"``).

    An installed wheel carries them in ``stager/_data/`` (pyproject's
    force-include); a source or editable checkout has them at the repository
    root, next to the ``stager/`` package.
    """
    installed = _PACKAGE_DIR / "_data" / name
    if installed.exists():
        return installed
    root = _PACKAGE_DIR.parent
    # Only trust the parent folder when it is our checkout: in site-packages it
    # is shared with every other distribution (some ship a stray "templates").
    if (root / "pyproject.toml").is_file() and (root / name).exists():
        return root / name
    raise StagerError(
        f"stager's packaged {name!r} is missing from {_PACKAGE_DIR}",
        "reinstall stager (pip install --force-reinstall stager)",
    )
