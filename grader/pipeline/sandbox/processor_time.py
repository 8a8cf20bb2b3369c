"""The processor time a sandbox has used: the user and system time of a process and of all its
descendants, living, or ended and collected by one of them, read from ``/proc/<pid>/stat``
(readable for any process, even one that cannot be traced).

A grading run lives in its own process namespace (``bwrap --unshare-pid``), so whatever it
starts stays a descendant of the process the grading worker started, and an orphan is
collected by the namespace's first process.  The count includes every thread (a process's
times are the sum of its threads').  It misses the children of a process that ignores
``SIGCHLD`` (the kernel reaps them and adds their time to no one): where the grader runs as
root, the sandbox's cgroup counts instead (``cgroups.ResourceCap.processor_seconds``).
"""

from __future__ import annotations

import os
from collections.abc import Callable

TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
PROC = "/proc"


def tree_seconds(root: int, proc: str = PROC) -> float:
    """Seconds of processor time used so far by ``root`` and its descendants (0.0 where
    ``/proc`` cannot be read)."""
    children: dict[int, list[int]] = {}
    ticks: dict[int, int] = {}
    try:
        entries = list(os.scandir(proc))
    except OSError:
        return 0.0
    for entry in entries:
        if not entry.name.isdigit():
            continue
        read = _stat(os.path.join(proc, entry.name, "stat"))
        if read is None:
            continue
        parent, used = read
        pid = int(entry.name)
        children.setdefault(parent, []).append(pid)
        ticks[pid] = used
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += ticks.get(pid, 0)
        stack.extend(children.get(pid, ()))
    return total / TICKS


def _stat(path: str) -> tuple[int, int] | None:
    """A process's parent, and its user and system ticks with those of the children it
    collected; None when it is gone or unreadable."""
    try:
        with open(path, "rb") as stream:
            data = stream.read(4096)
    except OSError:
        return None
    fields = data[data.rfind(b")") + 2 :].split()  # the name may hold spaces and brackets
    try:
        parent = int(fields[1])
        used = sum(int(field) for field in fields[11:15])  # utime stime cutime cstime
    except (IndexError, ValueError):
        return None
    return parent, used


def tree_clock(root: int) -> Callable[[], float]:
    """A clock of the processor time of ``root``'s tree."""
    return lambda: tree_seconds(root)
