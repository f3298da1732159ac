"""How many examples a property test tries: a share by default, all of them when thorough.

``pytest`` (README, .ci/run) runs the ``default`` profile, so that the whole
suite stays under five minutes on two cores; ``STAGER_HYPOTHESIS_PROFILE=thorough
pytest`` runs every property test at its full count (before a release, or
after changing what a property test covers). tests/conftest.py loads the profile.
"""

from __future__ import annotations

import os

PROFILES = ("default", "thorough")
PROFILE = os.environ.get("STAGER_HYPOTHESIS_PROFILE", "default")
if PROFILE not in PROFILES:
    raise RuntimeError(f"STAGER_HYPOTHESIS_PROFILE={PROFILE!r}: use one of {', '.join(PROFILES)}")

SHARE = 4
"""The default profile tries a quarter of a test's examples."""

FLOOR = 10
"""...but never fewer than this (or the test's own count, when that is smaller)."""


def examples(thorough: int) -> int:
    """``max_examples`` of a property test whose full run tries ``thorough`` examples."""
    if PROFILE == "thorough":
        return thorough
    return min(thorough, max(FLOOR, thorough // SHARE))
