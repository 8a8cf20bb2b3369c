"""Finding the submissions of a course: ``submitted/<student>/<assignment>/``, and telling
the ones already graded (their result file is of this very file) from the rest.

Nothing here opens a student's file except through ``intake.files``: a notebook that is a
folder, a FIFO or a link is found (and reported when it is read), never followed or waited
on."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

from grader.pipeline.course import Assignment, Course
from grader.pipeline.intake.files import UnreadableSubmission, kind_of, read_submitted, shown
from grader.pipeline.results import RESULT_VERSION, Job

NO_SUBMISSION = "none"
"""The fingerprint of a submission without a notebook."""
UNREADABLE = "unreadable: "
"""The start of the fingerprint of a notebook that cannot be read at all (what follows says
why), so that the same unreadable thing is not graded again and anything else is."""


def discover(
    course: Course, assignments: list[str] | None = None, students: list[str] | None = None
) -> list[Job]:
    """The submissions of the selected students and assignments (all by default)."""
    jobs = []
    for student, assignment in candidates(course, assignments, students):
        job = find(course, student, assignment)
        if job is not None:
            jobs.append(job)
    return jobs


def candidates(
    course: Course, assignments: list[str] | None = None, students: list[str] | None = None
) -> Iterator[tuple[str, Assignment]]:
    """Every (student, assignment) of the selection, whether submitted or not."""
    wanted = (
        [course.assignment(a) for a in assignments]
        if assignments
        else list(course.assignments.values())
    )
    for student in students or course.students():
        for assignment in wanted:
            yield student, assignment


def find(course: Course, student: str, assignment: Assignment) -> Job | None:
    """``student``'s submission of ``assignment`` (None when there is none).  A folder that
    cannot be listed, or a file where the folder should be, is a job with that problem."""
    folder = course.submitted / student / assignment.name
    job = Job(student, assignment.name, assignment.notebook, None)
    try:
        mode = os.lstat(folder).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as error:
        job.problems.append(f"the submission folder could not be read ({_reason(error)})")
        return job
    if not folder.is_dir():  # a link to a folder is followed, as before
        if stat.S_ISLNK(mode) and not os.path.exists(folder):
            return None  # a dangling link: nothing submitted
        job.problems.append(
            f"submitted/{shown(student)}/{assignment.name} is {kind_of(mode)}, not a folder: "
            f"no notebook was submitted (put the student's {assignment.notebook} in a folder "
            f"of that name)"
        )
        return job
    try:
        expected = folder / assignment.notebook
        notebooks = sorted(folder.glob("*.ipynb"))
    except OSError as error:
        job.problems.append(f"the submission folder could not be read ({_reason(error)})")
        return job
    if os.path.lexists(expected):  # whatever it is: reading it says what is wrong
        job.path = expected
    elif len(notebooks) == 1:
        job.path = notebooks[0]
        job.problems.append(
            f"the notebook is named {shown(notebooks[0].name)}, expected {assignment.notebook}"
        )
    else:
        job.problems.append(
            "no notebook was submitted"
            if not notebooks
            else f"{len(notebooks)} notebooks and none named {assignment.notebook}"
        )
    return job


def _reason(error: OSError) -> str:
    return error.strerror or type(error).__name__


def sha256(data: bytes) -> str:
    """The fingerprint of a submitted notebook's bytes (``intake.files.read_submitted``)."""
    return hashlib.sha256(data).hexdigest()


def unreadable_fingerprint(error: UnreadableSubmission) -> str:
    """The fingerprint of a notebook that could not be read at all."""
    return f"{UNREADABLE}{error}"


def fingerprint(path: Path | None) -> str:
    """The SHA-256 of a submitted file ("none" when there is none, "unreadable: <why>"
    when it is not a regular file within the size cap).  It never follows a link nor
    blocks on a FIFO."""
    if path is None:
        return NO_SUBMISSION
    try:
        return sha256(read_submitted(path))
    except UnreadableSubmission as error:
        return unreadable_fingerprint(error)


def up_to_date(course: Course, job: Job) -> bool:
    """True when a result exists for exactly this submission."""
    path = course.result_path(job.student, job.assignment)
    try:
        stored = json.loads(path.read_text())
    except (OSError, ValueError):
        return False
    return (
        isinstance(stored, dict)
        and stored.get("version") == RESULT_VERSION
        and stored.get("submission_sha256") == fingerprint(job.path)
    )
