"""Where a submission's code runs: a bubblewrap sandbox, or resource limits alone.

Inside the sandbox the whole file system is read-only, the course folder (every other
student's work, the gradebook, the sources) is hidden behind an empty directory, ``/tmp``
is private, the network is a bare loopback, and only the worker's own scratch folder is
writable.  The worker process then caps its memory and file sizes before it starts
nbgrader, and the kernels that run the students' code inherit those caps; time is limited
per cell by nbgrader and per submission by the caller.
"""

from __future__ import annotations

import os
import resource
import shutil
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Limits:
    """Per-submission limits."""

    memory_bytes: int = 4 * 1024**3  # address space of the worker and its kernel
    file_bytes: int = 256 * 1024**2  # largest file the job may write
    cell_seconds: int = 60  # nbgrader stops a cell after this long
    job_seconds: int = 900  # the whole submission, kernel start included


class SandboxUnavailableWarning(UserWarning):
    """bubblewrap is missing: submissions run with resource limits only."""


_warned = False


def bubblewrap() -> str | None:
    """The ``bwrap`` executable, if installed (Debian package ``bubblewrap``)."""
    return shutil.which("bwrap")


def command(
    argv: list[str], scratch: Path, hidden: list[Path], use_bubblewrap: bool = True
) -> list[str]:
    """``argv`` wrapped so that it runs sandboxed with ``scratch`` as its only writable
    folder and each folder of ``hidden`` replaced by an empty one."""
    global _warned
    bwrap = bubblewrap() if use_bubblewrap else None
    if bwrap is None:
        if use_bubblewrap and not _warned:
            warnings.warn(
                "bubblewrap (bwrap) is not installed: student code will run with time and "
                "memory limits but WITHOUT file-system and network isolation. Install it "
                "with `apt-get install bubblewrap` for sandboxed grading.",
                SandboxUnavailableWarning,
                stacklevel=2,
            )
            _warned = True
        return argv
    args = [bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]
    for folder in _needed():  # the interpreter and this project, wherever they live
        args += ["--ro-bind", str(folder), str(folder)]
    for folder in hidden:
        if folder.exists():
            args += ["--tmpfs", str(folder.resolve())]
    scratch = scratch.resolve()
    # The working folder is read-only: ``python -m`` puts it first on the import path.
    args += ["--bind", str(scratch), str(scratch), "--chdir", "/"]
    args += ["--unshare-net", "--unshare-pid", "--unshare-ipc", "--die-with-parent"]
    args += ["--setenv", "HOME", str(scratch / "home"), "--setenv", "TMPDIR", str(scratch)]
    return args + ["--", *argv]


def _needed() -> list[Path]:
    """Folders the worker must read even when they lie under the private ``/tmp``: the
    Python installation, the environment, and the folder holding this project's packages."""
    import autodiff.core  # a module, so it has a file even if the package were a namespace

    folders = {Path(sys.prefix), Path(sys.base_prefix), Path(sys.exec_prefix)}
    folders |= {
        Path(__file__).resolve().parents[2],
        Path(autodiff.core.__file__).resolve().parents[1],
    }
    tmp = Path("/tmp").resolve()
    return sorted(f.resolve() for f in folders if f.resolve().is_relative_to(tmp))


def limit_resources(limits: Limits) -> None:
    """Cap this process (and the kernel it will start) at ``limits``."""
    for name, value in (
        ("RLIMIT_AS", limits.memory_bytes),
        ("RLIMIT_FSIZE", limits.file_bytes),
        ("RLIMIT_CORE", 0),
    ):
        kind = getattr(resource, name, None)
        if kind is not None:
            resource.setrlimit(kind, (value, value))


def python() -> str:
    """The interpreter of this environment (the sandbox sees the same files)."""
    return sys.executable or os.fspath(shutil.which("python3"))
