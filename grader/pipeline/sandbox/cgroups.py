"""Caps on the processes, the memory and the processor share of one sandbox, where the
kernel's per-process limits do not reach.

Inside a sandbox each process sets ``RLIMIT_NPROC`` and ``RLIMIT_AS`` on itself
(``limits``).  Three things escape them.  The kernel exempts a process whose real user is
root, which a sandbox started by root is, from ``RLIMIT_NPROC``.  Memory that no process
maps (a System V shared-memory segment created and detached, a file in a memory-backed
file system) counts against no address space.  And the scheduler shares the processor
between sessions (autogroups): a sandbox whose processes each call ``setsid`` takes a share
per process, starving the sandbox of another student, whose time limits run on the wall
clock.  So, where it can, the sandbox is started in cgroups of its own, made for it and
removed after it: the ``pids`` controller caps its processes and threads, the ``memory``
controller everything it holds in memory, shared memory included, and the ``cpu``
controller gives the whole sandbox one share, however many sessions it makes (version 1 or
2, whichever this machine lets root write).  Where none exists, ``ResourceCap.create``
returns None and the caller says so.

A cgroup also counts the processor time of everything in it (``processor_seconds``: the
``cpuacct`` controller in version 1, ``cpu.stat`` in version 2), a count no process can hide
from, not even one whose finished children the kernel reaps itself (``SIGCHLD`` ignored), whose
time ``/proc`` never shows.
"""

from __future__ import annotations

import itertools
import os
import time
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
LIMIT_FILES = {  # controller: (version 1 file, version 2 file)
    "pids": ("pids.max", "pids.max"),
    "memory": ("memory.limit_in_bytes", "memory.max"),
    "cpu": ("cpu.shares", "cpu.weight"),
    "cpuacct": ("cpuacct.usage", "cpu.stat"),  # no limit: it counts processor time
}
CPU_SHARE = {"cpu.shares": 1024, "cpu.weight": 100}  # each sandbox the default share
_names = itertools.count()


def _own_cgroup(controller: str) -> tuple[Path, str] | None:
    """The folder of this process's cgroup in a writable hierarchy of ``controller``, and
    the name of the file that sets its limit there; None if there is none."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    version_1, version_2 = LIMIT_FILES[controller]
    for line in lines:
        number, controllers, path = (line.split(":", 2) + ["", ""])[:3]
        if controller in controllers.split(","):  # version 1
            folder = CGROUP_ROOT / controller / path.lstrip("/")
            if os.access(folder, os.W_OK):
                return folder, version_1
    for line in lines:
        if line.startswith("0::"):  # version 2: the controller must be enabled for children
            folder = CGROUP_ROOT / line[3:].lstrip("/")
            try:
                enabled = (folder / "cgroup.subtree_control").read_text().split()
            except OSError:
                return None
            if controller in enabled and os.access(folder, os.W_OK):
                return folder, version_2
    return None


class ResourceCap:
    """The cgroups of one sandbox: at most ``processes`` processes and threads, at most
    ``memory_bytes`` of memory, and one share of the processor, where the machine has the
    controllers."""

    def __init__(self, folders: list[Path]) -> None:
        self.folders = folders

    @classmethod
    def create(cls, processes: int, memory_bytes: int) -> ResourceCap | None:
        """New cgroups for one sandbox, or None where this process cannot make any (not
        root, or no writable hierarchy)."""
        if os.geteuid() != 0:
            return None
        cap = cls([])
        name = f"grader-{os.getpid()}-{next(_names)}"
        for controller, value in (("pids", processes), ("memory", memory_bytes), ("cpu", 1)):
            if value <= 0:  # no limit
                continue
            found = _own_cgroup(controller)
            if found is None:
                continue
            parent, limit_file = found
            limit = str(CPU_SHARE.get(limit_file, value))
            folder = parent / name
            if folder in cap.folders:  # version 2: one folder holds every controller
                try:
                    (folder / limit_file).write_text(limit)
                except OSError:
                    pass
                continue
            try:
                folder.mkdir()
            except OSError:
                continue
            try:
                (folder / limit_file).write_text(limit)
                cap.folders.append(folder)
            except OSError:
                cls([folder]).remove()
        counting = _own_cgroup("cpuacct")
        if counting is not None and counting[1] == "cpuacct.usage":  # version 1, its own
            folder = counting[0] / name
            if folder not in cap.folders:
                try:
                    folder.mkdir()
                    cap.folders.append(folder)
                except OSError:
                    pass
        return cap if cap.folders else None

    def processor_seconds(self) -> float | None:
        """The processor time used so far by every process that was ever in the sandbox's
        cgroups; None where none of them counts it."""
        for folder in self.folders:
            try:
                return int((folder / "cpuacct.usage").read_text()) / 1e9
            except (OSError, ValueError):
                pass
            try:
                for line in (folder / "cpu.stat").read_text().splitlines():
                    key, _, value = line.partition(" ")
                    if key == "usage_usec":
                        return int(value) / 1e6
            except (OSError, ValueError):
                pass
        return None

    def wrap(self, argv: list[str]) -> list[str]:
        """``argv`` started inside the cgroups: a shell moves itself into each, then becomes
        ``argv`` (no Python runs between fork and exec in a process with threads, where a
        lock another thread held at the fork would never be released)."""
        join = 'while [ "$1" != -- ]; do echo $$ > "$1" || exit 126; shift; done; shift; '
        procs = [str(folder / "cgroup.procs") for folder in self.folders]
        return ["/bin/sh", "-c", join + 'exec "$@"', "sh", *procs, "--", *argv]

    def remove(self, seconds: float = 5.0) -> None:
        """Remove the cgroups once their processes are gone."""
        deadline = time.monotonic() + seconds
        for folder in self.folders:
            while True:
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        break
                    time.sleep(0.05)
