"""The limits of one submission's grading.

``Limits`` is the one place their defaults live: the command line takes its defaults from
it.  They reach every sandboxed process as plain data (``as_dict``), and each one sets them
on itself before any student code runs (``grader.sandboxed.limits``); what a resource limit
of a process cannot bound -- wall time and the disk space of a sandbox's folders -- the
trusted side watches from outside and stops the sandbox when it is exceeded.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Limits:
    """Per-submission limits."""

    memory_bytes: int = 4 * 1024**3  # address space of each sandboxed process
    sandbox_memory_bytes: int = 5 * 1024**3  # all one sandbox holds in memory (cgroups)
    file_bytes: int = 256 * 1024**2  # largest file a submission may write
    scratch_bytes: int = 1024**3  # all the files of a sandbox's folders together
    scratch_files: int = 100_000  # their files, folders and links (an empty file uses a
    # place on the disk too: millions of them fill it as surely as bytes)
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
