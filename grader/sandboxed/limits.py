"""How a sandboxed process caps itself at its limits, before any student code runs.

The limits arrive as plain data (``grader.pipeline.sandbox.limits.Limits.as_dict`` on the
trusted side, which holds their defaults).  The process count is counted per user
namespace, so inside a sandbox it bounds that sandbox alone (a process whose real user is
root is exempt: the trusted side then starts the sandbox in a cgroup of its own where the
system allows one); 0 means no process limit (a run without the sandbox, where the count
would be the whole account's).
"""

from __future__ import annotations

import resource
import signal
import threading

RLIMITS = (
    ("RLIMIT_AS", "memory_bytes"),
    ("RLIMIT_FSIZE", "file_bytes"),
    ("RLIMIT_NPROC", "processes"),
)


def limit_resources(limits: dict[str, int]) -> None:
    """Cap this process (and what it starts) at ``limits``; no core files."""
    for name, key in RLIMITS:
        kind, value = getattr(resource, name, None), int(limits.get(key, 0))
        if kind is not None and value > 0:
            resource.setrlimit(kind, (value, value))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # A write past the file-size limit fails with an error the student's code sees, instead
    # of killing the process (and every other task graded in it) with SIGXFSZ.
    if hasattr(signal, "SIGXFSZ") and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
