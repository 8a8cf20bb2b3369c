"""Autograde a class: the ordered steps, and the one writer of their results.

For each submission, in this order (as nbgrader declares its preprocessors):

1. ``intake``: find it (``candidates``, ``find``), read it defensively (a regular file
   within the size cap, never a link, a folder or a FIFO) and restore the master's graded
   cells (``intake.discover``, ``intake.files``, ``intake.repair``);
2. ``Batch.prepare``: the sandbox task -- the master without its solutions, and one
   grading run per set of tasks that forbid the same things: the statements their
   functions need (``judging.selection``) and the hidden case inputs, drawn from the
   course's secret (``judging.secret``);
3. ``sandbox``: run the notebook with nbgrader and make the grading runs, in sandboxes,
   on a ``sandbox.grading_worker.GradingWorker``;
4. ``judging.verdicts.decide``: the trusted verdicts;
5. ``write_outputs``: the gradebook, the executed notebook, then the result file
   (``outputs``) -- by the main process alone, one submission at a time, so an interrupted
   run resumes where it stopped and a finished one is not redone.

Steps 2 and 3 run in parallel for several submissions (``pool``); a submission that breaks
in any way is graded as far as it can be and reported, and never stops the batch.  A
failure of the grader itself while it handles one submission (finding, preparing, judging or
recording it) is recorded for that submission alone as a grader error
(``grading/<student>/<assignment>/grader_error.json``, flagged, exit status 3): its earlier
grade, if any, stays as it was, and the next run tries it again.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import tempfile
import traceback
from collections.abc import Callable
from concurrent.futures import Future
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from grader.checks import get_check
from grader.checks.forbidden import forbidden
from grader.judge import sent_case
from grader.pipeline.course import Assignment, Course, without_solutions
from grader.pipeline.intake.discover import (
    NO_SUBMISSION,
    candidates,
    find,
    sha256,
    unreadable_fingerprint,
    up_to_date,
)
from grader.pipeline.intake.files import read_submitted, shown, submitted_at
from grader.pipeline.intake.repair import UnreadableSubmission, parse_submission, repair
from grader.pipeline.judging.secret import course_secret
from grader.pipeline.judging.selection import grading_program
from grader.pipeline.judging.verdicts import decide
from grader.pipeline.outputs import gradebook
from grader.pipeline.outputs.notebooks import annotate
from grader.pipeline.pool import LocalPool, Pool
from grader.pipeline.results import Execution, GradingRun, Job, SandboxTask, SubmissionResult
from grader.pipeline.sandbox import bubblewrap
from grader.pipeline.sandbox.folders import remove_folder
from grader.pipeline.sandbox.limits import Limits
from grader.release import generate_release
from grader.sandboxed import channel
from grader.sandboxed.fork_server import course_imports
from grader.seeds import hidden_cases

# nbgrader's gradebook tables that hold students and their work, children first
STUDENT_TABLES = ("comment", "grade", "submitted_notebook", "submitted_assignment", "student")
GRADER_ERROR = "grader error"  # the status of a submission the grader failed to handle
GRADER_ERROR_FILE = "grader_error.json"


@dataclass
class Summary:
    graded: list[SubmissionResult] = field(default_factory=list)
    reused: int = 0

    @property
    def troubled(self) -> list[SubmissionResult]:
        return [r for r in self.graded if r.problems or r.flags]


@dataclass
class Prepared:
    """A submission ready for the sandbox stage: its task (None when there is nothing to
    run) and the repaired notebook the verdicts read."""

    job: Job
    task: SandboxTask | None
    submitted: nbformat.NotebookNode | None
    problems: list[str] = field(default_factory=list)
    grader_error: str = ""  # what went wrong in the grader itself while preparing it
    submission_sha256: str = NO_SUBMISSION  # the fingerprint of the very bytes read


class Batch:
    """What every submission of one run shares: the course, its secret, the template
    gradebook and the masters without their solutions."""

    def __init__(self, course: Course, work: Path) -> None:
        self.course = course
        self.secret = course_secret(course.root)
        self.template = _template_gradebook(course, work).read_bytes()
        self.config = (course.root / "nbgrader_config.py").read_text(encoding="utf-8")
        self.imports = tuple(course_imports([a.master_path for a in course.assignments.values()]))
        self._masters: dict[str, str] = {}
        self._releases: dict[str, nbformat.NotebookNode] = {}

    def master(self, assignment: Assignment) -> str:
        if assignment.name not in self._masters:
            stripped = without_solutions(assignment.master)
            self._masters[assignment.name] = nbformat.writes(stripped)
        return self._masters[assignment.name]

    def release(self, assignment: Assignment) -> nbformat.NotebookNode:
        if assignment.name not in self._releases:
            path = self.course.release_path(assignment)
            self._releases[assignment.name] = nbformat.read(str(path), as_version=4)
        return self._releases[assignment.name]

    def prepare(self, job: Job) -> Prepared:
        """Steps 1 and 2 for ``job``; a failure of the grader here is recorded as a grader
        error for this submission alone."""
        try:
            return self._prepare(job)
        except Exception as error:  # noqa: BLE001 - one submission's failure stays its own
            prepared = Prepared(job, None, None)
            prepared.grader_error = _describe(error, "preparing the submission")
            return prepared

    def _prepare(self, job: Job) -> Prepared:
        assignment = self.course.assignment(job.assignment)
        if job.path is None:
            return Prepared(job, None, None)
        name = shown(job.path.name)
        try:  # read once: the bytes parsed are the bytes fingerprinted
            data = read_submitted(job.path)
        except UnreadableSubmission as error:
            problem = f"{name} could not be read: {error}"
            return Prepared(
                job, None, None, [problem], submission_sha256=unreadable_fingerprint(error)
            )
        key = sha256(data)
        try:
            submitted = parse_submission(data)
            repaired = repair(submitted, assignment.master, self.release(assignment))
        except UnreadableSubmission as error:
            problem = f"{name} could not be read: {error}"
            return Prepared(job, None, None, [problem], submission_sha256=key)
        except OSError as error:
            problem = f"{name} could not be opened: {error}"
            return Prepared(job, None, None, [problem], submission_sha256=key)
        del data
        problems = list(repaired.problems)
        runs = []
        for banned, items in _by_forbidden(assignment).items():
            steps, unreadable = grading_program(repaired.notebook, assignment, items)
            problems.extend(p for p in unreadable if p not in problems)
            cases, windows = {}, {}
            for item in items:
                check = get_check(item.check)
                hidden = hidden_cases(check, self.secret, assignment.name, job.student, key)
                for name, costly in ((item.check, False), (channel.cost_key(item.check), True)):
                    chosen = [c for c in hidden if bool(c.seconds) == costly]
                    if chosen:
                        sent = [sent_case(c) for c in chosen]
                        cases[name] = {"caller": check.caller, "cases": sent}
                    if chosen and costly:
                        windows[name] = cost_window(chosen)
            runs.append(GradingRun(banned, [i.check for i in items], steps, cases, windows))
        task = SandboxTask(
            student=job.student,
            assignment=assignment.name,
            notebook_name=assignment.notebook,
            submission=nbformat.writes(repaired.notebook),
            master=self.master(assignment),
            course_config=self.config,
            template_gradebook=self.template,
            course_imports=self.imports,
            grading_runs=runs,
        )
        return Prepared(job, task, repaired.notebook, problems, submission_sha256=key)


COST_FACTOR = 3.0  # times a check's time budgets, from sending its cases to its records
COST_SLACK = 2.0  # seconds added to that window


def cost_window(cases: list) -> float:
    """The seconds within which the cases that measure the cost of a check's method must be
    answered, timed outside the sandbox (code in it can stop any clock there) from sending
    them, when the graded call asks, to their last records: ``COST_FACTOR`` times their
    budgets plus ``COST_SLACK``.  The budget inside the sandbox times the call alone; the
    window also holds what the budget does not count (reading the cases off the pipe,
    megabytes of arrays; copying them; encoding and sending an answer of megabytes) and a
    machine whose cores are shared with other sandboxes: the factor for the load, which
    stretches every step alike, the slack for the fixed costs, which weigh most against a
    budget of 1 s.  The methods the cost cases exist to fail (W evaluations) take ten times
    the budget or more, past any such window."""
    return COST_FACTOR * sum(case.seconds for case in cases) + COST_SLACK


def _by_forbidden(assignment: Assignment) -> dict[tuple[str, ...], list]:
    """The assignment's graded test cells, grouped by what their tasks forbid."""
    groups: dict[tuple[str, ...], list] = {}
    for item in assignment.items:
        if not item.written:
            groups.setdefault(tuple(sorted(forbidden(item.check))), []).append(item)
    return groups


