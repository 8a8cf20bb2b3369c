"""The one writer to nbgrader's gradebook.

Only the pipeline's main process calls this, one submission at a time, so the gradebook
never sees two writers.  Each submission is written in one transaction: the student (named,
when the gradebook has no name for them), the submission and every graded cell's automatic
score (the trusted points; ``None`` for a written answer waiting for a person), exactly the
rows ``nbgrader autograde`` writes, so the Formgrader shows them and manual grading goes on
as usual.  The submission's time is the one nbgrader reads from its ``timestamp.txt`` (none
when there is none), so that nbgrader counts it as autograded and its late penalties see the
time the student submitted.
"""

from __future__ import annotations

import pwd
import warnings
from datetime import datetime

from nbgrader.api import Gradebook
from sqlalchemy.exc import SAWarning

from grader.pipeline.results import SubmissionResult


class Writer:
    """The gradebook held open for a grading run: one engine, so SQLAlchemy compiles each of
    nbgrader's queries once, not once per submission (a tenth of a second per submission of
    the grading process's own time).  Each ``write`` is one transaction; a failed one is
    rolled back, so the next submission is written as if it had not happened."""

    def __init__(self, db_url: str) -> None:
        self.gradebook = Gradebook(db_url)

    def write(self, result: SubmissionResult, timestamp: datetime | None) -> None:
        """Store ``result`` (from ``grader.pipeline.judging.verdicts.decide``) for its
        student, submitted at ``timestamp`` (``grader.pipeline.intake.files.submitted_at``)."""
        with warnings.catch_warnings():
            # nbgrader's own update_or_create_submission trips SQLAlchemy's autoflush warnings
            warnings.simplefilter("ignore", SAWarning)
            try:
                _write(self.gradebook, result, timestamp)
            except BaseException:
                self.gradebook.db.rollback()
                raise

    def close(self) -> None:
        self.gradebook.close()

    def __enter__(self) -> Writer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def write(db_url: str, result: SubmissionResult, timestamp: datetime | None) -> None:
    """Store one ``result`` (see ``Writer.write``)."""
    with Writer(db_url) as writer:
        writer.write(result, timestamp)


def student_names(student: str) -> tuple[str, str]:
    """First and last name of a student the gradebook has no name for: the full name of
    the account of that name on this machine (a hub's students), else the student id as the
    last name (Formgrader shows "last, first", and "None, None" for a student without)."""
    try:
        full = pwd.getpwnam(student).pw_gecos.split(",")[0].strip()
    except KeyError:
        full = ""
    first, _, last = full.rpartition(" ")
    return first, last or student


def _write(gb: Gradebook, result: SubmissionResult, timestamp: datetime | None) -> None:
    student, assignment = result.student, result.assignment
    notebook = result.notebook.removesuffix(".ipynb")
    row = gb.update_or_create_student(student)
    if row.first_name is None and row.last_name is None:
        row.first_name, row.last_name = student_names(student)
    gb.update_or_create_submission(assignment, student, timestamp=timestamp)
    for item in result.items:
        grade = gb.find_grade(item.grade_id, notebook, assignment, student)
        grade.auto_score = item.points
        grade.needs_manual_grade = grade.manual_score is not None or item.points is None
        if item.written:
            comment = gb.find_comment(item.grade_id, notebook, assignment, student)
            comment.auto_comment = "No response." if item.note == "no answer" else None
    gb.db.commit()


def totals(db_url: str) -> dict[tuple[str, str], float]:
    """Points per (student, assignment) as the gradebook holds them (manual scores count
    where a person has given one)."""
    out = {}
    with Gradebook(db_url) as gb:
        for assignment in gb.assignments:
            for submission in assignment.submissions:
                out[(submission.student.id, assignment.name)] = float(submission.score)
    return out
