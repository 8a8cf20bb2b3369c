"""The folders a sandbox wrote, seen from the trusted side: measured while it runs, removed
after it, at any depth, following no link and opening no file.

Both use the system's own tools (coreutils' ``du`` and ``rm``), which walk a tree of any
depth without recursion and never follow a symbolic link; Python's recursive walks stop with
``RecursionError`` on a tree a few thousand folders deep, which a sandbox can make in a
moment.  Neither runs where a sandbox is running (a removal) or trusts what it finds (a
measurement: a count that cannot be made in time is over any limit).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

MEASURE_SECONDS = 20
REMOVE_SECONDS = 600


def folder_bytes(path: Path) -> int | None:
    """The disk space the files under ``path`` use, in bytes; None when it cannot be told
    within ``MEASURE_SECONDS`` (too many entries)."""
    return _du(path, "--block-size=1")


def folder_entries(path: Path) -> int | None:
    """How many files, folders and links ``path`` holds (itself included); None when it
    cannot be told within ``MEASURE_SECONDS``."""
    return _du(path, "--inodes")


def _du(path: Path, unit: str) -> int | None:
    try:
        done = subprocess.run(
            ["du", "-s", "-x", unit, "--", str(path)],
            capture_output=True,
            timeout=MEASURE_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    try:
        return int(done.stdout.split()[0])
    except (IndexError, ValueError):
        return None if os.path.lexists(path) else 0


def remove_folder(path: Path) -> None:
    """Remove ``path`` and everything under it, once no sandbox runs there: its owner's
    rights restored on every folder first (a sandbox may have locked some), no link
    followed."""
    if not os.path.lexists(path):
        return
    for command in (["chmod", "-R", "u+rwx", "--", str(path)], ["rm", "-rf", "--", str(path)]):
        try:
            subprocess.run(command, capture_output=True, timeout=REMOVE_SECONDS, check=False)
        except (OSError, subprocess.TimeoutExpired):
            pass
