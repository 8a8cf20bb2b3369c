"""The sandbox: bubblewrap, unprivileged, with an allowlist of mounts.

Every process that runs student code starts inside ``bwrap`` with

- a user namespace in which it is uid and gid 65534, with every capability dropped and no
  way to make a nested user namespace (so no ``mount``, ``umount`` or ``unshare``);
- its own pid, ipc, uts and network namespaces (the network is a bare loopback) and its own
  session, killed with its parent;
- only these files: the system's libraries and programs (``/usr``, ``/lib*``, ``/bin``),
  a few files of ``/etc``, the Python installation, of the environment's site-packages only
  the distributions the notebooks need (``environment``), the build of ``grader`` and
  ``autodiff`` for the run at ``/sandbox/lib`` (``builds``), all read-only; and read-write,
  the run's scratch folder at ``/scratch`` and its ``/tmp`` and ``/dev/shm``, which are
  folders of the trusted side's making on disk (never a memory-backed file system, so that
  the trusted side can measure them and stop a sandbox that fills them).

Not the course, not another student's files, not the repository, its ``.git`` or
``build/``, not ``/root`` or ``/home``.  A host whose kernel forbids unprivileged user
namespaces cannot run it: ``check`` says how to allow them.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

SANDBOX_UID = 65534
SCRATCH = "/scratch"
ETC_FILES = (
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/localtime",
    "/etc/nsswitch.conf",
    "/etc/hosts",
    "/etc/passwd",
    "/etc/group",
    "/etc/mime.types",
    "/etc/fonts",
)
LAUNCH_ENVIRONMENT = {"PATH": "/usr/bin:/bin"}
"""The environment ``bwrap`` itself starts in (the sandbox's own is set with ``--setenv``):
nothing of the grader's, since a sandbox can read its pid 1's ``/proc/1/environ``."""
SYSTEM_FOLDERS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")

HOW_TO_ENABLE = (
    "The grading sandbox needs unprivileged user namespaces. Enable them as root with "
    "`sysctl -w kernel.unprivileged_userns_clone=1` (Debian) or "
    "`sysctl -w user.max_user_namespaces=15000`, and on Ubuntu 23.10 and later also "
    "`sysctl -w kernel.apparmor_restrict_unprivileged_userns=0`; then grade again. "
    "Or grade WITHOUT the sandbox (`grader autograde --no-sandbox`): student code then runs "
    "as you, with resource limits only."
)


class SandboxUnavailable(RuntimeError):
    """The sandbox cannot run on this machine (the message says what to do)."""


@dataclass
class Mounts:
    """What a sandbox sees besides the system, in the order the mounts are made (a later
    mount covers an earlier one): ``empty`` makes a folder an empty one (read-only once
    everything is mounted), ``read_only`` shows a host path at a sandbox path, ``hidden``
    makes a file read as empty."""

    steps: list[tuple[str, ...]] = field(default_factory=list)

    def empty(self, folder: str) -> None:
        self.steps.append(("empty", folder))

    def read_only(self, source: str, target: str) -> None:
        self.steps.append(("read_only", source, target))

    def hidden(self, file: str) -> None:
        self.steps.append(("hidden", file))


def bubblewrap() -> str | None:
    """The ``bwrap`` executable, if installed (Debian package ``bubblewrap``)."""
    return shutil.which("bwrap") or next(
        (p for p in ("/usr/bin/bwrap", "/bin/bwrap") if os.access(p, os.X_OK)), None
    )


@functools.lru_cache(maxsize=1)
def _supports_disable_userns(bwrap: str) -> bool:
    try:
        text = subprocess.run([bwrap, "--help"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return False
    return "--disable-userns" in text.stdout + text.stderr


def check() -> None:
    """Raise ``SandboxUnavailable`` unless an unprivileged sandbox can start here."""
    bwrap = bubblewrap()
    if bwrap is None:
        raise SandboxUnavailable(
            "bubblewrap is not installed: install it (`apt-get install bubblewrap` as root) "
            "for the grading sandbox, or grade WITHOUT it (`grader autograde --no-sandbox`): "
            "student code then runs as you, with resource limits only."
        )
    probe = [bwrap, *_namespaces(bwrap), "--ro-bind", "/", "/", "--proc", "/proc", "true"]
    try:
        done = subprocess.run(probe, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as error:
        raise SandboxUnavailable(f"bubblewrap could not start: {error}. {HOW_TO_ENABLE}") from None
    if done.returncode != 0:
        reason = done.stderr.strip().splitlines()[-1:] or ["no reason given"]
        raise SandboxUnavailable(f"bubblewrap could not start: {reason[0]}. {HOW_TO_ENABLE}")


def _namespaces(bwrap: str) -> list[str]:
    args = ["--unshare-user", "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID)]
    if _supports_disable_userns(bwrap):
        args.append("--disable-userns")
    args += ["--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-net"]
    args += ["--unshare-cgroup-try", "--hostname", "sandbox", "--cap-drop", "ALL"]
    return args + ["--new-session", "--die-with-parent"]


WRITABLE = (SCRATCH, "/tmp", "/dev/shm")  # the folders a sandbox writes, in this order


def writable_folders(root: Path) -> dict[str, Path]:
    """Make the fresh folders under ``root`` (itself new, made by the caller) that a sandbox
    writes: its ``/scratch``, ``/tmp`` and ``/dev/shm``."""
    folders = {}
    for target in WRITABLE:
        folder = Path(root) / target.strip("/").replace("/", "-")
        folder.mkdir(mode=0o700)
        folders[target] = folder
    return folders


def command(
    argv: list[str], mounts: Mounts, writable: dict[str, Path], environment: dict[str, str]
) -> list[str]:
    """``argv`` wrapped in the sandbox: each host folder of ``writable`` (from
    ``writable_folders``, never a folder a sandbox has written before) is shown read-write at
    its sandbox path."""
    bwrap = bubblewrap()
    if bwrap is None:
        raise SandboxUnavailable("bubblewrap is not installed")
    args = [bwrap, *_namespaces(bwrap), "--clearenv"]
    for name, value in sorted(environment.items()):
        args += ["--setenv", name, value]
    for folder in SYSTEM_FOLDERS:
        path = Path(folder)
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), folder]
        elif path.is_dir():
            args += ["--ro-bind", folder, folder]
    for file in ETC_FILES:
        if os.path.exists(file):
            args += ["--ro-bind", file, file]
    args += ["--proc", "/proc", "--dev", "/dev"]
    # The writable folders first: a course or an environment kept under /tmp is then mounted
    # over the sandbox's own /tmp rather than hidden by it.
    for target, folder in writable.items():
        args += ["--bind", str(folder), target]
    emptied = []
    for kind, *paths in mounts.steps:
        if kind == "empty":
            args += ["--tmpfs", paths[0]]
            emptied.append(paths[0])
        elif kind == "read_only":
            args += ["--ro-bind", paths[0], paths[1]]
        elif kind == "hidden":
            args += ["--ro-bind", "/dev/null", paths[0]]
    # The working folder is the read-only root: ``python -m`` puts it first on the import path,
    # and a package planted in the scratch folder must not be imported by a restarted server.
    args += ["--chdir", "/"]
    # bwrap's root and its /dev are memory-backed file systems: read-only like the rest (a
    # file written there would take the host's memory and outlive the student's job).
    for folder in [*emptied, "/dev", "/"]:
        args += ["--remount-ro", folder]
    return [*args, "--", *argv]
