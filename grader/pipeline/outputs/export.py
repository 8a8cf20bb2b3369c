"""The class's grades: the trusted results joined with the gradebook's manual scores.

The points of each graded cell come from ``grading/<student>/<assignment>/result.json``
(decided where no student code ran); a person's scores, extra credit and comments come
from nbgrader's gradebook, where the Formgrader stores them.  A cell's score follows
nbgrader's rule: the manual score where one was given, otherwise the automatic one.
``export_grades`` writes the grades as one CSV row per submission.

A student's name is the name of a folder, which any tool may have made: the reports write
it as ``shown_name`` gives it (bytes that are not UTF-8 and control characters as escapes),
and every text field of a CSV file as ``csv_text`` gives it (never read as a formula).
"""

from __future__ import annotations

import csv
import json
import unicodedata
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nbgrader.api import Comment, Grade, Gradebook, SubmittedAssignment
from sqlalchemy import or_
from sqlalchemy.exc import SAWarning

from grader.pipeline.course import Course
from grader.pipeline.intake.files import shown
from grader.pipeline.results import SubmissionResult

EXPORT_COLUMNS = (
    "student",
    "assignment",
    "auto_points",
    "manual_points",
    "total",
    "max_points",
    "status",
    "needs_manual",
    "problems",
    "flagged",
    "late_seconds",
)


@dataclass(frozen=True)
class ItemGrade:
    """One graded cell of a submission: the trusted automatic points and, where a person
    has graded it in the Formgrader, the manual score, extra credit and comment."""

    grade_id: str
    check: str  # "" for a written answer graded by hand
    max_points: float
    auto_points: float | None  # None: a written answer waiting for a person
    verdict: dict[str, Any] | None  # grader.judge.Verdict.to_dict()
    note: str
    manual_points: float | None = None
    extra_credit: float = 0.0
    comment: str = ""

    @property
    def written(self) -> bool:
        return not self.check

    @property
    def waiting(self) -> bool:
        """True while no score exists: a written answer nobody has graded yet."""
        return self.auto_points is None and self.manual_points is None

    @property
    def points(self) -> float | None:
        """nbgrader's score of the cell: manual where given, else automatic, plus extra
        credit; None while waiting for a person."""
        if self.waiting:
            return None
        base = self.manual_points if self.manual_points is not None else self.auto_points
        return float(base) + self.extra_credit


@dataclass(frozen=True)
class SubmissionGrades:
    """A student's graded submission of one assignment."""

    student: str
    assignment: str
    notebook: str
    status: str  # "graded" | "unreadable"
    auto_points: float
    max_points: float
    items: list[ItemGrade]
    problems: list[str] = field(default_factory=list)  # shown to the student
    flags: list[str] = field(default_factory=list)  # for the instructor only
    comments: dict[str, str] = field(default_factory=dict)  # other cells' manual comments
    late_seconds: float = 0.0  # past the assignment's due date (nbgrader's), when it has one

    @property
    def manual_points(self) -> float | None:
        """The sum of the manual scores a person has given (None when none)."""
        given = [i.manual_points for i in self.items if i.manual_points is not None]
        return float(sum(given)) if given else None

    @property
    def total(self) -> float:
        """The gradebook's total: each cell's score, zero where none exists yet."""
        return float(sum(i.points for i in self.items if i.points is not None))

    @property
    def needs_manual(self) -> int:
        return sum(i.written and i.waiting for i in self.items)

    @property
    def flagged(self) -> bool:
        return bool(self.flags)


@dataclass
class _Manual:
    scores: dict[str, tuple[float | None, float]] = field(default_factory=dict)
    comments: dict[str, str] = field(default_factory=dict)
    late_seconds: float = 0.0


def class_grades(
    course: Course,
    students: list[str] | None = None,
    assignments: list[str] | None = None,
) -> list[SubmissionGrades]:
    """Every graded submission, sorted by student then assignment; ``students`` and
    ``assignments`` select some (each name must have at least one result)."""
    paths = sorted((course.root / "grading").glob("*/*/result.json"))
    keys = [(p.parent.parent.name, p.parent.name) for p in paths]
    _check_selection("student", students, {s for s, _ in keys}, course)
    _check_selection("assignment", assignments, {a for _, a in keys}, course)
    manual = _manual_grades(course)
    found = []
    for path, (student, assignment) in zip(paths, keys):
        if students and student not in students:
            continue
        if assignments and assignment not in assignments:
            continue
        found.append(_submission(path, manual.get((student, assignment), _Manual())))
    return found