def autograde(
    course: Course,
    assignments: list[str] | None = None,
    students: list[str] | None = None,
    jobs: int | None = None,
    force: bool = False,
    limits: Limits | None = None,
    sandboxed: bool = True,
    on_done: Callable[[SubmissionResult, int, int], None] | None = None,
    pool: Callable[[Path, int, Limits, bool, Course], Pool] | None = None,
) -> Summary:
    """Grade every submission (``force``: also those already graded).  ``pool`` makes the
    pool of grading workers (default: ``jobs`` local workers)."""
    limits = limits or Limits()
    if sandboxed:
        bubblewrap.check()
    _release_if_stale(course)
    todo: list[tuple[Job, str]] = []  # each job with the grader's failure to find it, if any
    summary = Summary()
    for student, assignment in candidates(course, assignments, students):
        try:
            job = find(course, student, assignment)
            if job is None:
                continue
            if not force and up_to_date(course, job):
                summary.reused += 1
                continue
            todo.append((job, ""))
        except Exception as error:  # noqa: BLE001 - one submission's failure stays its own
            job = Job(student, assignment.name, assignment.notebook, None)
            todo.append((job, _describe(error, "finding the submission")))
    if not todo:
        return summary
    work = Path(tempfile.mkdtemp(prefix="grader-"))
    make_pool = pool or LocalPool
    grading_pool = None
    try:
        count = min(jobs or os.cpu_count() or 1, len(todo))
        grading_pool = make_pool(work / "workers", count, limits, sandboxed, course)
        batch = Batch(course, work)
        grading_pool.start(batch.imports)
        futures: dict[Future, Prepared] = {}
        for job, failure in todo:
            if failure:
                prepared = Prepared(job, None, None, grader_error=failure)
            else:
                prepared = batch.prepare(job)
            futures[grading_pool.submit(prepared.task)] = prepared
        try:
            with gradebook.Writer(course.db_url) as writer:
                completed = grading_pool.as_completed(futures)
                for done, (future, prepared) in enumerate(completed, 1):
                    result = _finish(course, batch, prepared, future, writer)
                    summary.graded.append(result)
                    if on_done:
                        on_done(result, done, len(futures))
        except BaseException:
            for future in futures:
                future.cancel()
            raise
    finally:
        if grading_pool is not None:
            grading_pool.stop()
        remove_folder(work)
    return summary


