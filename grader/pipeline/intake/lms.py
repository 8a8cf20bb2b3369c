"""Taking in submissions: an nbgrader ``submitted/`` tree, or a learning-management-system
export (a folder of notebooks and zip files named by student).

Accepted names in an export folder, for assignment ``A`` with notebook ``A.ipynb``:
``<student>.ipynb``, ``<student>_A.ipynb``, ``<student>__A.ipynb``, ``<student>.zip`` and
``<student>_A.zip`` (a zip holding the notebook anywhere inside).  Nothing is overwritten
unless asked, and a file that cannot be taken in is reported, not fatal.  An export is the
students' files: a link in it is not followed, and only regular files are read (a FIFO is
never waited on), up to a size cap.
"""

from __future__ import annotations

import os
import re
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from grader.pipeline.course import Assignment, Course
from grader.pipeline.intake.files import UnreadableSubmission, kind_of, read_submitted

STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
MAX_ZIP_MEMBER = 50 * 1024**2


@dataclass
class Intake:
    taken: list[tuple[str, Path]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    retimed: list[str] = field(default_factory=list)  # claimed times earlier than the files


def take_in(
    course: Course, source: Path, assignment: Assignment, overwrite: bool = False
) -> Intake:
    """Copy the submissions found in ``source`` to ``submitted/<student>/<assignment>/``."""
    intake = Intake()
    source = Path(source)
    if (source / "submitted").is_dir():
        source = source / "submitted"
    if not source.is_dir():
        raise FileNotFoundError(f"{source} is not a folder of submissions")
    for entry in sorted(source.iterdir()):
        if entry.is_symlink():
            intake.skipped.append(f"{entry.name}: a symbolic link, not followed")
        elif entry.is_dir():
            nested = entry / assignment.name
            inside = nested if nested.is_dir() and not nested.is_symlink() else entry
            candidates = sorted(inside.glob("*.ipynb"))
            student = entry.name
            if not candidates:
                intake.skipped.append(f"{entry.name}/: no notebook for {assignment.name}")
                continue
            data = _read(candidates[0], intake, f"{entry.name}/{candidates[0].name}")
            if data is not None:
                _store(course, assignment, student, data, overwrite, intake)
        elif entry.suffix in (".ipynb", ".zip"):
            student = _student_from_name(entry.stem, assignment.name)
            if student is None:
                intake.skipped.append(f"{entry.name}: cannot tell the student from the name")
                continue
            if entry.suffix == ".ipynb":
                data = _read(entry, intake, entry.name)
            else:
                data = _from_zip(entry, intake)
            if data is not None:
                _store(course, assignment, student, data, overwrite, intake)
        else:
            intake.skipped.append(f"{entry.name}: not a notebook or a zip file")
    return intake


def _read(path: Path, intake: Intake, name: str) -> bytes | None:
    """A notebook of the export (None, and the reason in ``intake``, for anything but a
    regular file within the size cap)."""
    try:
        return read_submitted(path, MAX_ZIP_MEMBER)
    except UnreadableSubmission as error:
        intake.skipped.append(f"{name}: {error}")
        return None


def _student_from_name(stem: str, assignment: str) -> str | None:
    for suffix in (f"__{assignment}", f"_{assignment}", f"-{assignment}"):
        if stem.endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    return stem if STUDENT_ID.match(stem) else None


def _from_zip(path: Path, intake: Intake) -> bytes | None:
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        descriptor = os.open(path, flags)
    except OSError as error:
        intake.skipped.append(f"{path.name}: could not be opened ({error.strerror})")
        return None
    with os.fdopen(descriptor, "rb") as stream:
        mode = os.fstat(stream.fileno()).st_mode
        if not stat.S_ISREG(mode):
            intake.skipped.append(f"{path.name}: {kind_of(mode)}, not a zip file")
            return None
        return _from_archive(stream, path, intake)


def _from_archive(stream, path: Path, intake: Intake) -> bytes | None:
    try:
        with zipfile.ZipFile(stream) as archive:
            members = [
                m
                for m in archive.infolist()
                if m.filename.endswith(".ipynb") and "checkpoint" not in m.filename
            ]
            if not members:
                intake.skipped.append(f"{path.name}: the zip holds no notebook")
                return None
            if members[0].file_size > MAX_ZIP_MEMBER:
                intake.skipped.append(f"{path.name}: the notebook inside is too large")
                return None
            return archive.read(members[0])
    except (zipfile.BadZipFile, OSError, EOFError):
        intake.skipped.append(f"{path.name}: not a readable zip file")
        return None


def _store(
    course: Course,
    assignment: Assignment,
    student: str,
    data: bytes,
    overwrite: bool,
    intake: Intake,
) -> None:
    if not STUDENT_ID.match(student):
        intake.skipped.append(f"{student}: not a usable student id")
        return
    target = course.submitted / student / assignment.name / assignment.notebook
    if target.exists() and not overwrite:
        intake.skipped.append(f"{student}: already submitted (use --overwrite to replace)")
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    partial.write_bytes(data)
    partial.replace(target)
    intake.taken.append((student, target))
