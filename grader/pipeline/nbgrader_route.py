"""nbgrader's own autograde and collect routes (``nbgrader autograde``, ``nbgrader
collect``, Formgrader's Autograde and Collect buttons), sent through the pipeline.

nbgrader would run a student's notebook and hidden tests in one kernel on the instructor's
account, with no sandbox and no trusted judge.  The course's ``nbgrader_config.py`` makes
``GradeInSandbox`` nbgrader's only autograde preprocessor: for the submission nbgrader is
autograding it runs ``grader.pipeline.autograde`` (sandboxed, judged on the trusted side,
written to the gradebook by the pipeline), then hands nbgrader the notebook the pipeline
wrote, so what nbgrader writes is the same.  Where the sandbox cannot run it refuses, with
the message ``grader autograde`` would give.

nbgrader's collect would copy whatever the inbound holds under a student's name (following
links, taking a folder another account made with only a warning, and the time the student
wrote): ``CollectAsTheCourse`` takes submissions in as ``grader collect`` does
(``grader.pipeline.intake.inbound``).
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
from nbgrader.converters.base import NbGraderException
from nbgrader.exchange.default import ExchangeCollect
from nbgrader.preprocessors import NbGraderPreprocessor

ROUTE_MESSAGE = (
    "This course is graded by its own pipeline (sandboxed, judged outside the student's "
    "kernel): grade a class with `grader autograde --course {root}`."
)


class GradeInSandbox(NbGraderPreprocessor):
    """Autograde the submission nbgrader is converting with the pipeline."""

    def preprocess(self, nb, resources):
        from grader.pipeline.autograde import GRADER_ERROR, autograde
        from grader.pipeline.course import Course
        from grader.pipeline.sandbox.bubblewrap import SandboxUnavailable

        info = resources["nbgrader"]
        student, assignment = info["student"], info["assignment"]
        course = Course(Path(self.config.CourseDirectory.root or os.getcwd()))
        route = ROUTE_MESSAGE.format(root=course.root)
        try:
            summary = autograde(course, [assignment], [student], jobs=1, force=True)
        except SandboxUnavailable as error:
            raise NbGraderException(f"{error}\n{route}") from None
        result = next(iter(summary.graded), None)
        if result is None:
            raise NbGraderException(f"no submission of {assignment} by {student}. {route}")
        if result.status == GRADER_ERROR:
            raise NbGraderException(f"{'; '.join(result.flags)}\n{route}")
        self.log.info(
            "Graded by the course's pipeline in the sandbox: %s/%s points",
            f"{result.auto_points:g}",
            f"{result.max_points:g}",
        )
        graded = course.root / "autograded" / student / assignment / f"{info['notebook']}.ipynb"
        if graded.is_file():
            nb = nbformat.read(str(graded), as_version=4)
        return nb, resources


class CollectAsTheCourse(ExchangeCollect):
    """nbgrader's Collect, taking the latest genuine submission of each student as
    ``grader collect`` does (always updating, as Formgrader's button asks)."""

    def start(self) -> None:
        from grader.pipeline.course import Course
        from grader.pipeline.intake.exchange import Exchange
        from grader.pipeline.intake.inbound import collect

        if not self.coursedir.course_id:
            self.fail("No course id specified. Re-run with --course flag.")
        course = Course(Path(self.coursedir.root or os.getcwd()))
        exchange = Exchange(Path(self.root), self.coursedir.course_id)
        try:
            assignment = course.assignment(self.coursedir.assignment_id)
            intake = collect(course, exchange, assignment)
        except (KeyError, FileNotFoundError, ValueError) as error:
            self.fail(str(error))
        for student, _ in intake.taken:
            self.log.info("Collecting submission: %s %s", student, assignment.name)
        for reason in intake.skipped:
            self.log.warning("skipped %s", reason)
        for note in intake.retimed:
            self.log.warning("%s", note)
        if not intake.taken:
            self.log.info("No newer submission to collect of %s", assignment.name)


NBGRADER_ALONE = """
# For comparisons only: nbgrader's own autograde (student code and hidden tests in one
# kernel, on this account, no sandbox), as a course without the pipeline grades.
from nbgrader.converters import Autograde as _Autograde

for _name in ("sanitize_preprocessors", "autograde_preprocessors"):
    c.Autograde[_name] = list(_Autograde.class_traits()[_name].default())
"""


def nbgrader_alone(root: Path) -> None:
    """Make the copy of a course in ``root`` autograde as nbgrader does on its own, for a
    comparison with the pipeline (never for grading a class)."""
    config = Path(root) / "nbgrader_config.py"
    config.write_text(config.read_text(encoding="utf-8") + NBGRADER_ALONE, encoding="utf-8")
