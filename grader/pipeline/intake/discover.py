"""Finding the submissions of a course: ``submitted/<student>/<assignment>/``, and telling
the ones already graded (their result file is of this very file) from the rest."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from grader.pipeline.course import Course
from grader.pipeline.results import RESULT_VERSION, Job


def discover(
    course: Course, assignments: list[str] | None = None, students: list[str] | None = None
) -> list[Job]:
    """The submissions of the selected students and assignments (all by default)."""
    wanted = (
        [course.assignment(a) for a in assignments]
        if assignments
        else list(course.assignments.values())
    )
    jobs = []
    for student in students or course.students():
        for assignment in wanted:
            folder = course.submitted / student / assignment.name
            if not folder.is_dir():
                continue
            expected = folder / assignment.notebook
            notebooks = sorted(folder.glob("*.ipynb"))
            job = Job(student, assignment.name, assignment.notebook, None)
            if expected.exists():
                job.path = expected
            elif len(notebooks) == 1:
                job.path = notebooks[0]
                job.problems.append(
                    f"the notebook is named {_shown(notebooks[0].name)}, expected "
                    f"{assignment.notebook}"
                )
            else:
                job.problems.append(
                    "no notebook was submitted"
                    if not notebooks
                    else f"{len(notebooks)} notebooks and none named {assignment.notebook}"
                )
            jobs.append(job)
    return jobs


def _shown(name: str) -> str:
    """A file name as text that can be written anywhere (one that is not UTF-8 keeps its
    bytes as escapes)."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def fingerprint(path: Path | None) -> str:
    """The SHA-256 of a submitted file ("none" when there is none)."""
    return hashlib.sha256(path.read_bytes()).hexdigest() if path is not None else "none"


def up_to_date(course: Course, job: Job) -> bool:
    """True when a result exists for exactly this submission."""
    path = course.result_path(job.student, job.assignment)
    try:
        stored = json.loads(path.read_text())
    except (OSError, ValueError):
        return False
    return stored.get("version") == RESULT_VERSION and stored.get(
        "submission_sha256"
    ) == fingerprint(job.path)
