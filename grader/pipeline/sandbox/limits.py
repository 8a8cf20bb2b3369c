"""The limits of one submission's grading, and how a process caps itself at them.

``Limits`` is the one place their defaults live: the command line takes its defaults from
it.
"""

from __future__ import annotations

import resource
from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """Per-submission limits."""

    memory_bytes: int = 4 * 1024**3  # address space of each sandboxed process
    file_bytes: int = 256 * 1024**2  # largest file a submission may write
    cell_seconds: int = 60  # nbgrader stops a cell after this long (a statement, in a grading run)
    job_seconds: int = 900  # a whole run of the notebook, kernel start included
    grading_run_seconds: int = 300  # a whole grading run of a submission's functions

    @property
    def case_seconds(self) -> int:
        """The time limit of one case of a check: a third of a cell's."""
        return max(1, self.cell_seconds // 3)


def limit_resources(limits: Limits) -> None:
    """Cap this process (and what it starts) at ``limits``."""
    for name, value in (
        ("RLIMIT_AS", limits.memory_bytes),
        ("RLIMIT_FSIZE", limits.file_bytes),
        ("RLIMIT_CORE", 0),
    ):
        kind = getattr(resource, name, None)
        if kind is not None:
            resource.setrlimit(kind, (value, value))