def export_grades(course: Course, path: Path) -> Path:
    """Write the grades to the CSV file ``path``: one row per (student, assignment) with
    the columns of ``EXPORT_COLUMNS``, sorted."""
    grades = class_grades(course)
    if not grades:
        raise ValueError(f"no graded submission in {course.root / 'grading'}: run autograde first")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(EXPORT_COLUMNS)
        for g in grades:
            manual = "" if g.manual_points is None else number(g.manual_points)
            writer.writerow(
                [
                    csv_text(shown_name(g.student)),
                    csv_text(g.assignment),
                    number(g.auto_points),
                    manual,
                    number(g.total),
                    number(g.max_points),
                    csv_text(g.status),
                    g.needs_manual,
                    len(g.problems),
                    "yes" if g.flagged else "no",
                    number(g.late_seconds),
                ]
            )
    return path


def number(value: float) -> str:
    """A score as text: at most four decimals, no trailing zeros (``2``, ``1.5``)."""
    return f"{round(float(value), 4):.10g}"


def shown_name(name: str) -> str:
    """A student's name (their folder's) as text every report can hold, on one line: bytes
    that are not UTF-8 (held as surrogate escapes) and control characters, a newline for
    one, as backslash escapes; any other name as it is."""
    return "".join(
        character.encode("unicode_escape").decode("ascii")
        if unicodedata.category(character) == "Cc"
        else character
        for character in shown(name)
    )


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""The first characters that make a spreadsheet read a CSV field as a formula."""


def csv_text(text: str) -> str:
    """``text`` as a text field of a CSV file: one that starts as a formula would
    (``FORMULA_STARTS``) behind a ``'``, which a spreadsheet reads as text; bytes that are
    not UTF-8 as escapes (``shown``)."""
    text = shown(text)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def _check_selection(kind: str, wanted: list[str] | None, known: set[str], course: Course):
    missing = sorted(set(wanted or ()) - known)
    if missing:
        raise ValueError(
            f"no graded submission for {kind} {', '.join(map(repr, missing))} in "
            f"{course.root / 'grading'} (graded: {', '.join(sorted(known)) or 'none'}); "
            f"check the name or run autograde first"
        )


def _submission(path: Path, manual: _Manual) -> SubmissionGrades:
    try:
        result = SubmissionResult.from_json(json.loads(path.read_text(encoding="utf-8")))
        items = [
            ItemGrade(
                grade_id=item.grade_id,
                check=item.check,
                max_points=float(item.max_points),
                auto_points=None if item.points is None else float(item.points),
                verdict=item.verdict.to_dict() if item.verdict else None,
                note=item.note,
                manual_points=manual.scores.get(item.grade_id, (None, 0.0))[0],
                extra_credit=manual.scores.get(item.grade_id, (None, 0.0))[1],
                comment=manual.comments.get(item.grade_id, ""),
            )
            for item in result.items
        ]
        item_ids = {item.grade_id for item in items}
        return SubmissionGrades(
            student=result.student,
            assignment=result.assignment,
            notebook=result.notebook,
            status=result.status,
            auto_points=result.auto_points,
            max_points=float(result.max_points),
            items=items,
            problems=[str(p) for p in result.problems],
            flags=[str(f) for f in result.flags],
            comments={k: v for k, v in manual.comments.items() if k not in item_ids},
            late_seconds=manual.late_seconds,
        )
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ValueError(
            f"{path} is not a valid grading result ({type(error).__name__}: {error}); "
            f"grade the submission again with autograde --force"
        ) from None


def _manual_grades(course: Course) -> dict[tuple[str, str], _Manual]:
    """Manual scores, extra credit, manual comments and lateness (nbgrader's, from the
    submission's time and the assignment's due date) in the gradebook, by (student,
    assignment); empty when the course has no gradebook yet."""
    manual: dict[tuple[str, str], _Manual] = {}
    if not course.gradebook.exists():
        return manual
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)
        with Gradebook(course.db_url) as gb:
            graded = gb.db.query(Grade).filter(
                or_(Grade.manual_score.isnot(None), Grade.extra_credit.isnot(None))
            )
            for grade in graded:
                entry = manual.setdefault((grade.student.id, grade.assignment.name), _Manual())
                entry.scores[grade.name] = (
                    None if grade.manual_score is None else float(grade.manual_score),
                    float(grade.extra_credit or 0.0),
                )
            commented = gb.db.query(Comment).filter(Comment.manual_comment.isnot(None))
            for comment in commented:
                if comment.manual_comment.strip():
                    entry = manual.setdefault(
                        (comment.student.id, comment.assignment.name), _Manual()
                    )
                    entry.comments[comment.name] = comment.manual_comment
            for submission in gb.db.query(SubmittedAssignment):
                late = float(submission.total_seconds_late or 0.0)
                if late > 0:
                    key = (submission.student.id, submission.assignment.name)
                    manual.setdefault(key, _Manual()).late_seconds = late
    return manual
