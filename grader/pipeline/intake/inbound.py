"""Taking submissions in from nbgrader's exchange, where each ``nbgrader submit`` leaves
``<exchange>/<course id>/inbound/<student>+<assignment>+<timestamp>+<random>/``.

As ``nbgrader collect --update`` does, the latest submission of each student is taken into
``submitted/<student>/<assignment>/`` (replacing an older one), with its ``timestamp.txt``
(the time nbgrader's due dates are measured against) and ``submission_secret.txt`` (with which
``nbgrader release_feedback`` files the feedback where only that student finds it).

Every account can write to the inbound folder, so nothing in it is trusted.  A submission
counts only if it is a folder, not a link, owned by the account it names (where this machine
has that account: a student cannot submit in another's name); of it only notebooks and those
two files are read, each a regular file opened without following a link, up to a size cap.

The time a submission claims (its ``timestamp.txt``, its folder's name) is the student's to
write; the time its files last changed (their ``st_ctime``, which no account can set) is not.
A claim earlier than that, by more than ``CLOCK_SLACK``, or no readable claim at all (nbgrader
would then count the submission as on time), is not kept: the time taken in is when the files
were written, and the instructor is told.
"""

from __future__ import annotations

import os
import pwd
import shutil
import stat
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from nbgrader.utils import parse_utc

from grader.pipeline.course import Assignment, Course
from grader.pipeline.intake.exchange import FEEDBACK_KEYS, Exchange
from grader.pipeline.intake.files import TIMESTAMP, submitted_at
from grader.pipeline.intake.lms import MAX_ZIP_MEMBER, STUDENT_ID, Intake

MAX_FILES = 20
"""Notebooks read from one submission at most (the course's assignments have one each)."""

CLOCK_SLACK = timedelta(minutes=5)
"""How much earlier than its files' last change a submission's claimed time may be: ``nbgrader
submit`` takes the time, then copies the files (seconds), and clocks of a shared exchange
differ a little."""

TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f UTC"
"""How ``nbgrader submit`` writes ``timestamp.txt`` (its ``timestamp_format``, in UTC)."""


@dataclass(frozen=True)
class Submission:
    """One folder of the inbound: who it names, when it was submitted, where it is."""

    student: str
    timestamp: datetime
    path: Path


def collect(course: Course, exchange: Exchange, assignment: Assignment) -> Intake:
    """Take the latest genuine submission of each student of ``assignment`` from the
    exchange's inbound, unless the one already taken is as recent."""
    intake = Intake()
    latest: dict[str, Submission] = {}
    for submission in _submissions(exchange.inbound, assignment.name, intake):
        known = latest.get(submission.student)
        if known is None or submission.timestamp > known.timestamp:
            latest[submission.student] = submission
    for student, submission in sorted(latest.items()):
        target = course.submitted / student / assignment.name
        taken = _taken_at(target)
        if taken is not None and taken >= submission.timestamp:
            continue
        try:
            files, changed = _read(submission.path, student)
        except (OSError, ValueError) as error:
            intake.skipped.append(f"{submission.path.name}: {error}")
            continue
        claimed = _claimed(files)
        if claimed is None or claimed < changed - CLOCK_SLACK:
            files[TIMESTAMP] = changed.strftime(TIMESTAMP_FORMAT).encode()
            said = (
                "has no readable time"
                if claimed is None
                else (f"claims to be from {claimed:%Y-%m-%d %H:%M} UTC")
            )
            intake.retimed.append(
                f"{student}: {submission.path.name} {said}, but its files were written at "
                f"{changed:%Y-%m-%d %H:%M} UTC: that time is kept"
            )
        _store(target, files)
        intake.taken.append((student, target))
    return intake


def _claimed(files: dict[str, bytes]) -> datetime | None:
    """The time a submission claims in its ``timestamp.txt`` (what nbgrader's due dates
    read); None when there is none or it is not a time."""
    text = files.get(TIMESTAMP, b"").decode("utf-8", errors="replace")[:200].strip()
    try:
        return parse_utc(text) if text else None
    except (ValueError, OverflowError, TypeError):
        return None