def _finish(
    course: Course, batch: Batch, prepared: Prepared, future: Future, writer: gradebook.Writer
) -> SubmissionResult:
    """Steps 4 and 5 for one submission; a failure of the grader here (or earlier, while
    preparing it) is recorded as a grader error for this submission alone."""
    job = prepared.job
    if prepared.grader_error:
        return _grader_error(course, job, prepared.grader_error)
    try:
        assignment = course.assignment(job.assignment)
        try:
            execution = future.result()
        except Exception as error:  # noqa: BLE001 - the grader's failure, not the student's
            return _grader_error(course, job, _describe(error, "running it in the sandbox"))
        if execution is None:  # nothing to run: nothing usable was submitted
            execution = Execution(job.student, job.assignment)
        execution.problems[:0] = [*job.problems, *prepared.problems]
        key = prepared.submission_sha256
        result = decide(assignment, execution, prepared.submitted, batch.secret, key)
        result.submission_sha256 = key
        write_outputs(course, result, execution, writer)
    except Exception as error:  # noqa: BLE001 - one submission's failure stays its own
        return _grader_error(course, job, _describe(error, "judging or recording it"))
    finally:
        _release(future)
    return result


def _release(future: Future) -> None:
    """Drop what a finished job sent back (the batch keeps its futures until the end: one
    submission's megabytes of records must not stay with them)."""
    if not isinstance(future, Future):  # a cluster's future: let the cluster forget it
        release = getattr(future, "release", None)
        if callable(release):
            release()
        return
    try:
        execution = future.result()
    except BaseException:  # noqa: BLE001 - nothing to release
        return
    if isinstance(execution, Execution):
        execution.records = {}
        execution.notebook = None
        execution.__dict__.pop("executed", None)  # its parse


def _describe(error: BaseException, stage: str) -> str:
    """A grader error for the instructor: where, what, and the last frame of the grader."""
    frames = traceback.extract_tb(error.__traceback__)
    where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
    return f"{GRADER_ERROR} while {stage}: {type(error).__name__}: {error}"[:500] + where


def _grader_error(course: Course, job: Job, message: str) -> SubmissionResult:
    """Record a grader error for ``job`` (its earlier result, if any, stays); the result
    that reports it, which is written nowhere else."""
    folder = course.result_path(job.student, job.assignment).parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        entry = {"student": job.student, "assignment": job.assignment, "error": message}
        (folder / GRADER_ERROR_FILE).write_text(json.dumps(entry, indent=1))
    except OSError:
        pass  # the message still reaches the instructor through the summary
    return SubmissionResult(
        student=job.student,
        assignment=job.assignment,
        notebook=job.notebook,
        status=GRADER_ERROR,
        problems=[],
        flags=[f"{message} (not graded; the next run tries again)"],
        items=[],
        max_points=0.0,
    )


def write_outputs(
    course: Course, result: SubmissionResult, execution: Execution, writer: gradebook.Writer
) -> None:
    """Write the gradebook, the executed notebook (its graded cells showing the trusted
    verdicts), then the result file: in that order, so that resuming is safe."""
    submitted = course.submitted / result.student / result.assignment
    writer.write(result, submitted_at(submitted))  # never blocks
    target = course.root / "autograded" / result.student / result.assignment
    target.mkdir(parents=True, exist_ok=True)  # nbgrader counts a submission graded by it
    if execution.notebook is not None:
        notebook = annotate(execution.executed, result)
        if notebook is not None:
            nbformat.write(notebook, str(target / result.notebook))
    path = course.result_path(result.student, result.assignment)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".tmp")
    partial.write_text(json.dumps(result.to_json(), indent=1))
    partial.replace(path)
    (path.parent / GRADER_ERROR_FILE).unlink(missing_ok=True)


def _release_if_stale(course: Course) -> None:
    """Release the assignments (nbgrader generate_assignment) unless the gradebook and every
    released notebook are newer than their masters."""
    db = course.gradebook
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
    shutil.copy(course.gradebook, template)
    with closing(sqlite3.connect(template)) as db:
        db.execute("PRAGMA secure_delete = ON")
        with db:
            for table in STUDENT_TABLES:
                db.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names
        db.execute("VACUUM")
    return template
