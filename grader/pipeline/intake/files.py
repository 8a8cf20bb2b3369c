"""Reading the files of a submission (``submitted/<student>/<assignment>/``) safely.

Whatever is there came from a student through some tool -- nbgrader's own collect copies a
student's folder as it is -- so a name that should be a notebook may be a folder, a named
pipe (FIFO), a link, a device or a file of gigabytes.  A file is read here only if it is a
regular file, opened without following a link and without waiting (a FIFO with no writer
would block a plain ``open`` forever), and no more than a size cap is read.  Anything else
raises ``UnreadableSubmission`` saying what is there and what to do about it.
"""

from __future__ import annotations

import errno
import os
import stat
from datetime import datetime
from pathlib import Path

from nbgrader.utils import parse_utc

MAX_BYTES = 50 * 1024**2
"""The largest notebook read (a notebook of the course is a few hundred kilobytes)."""
MAX_TIMESTAMP_BYTES = 4096
"""The largest ``timestamp.txt`` read (nbgrader writes one line of about 30 characters)."""
TIMESTAMP = "timestamp.txt"
_CHUNK = 1024**2
_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC | getattr(os, "O_NOCTTY", 0)
_REPLACE = "replace it with the student's notebook (the .ipynb file)"


class UnreadableSubmission(Exception):
    """The file cannot be read as a notebook (the message says why, and what to do)."""


def read_submitted(path: Path, limit: int = MAX_BYTES) -> bytes:
    """The bytes of the regular file ``path``, at most ``limit`` of them, read without
    following a link or waiting for a writer; ``UnreadableSubmission`` for anything else."""
    try:
        descriptor = os.open(path, _FLAGS)
    except OSError as error:
        raise UnreadableSubmission(_cannot_open(path, error)) from None
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            raise UnreadableSubmission(
                f"it is {kind_of(info.st_mode)}, not a notebook file: {_REPLACE}"
            )
        if info.st_size > limit:
            raise UnreadableSubmission(_too_large(info.st_size, limit))
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(descriptor, min(_CHUNK, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:  # it grew while being read
            raise UnreadableSubmission(_too_large(size, limit))
        return b"".join(chunks)
    except OSError as error:
        raise UnreadableSubmission(f"it could not be read ({_reason(error)})") from None
    finally:
        os.close(descriptor)


def submitted_at(folder: Path) -> datetime | None:
    """The time in ``folder/timestamp.txt``, as nbgrader reads it; None when there is none
    or it cannot be read (not a regular file, too large, not a time)."""
    try:
        data = read_submitted(folder / TIMESTAMP, MAX_TIMESTAMP_BYTES)
        text = data.decode("utf-8", errors="replace")[:200].strip()
        return parse_utc(text) if text else None
    except (UnreadableSubmission, ValueError, OverflowError):
        return None


def _cannot_open(path: Path, error: OSError) -> str:
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        mode = None
    if mode is not None and stat.S_ISLNK(mode):
        try:
            target = f" (to {shown(os.readlink(path))})"
        except OSError:
            target = ""
        return (
            f"it is a symbolic link{target}, not a notebook file; the grader does not follow "
            f"links: {_REPLACE}"
        )
    if mode is not None and not stat.S_ISREG(mode):
        return f"it is {kind_of(mode)}, not a notebook file: {_REPLACE}"
    if error.errno == errno.ENOENT:
        return "it is missing (it was removed while the grader read the submission)"
    if error.errno in (errno.EACCES, errno.EPERM):
        return "the grader is not allowed to read it (permission denied): make it readable"
    return f"it could not be opened ({_reason(error)})"


def kind_of(mode: int) -> str:
    """What a file of ``mode`` is, for a message ("a folder", "a named pipe (FIFO)", ...)."""
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISREG(mode):
        return "a file"
    return "not a regular file"


def _too_large(size: int, limit: int) -> str:
    return (
        f"the file is {size / 1024**2:.0f} MB, over the limit of {limit / 1024**2:.0f} MB: "
        f"clear the notebook's outputs, or {_REPLACE}"
        if limit >= 1024**2
        else f"the file is over the limit of {limit} bytes"
    )


def _reason(error: OSError) -> str:
    return error.strerror or type(error).__name__


def shown(name: str) -> str:
    """A file name as text that can be written anywhere (one that is not UTF-8 keeps its
    bytes as escapes)."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
