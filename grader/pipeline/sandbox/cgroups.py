"""A cap on the processes of one sandbox where the kernel's per-user limit does not apply.

Inside a sandbox each process sets ``RLIMIT_NPROC`` on itself (``limits``), which the kernel
counts per user namespace: a fork bomb stops at the cap and the other sandboxes go on.  But
the kernel exempts a process whose real user is root, which a sandbox started by root is.
Then the sandbox is started in a cgroup of its own with the ``pids`` controller (version 1
or 2, whichever this machine lets root write), made for it and removed after it.  Where
neither exists, ``ProcessCap.create`` returns None and the caller says so.
"""

from __future__ import annotations

import itertools
import os
import time
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
_names = itertools.count()


def _own_pids_cgroup() -> Path | None:
    """The folder of this process's cgroup in a writable ``pids`` hierarchy, if any."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        number, controllers, path = (line.split(":", 2) + ["", ""])[:3]
        if "pids" in controllers.split(","):  # version 1
            folder = CGROUP_ROOT / "pids" / path.lstrip("/")
            if os.access(folder, os.W_OK):
                return folder
    for line in lines:
        if line.startswith("0::"):  # version 2: pids must be enabled for the children
            folder = CGROUP_ROOT / line[3:].lstrip("/")
            try:
                enabled = (folder / "cgroup.subtree_control").read_text().split()
            except OSError:
                return None
            if "pids" in enabled and os.access(folder, os.W_OK):
                return folder
    return None


class ProcessCap:
    """A cgroup that holds at most ``processes`` processes and threads."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._procs = str(folder / "cgroup.procs")

    @classmethod
    def create(cls, processes: int) -> ProcessCap | None:
        """A new cgroup for one sandbox, or None where this process cannot make one (not
        root, or no writable ``pids`` hierarchy)."""
        if os.geteuid() != 0:
            return None
        parent = _own_pids_cgroup()
        if parent is None:
            return None
        folder = parent / f"grader-{os.getpid()}-{next(_names)}"
        try:
            folder.mkdir()
            (folder / "pids.max").write_text(str(processes))
        except OSError:
            cls(folder).remove()
            return None
        return cls(folder)

    def wrap(self, argv: list[str]) -> list[str]:
        """``argv`` started inside the cgroup: a shell moves itself into it, then becomes
        ``argv`` (no Python runs between fork and exec in a process with threads, where a
        lock another thread held at the fork would never be released)."""
        return ["/bin/sh", "-c", 'echo $$ > "$0" && exec "$@"', self._procs, *argv]

    def remove(self, seconds: float = 5.0) -> None:
        """Remove the cgroup once its processes are gone."""
        deadline = time.monotonic() + seconds
        while True:
            try:
                self.folder.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:
                if time.monotonic() > deadline:
                    return
                time.sleep(0.05)
