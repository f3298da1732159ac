"""Progress lines on stderr (stager.render.progress): a slow machine may show any step.

A step shows once it lasts a second, so a loaded CI machine sees some that an
idle one does not; a test of what else stderr says leaves them out.
"""

from __future__ import annotations

import re

_PROGRESS = re.compile(
    r"^stager: .+(?: …|: (?:stopped after )?(?:\d+\.\d s|\d+ min \d\d s))\n", re.MULTILINE
)


def without_progress(stderr: str) -> str:
    """``stderr`` without its progress lines (``stager: step …``, ``stager: step: 1.2 s``)."""
    return _PROGRESS.sub("", stderr)
