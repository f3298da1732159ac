"""Which process a lock or journal names: a pid, when it started, and on which host.

A pid alone is not enough to tell that a run is gone: the kernel reuses pids.
The pid with its start time names one process for good; the host says
whether the pid can be checked here at all (a repository on a shared disk).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path


def this_host() -> str:
    """This machine's name: a pid names a process only on its own host."""
    return os.uname().nodename if sys.platform != "win32" else os.environ.get("COMPUTERNAME", "")


def process_start(pid: int) -> str:
    """When process ``pid`` started, in the kernel's clock ticks; "" where that is unknown.

    With the pid it names a process for good: a pid can be reused, the pair cannot.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:  # no /proc (macOS), or a process of another user hidden by hidepid
        return ""
    # field 22, counted after the command name in parentheses (which may hold either)
    fields = stat.rpartition(b")")[2].split()
    return fields[19].decode("ascii") if len(fields) > 19 else ""


@dataclass(frozen=True)
class Owner:
    """The run that owns a quarantine, as its lock file names it."""

    pid: int
    start: str
    host: str

    def line(self) -> bytes:
        return f"{self.pid} {self.start or '-'} {self.host}\n".encode()

    @classmethod
    def parse(cls, data: bytes) -> Owner | None:
        """The owner of a lock file's line; None for a line cut short by a kill."""
        words = data.decode("utf-8", "replace").split(maxsplit=2)
        if len(words) != 3 or not words[0].isdigit() or not data.endswith(b"\n"):
            return None
        return cls(int(words[0]), "" if words[1] == "-" else words[1], words[2].strip())

    def alive(self) -> bool:
        """True unless the process is surely gone: exited, or its pid reused since."""
        if sys.platform == "win32":
            return True  # os.kill would end the process there: never guess
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except (OSError, OverflowError):
            return True  # another user's process, or no pid at all: never guess
        start = process_start(self.pid)
        return not (start and self.start and start != self.start)