def _submissions(inbound: Path, assignment: str, intake: Intake) -> list[Submission]:
    """The inbound's submissions of ``assignment`` whose name parses and whose folder
    belongs to the account it names."""
    if not inbound.is_dir():
        raise FileNotFoundError(f"{inbound} does not exist: no assignment was released there")
    found = []
    for entry in sorted(inbound.iterdir()):
        parts = entry.name.split("+")
        if len(parts) not in (3, 4) or parts[1] != assignment:
            continue
        student = parts[0]
        try:
            timestamp = parse_utc(parts[2])
        except (ValueError, OverflowError):
            intake.skipped.append(f"{entry.name}: the time in its name cannot be read")
            continue
        if not STUDENT_ID.match(student):
            intake.skipped.append(f"{entry.name}: not a usable student id")
            continue
        problem = _not_genuine(entry, student)
        if problem:
            intake.skipped.append(f"{entry.name}: {problem}")
            continue
        found.append(Submission(student, timestamp, entry))
    return found


def _not_genuine(entry: Path, student: str) -> str:
    """Why ``entry`` is not a submission by ``student`` ("" when it is)."""
    info = entry.lstat()
    if not stat.S_ISDIR(info.st_mode):
        return "not a folder"
    try:
        account = pwd.getpwnam(student)
    except KeyError:
        return ""  # no such account here (an exchange shared between machines)
    if info.st_uid != account.pw_uid:
        owner = _account_name(info.st_uid)
        return f"claims to be by {student} but belongs to {owner}: not taken"
    return ""


def _account_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def _read(folder: Path, student: str) -> tuple[dict[str, bytes], datetime]:
    """The notebooks and the nbgrader files of a submission folder, read without following
    a link, and when the folder or a file read last changed (UTC, as nbgrader's times); the
    folder's owner is checked again on the descriptor actually read."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK
    directory = os.open(folder, flags | os.O_DIRECTORY)
    changes = []
    try:
        if _not_genuine_fd(directory, student):
            raise ValueError("changed owner while being read: not taken")
        changes.append(os.fstat(directory).st_ctime)
        names = [
            n for n in sorted(os.listdir(directory)) if n.endswith(".ipynb") or n in FEEDBACK_KEYS
        ]
        if sum(n.endswith(".ipynb") for n in names) > MAX_FILES:
            raise ValueError(f"more than {MAX_FILES} notebooks")
        files = {}
        for name in names:
            found = _read_file(directory, name)
            if found is not None:
                files[name], changed = found
                changes.append(changed)
    finally:
        os.close(directory)
    if not any(name.endswith(".ipynb") for name in files):
        raise ValueError("no notebook in the submission")
    latest = datetime.fromtimestamp(max(changes), timezone.utc).replace(tzinfo=None)
    return files, latest


def _not_genuine_fd(directory: int, student: str) -> bool:
    try:
        return os.fstat(directory).st_uid != pwd.getpwnam(student).pw_uid
    except KeyError:
        return False


def _read_file(directory: int, name: str) -> tuple[bytes, float] | None:
    """A regular file's bytes and the time it last changed (None for anything else: a link,
    a FIFO, a device, a folder, a file over the size cap)."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK
    try:
        descriptor = os.open(name, flags, dir_fd=directory)
    except OSError:
        return None
    with os.fdopen(descriptor, "rb") as stream:
        info = os.fstat(stream.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_ZIP_MEMBER:
            return None
        return stream.read(MAX_ZIP_MEMBER + 1)[:MAX_ZIP_MEMBER], info.st_ctime


def _taken_at(folder: Path) -> datetime | None:
    """The time of the submission already taken into ``folder`` (None when there is none
    or it has no readable time, as for one taken from an LMS export).  Its
    ``timestamp.txt`` is read as a regular file only, never waited on (a FIFO) or followed
    (a link)."""
    return submitted_at(folder)


def _store(target: Path, files: dict[str, bytes]) -> None:
    """Replace ``target`` with a folder holding ``files``, whole or not at all."""
    partial = target.with_name(f".{target.name}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    for name, content in files.items():
        (partial / name).write_bytes(content)
    if target.exists():
        shutil.rmtree(target)
    partial.rename(target)
