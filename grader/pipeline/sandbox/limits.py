"""The limits of one submission's grading, and how a process caps itself at them.

``Limits`` is the one place their defaults live: the command line takes its defaults from
it.  Every sandboxed process (the notebook server, each grading run) sets the limits on
itself before any student code runs (``limit_resources``); what a resource limit of the
process cannot bound -- wall time and the disk space of the scratch folder -- the trusted
side watches from outside and stops the sandbox when it is exceeded.
"""

from __future__ import annotations

import resource
import signal
import threading
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Limits:
    """Per-submission limits."""

    memory_bytes: int = 4 * 1024**3  # address space of each sandboxed process
    file_bytes: int = 256 * 1024**2  # largest file a submission may write
    scratch_bytes: int = 1024**3  # all the files of a sandbox's scratch folder together
    processes: int = 256  # processes and threads of one sandbox (0: no limit)
    cell_seconds: int = 60  # nbgrader stops a cell after this long (a statement, in a grading run)
    job_seconds: int = 900  # a whole run of the notebook, kernel start included
    grading_run_seconds: int = 300  # a whole grading run of a submission's functions

    @property
    def case_seconds(self) -> int:
        """The time limit of one case of a check: a third of a cell's."""
        return max(1, self.cell_seconds // 3)

    def as_dict(self) -> dict[str, int]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> Limits:
        known = set(cls.__dataclass_fields__)
        return cls(**{k: int(v) for k, v in values.items() if k in known})


def limit_resources(limits: Limits) -> None:
    """Cap this process (and what it starts) at ``limits``.  The process count is counted
    per user namespace, so inside a sandbox it bounds that sandbox alone (a process whose
    real user is root is exempt from it: ``sandbox.bubblewrap`` then gives the sandbox a
    cgroup where the system allows one)."""
    for name, value in (
        ("RLIMIT_AS", limits.memory_bytes),
        ("RLIMIT_FSIZE", limits.file_bytes),
        ("RLIMIT_NPROC", limits.processes),
        ("RLIMIT_CORE", 0),
    ):
        kind = getattr(resource, name, None)
        if kind is not None and (value or name == "RLIMIT_CORE"):
            resource.setrlimit(kind, (value, value))
    # A write past the file-size limit fails with an error the student's code sees, instead
    # of killing the process (and every other task graded in it) with SIGXFSZ.
    if hasattr(signal, "SIGXFSZ") and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
