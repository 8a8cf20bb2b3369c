"""Autograde a class: every submission in parallel sandboxes, one writer to the gradebook.

Each submission runs through the real ``nbgrader autograde`` in a sandboxed worker (one per
parallel job, each grading one submission after another);
the main process judges what came back (``grader.pipeline.verdicts``), writes the gradebook
and saves the trusted result to ``grading/<student>/<assignment>/result.json`` -- in that
order, so an interrupted run resumes where it stopped and a finished one is not redone.
A submission that breaks in any way is graded as far as it can be and reported; it never
stops the batch.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from queue import Queue

import nbformat

from grader.pipeline import gradebook
from grader.pipeline.course import Assignment, Course
from grader.pipeline.run import Execution, Worker, execute
from grader.pipeline.sandbox import Limits
from grader.pipeline.verdicts import decide
from grader.pipeline.zygote import course_imports
from grader.release import generate_release

RESULT_VERSION = 1
# nbgrader's gradebook tables that hold students and their work, children first
STUDENT_TABLES = ("comment", "grade", "submitted_notebook", "submitted_assignment", "student")
REPOSITORY_COURSE = Path(__file__).resolve().parents[2] / "course"  # masters with solutions


@dataclass
class Job:
    student: str
    assignment: Assignment
    path: Path | None  # the submitted notebook, None when nothing was submitted
    problems: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.student}/{self.assignment.name}"


@dataclass
class Summary:
    graded: list[dict] = field(default_factory=list)
    reused: int = 0

    @property
    def troubled(self) -> list[dict]:
        return [r for r in self.graded if r["problems"] or r["flags"]]


def discover(
    course: Course, assignments: list[str] | None = None, students: list[str] | None = None
) -> list[Job]:
    """The submissions in ``submitted/<student>/<assignment>/``."""
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
            if expected.exists():
                jobs.append(Job(student, assignment, expected))
            elif len(notebooks) == 1:
                jobs.append(
                    Job(
                        student,
                        assignment,
                        notebooks[0],
                        [
                            f"the notebook is named {notebooks[0].name}, "
                            f"expected {assignment.notebook}"
                        ],
                    )
                )
            else:
                reason = (
                    "no notebook was submitted"
                    if not notebooks
                    else f"{len(notebooks)} notebooks and none named {assignment.notebook}"
                )
                jobs.append(Job(student, assignment, None, [reason]))
    return jobs


def fingerprint(path: Path | None) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path is not None else "none"


def up_to_date(course: Course, job: Job) -> bool:
    """True when a result exists for exactly this submission."""
    path = course.result_path(job.student, job.assignment.name)
    try:
        stored = json.loads(path.read_text())
    except (OSError, ValueError):
        return False
    return stored.get("version") == RESULT_VERSION and stored.get(
        "submission_sha256"
    ) == fingerprint(job.path)


def autograde(
    course: Course,
    assignments: list[str] | None = None,
    students: list[str] | None = None,
    jobs: int | None = None,
    force: bool = False,
    limits: Limits | None = None,
    use_bubblewrap: bool = True,
    on_done: Callable[[dict, int, int], None] | None = None,
) -> Summary:
    """Grade every submission (``force``: also those already graded)."""
    limits = limits or Limits()
    jobs = jobs or os.cpu_count() or 1
    _release_if_stale(course)  # the gradebook knows every assignment and its cells
    todo, summary = [], Summary()
    for job in discover(course, assignments, students):
        if not force and up_to_date(course, job):
            summary.reused += 1
        else:
            todo.append(job)
    if not todo:
        return summary
    work = Path(tempfile.mkdtemp(prefix="grader-"))
    workers: Queue[Worker] = Queue()
    try:
        hidden = [course.root, REPOSITORY_COURSE]
        preload = tuple(course_imports([a.master_path for a in course.assignments.values()]))
        for i in range(min(jobs, len(todo))):
            runner = Worker(work / f"worker{i}", hidden, limits, use_bubblewrap, preload)
            runner.start()  # its imports overlap with what follows
            workers.put(runner)
        template = _template_gradebook(course, work)
        releases = {
            a.name: nbformat.read(str(course.release_path(a)), as_version=4)
            for a in {j.assignment for j in todo}
        }
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            futures: dict[Future, Job] = {
                pool.submit(_execute, job, releases[job.assignment.name], template, workers): job
                for job in todo
            }
            try:
                for done, future in enumerate(as_completed(futures), 1):
                    job = futures[future]
                    result = _record(course, job, future)
                    summary.graded.append(result)
                    if on_done:
                        on_done(result, done, len(futures))
            except BaseException:
                for future in futures:
                    future.cancel()
                for runner in list(workers.queue):
                    runner.stop()
                raise
    finally:
        while not workers.empty():
            workers.get().stop()
        shutil.rmtree(work, ignore_errors=True)
    return summary


def _execute(job: Job, release, template: Path, workers: Queue) -> Execution:
    if job.path is None:
        return Execution(job.student, job.assignment.name, readable=False)
    runner = workers.get()
    try:
        return execute(job.student, job.assignment, job.path, release, template, runner)
    finally:
        workers.put(runner)


def _record(course: Course, job: Job, future: Future) -> dict:
    """Judge, write the gradebook, then the result file (the order makes resuming safe)."""
    try:
        execution = future.result()
    except Exception as error:  # noqa: BLE001 - a failure of one job must not stop the batch
        execution = Execution(
            job.student,
            job.assignment.name,
            readable=False,
            problems=[f"the grading of this submission failed: {error}"],
        )
    execution.problems[:0] = job.problems
    result = decide(job.assignment, execution)
    result["version"] = RESULT_VERSION
    result["submission_sha256"] = fingerprint(job.path)
    result["notebook"] = job.assignment.notebook
    gradebook.write(_db_url(course), result, job.assignment.notebook)
    if execution.notebook is not None:
        target = course.root / "autograded" / job.student / job.assignment.name
        target.mkdir(parents=True, exist_ok=True)
        nbformat.write(execution.notebook, str(target / job.assignment.notebook))
    path = course.result_path(job.student, job.assignment.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".tmp")
    partial.write_text(json.dumps(result, indent=1))
    partial.replace(path)
    return result


def _db_url(course: Course) -> str:
    return "sqlite:///" + str(course.root / "gradebook.db")


def _release_if_stale(course: Course) -> None:
    """Release the assignments (nbgrader generate_assignment) unless the gradebook and every
    released notebook are newer than their masters."""
    db = course.root / "gradebook.db"
    fresh = db.exists() and all(
        course.release_path(a).exists()
        and course.release_path(a).stat().st_mtime >= a.master_path.stat().st_mtime
        for a in course.assignments.values()
    )
    if not fresh:
        generate_release(course.root)


def _template_gradebook(course: Course, work: Path) -> Path:
    """The course's gradebook with every student taken out: the assignments and their cells,
    for the sandboxes (the real one holds every student's grades).  nbgrader stores the cells
    as released, so no solution is in it.  Deleted rows are overwritten and the file rebuilt,
    so no trace of a student's grade is left in it for student code to read."""
    template = work / "template.db"
    shutil.copy(course.root / "gradebook.db", template)
    with closing(sqlite3.connect(template)) as db:
        db.execute("PRAGMA secure_delete = ON")
        with db:
            for table in STUDENT_TABLES:
                db.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names
        db.execute("VACUUM")
    return template
