"""The trusted verdict on one submission: points per graded cell, decided from plain data.

For each graded test cell of the master the hidden cases are generated here from the course
secret, and the answers that the grading run recorded are judged against references
computed here.  Nothing the kernel printed or claimed counts.  A task to implement oneself
was run where what it forbids does not exist; when its function failed there, the reading
of the code (``reading``) says why in the feedback, if it can.
"""

from __future__ import annotations

from typing import Any

import nbformat
from nbgrader.utils import compute_checksum

from grader.checks import get_check
from grader.checks.forbidden import forbidden
from grader.judge import CaseResult, Verdict, judge
from grader.pipeline.course import Assignment, GradedItem
from grader.pipeline.judging.reading import forbidden_uses
from grader.pipeline.results import Execution, ItemResult, SubmissionResult
from grader.seeds import hidden_cases


def decide(
    assignment: Assignment,
    execution: Execution,
    submitted: nbformat.NotebookNode | None,
    secret: str,
) -> SubmissionResult:
    """The result of one submission (``submitted``: the repaired notebook, None when the
    submission could not be read)."""
    flags: list[str] = []
    executed = _cells_by_id(_read(execution.notebook))
    # Written answers are read from the executed notebook, or from the submission itself
    # when the kernel died and nbgrader wrote no notebook.
    answers = executed if execution.notebook is not None else _cells_by_id(submitted)
    items = []
    for item in assignment.items:
        if item.written:
            items.append(_written(item, answers.get(item.grade_id)))
        else:
            items.append(_graded(item, execution, submitted, secret, flags))
    return SubmissionResult(
        student=execution.student,
        assignment=assignment.name,
        notebook=assignment.notebook,
        status="graded" if submitted is not None else "unreadable",
        problems=execution.problems,
        flags=flags,
        items=items,
        max_points=assignment.max_points,
        seconds=round(execution.seconds, 2),
        grading_run_seconds=round(execution.grading_run_seconds, 2),
        kernel_starts=execution.kernel_starts,
        worker=execution.worker,
    )


def _graded(
    item: GradedItem,
    execution: Execution,
    submitted: nbformat.NotebookNode | None,
    secret: str,
    flags: list[str],
) -> ItemResult:
    check = get_check(item.check)
    cases = hidden_cases(check, secret, execution.assignment, execution.student)
    runs = execution.records.get(item.check, [])
    if not runs:
        verdict = _no_record(check, cases, submitted is not None)
    else:
        verdict = min((judge(check, cases, records) for records in runs), key=lambda v: v.points)
        if len(runs) > 1:
            flags.append(
                f"{item.check}: the graded call ran {len(runs)} times (the notebook calls the "
                f"grader itself); the lowest score counts"
            )
    note = ""
    banned = forbidden(item.check)
    used = forbidden_uses(submitted, item.function, banned) if submitted and banned else []
    if used:
        flags.append(
            f"{item.check}: {item.function} uses {', '.join(used)}, which its task forbids"
        )
        if verdict.points < check.points:
            absent = "that does" if len(used) == 1 else "those do"
            note = (
                f"this task asks you to implement it yourself, and {item.function} uses "
                f"{', '.join(used)}: it was graded where {absent} not exist"
            )
    return ItemResult(item.grade_id, item.check, item.points, float(verdict.points), verdict, note)


def _no_record(check, cases, readable: bool) -> Verdict:
    reason = "the hidden test did not run" if readable else "the submission could not be read"
    results = [CaseResult(case.name, False, reason) for case in cases]
    return Verdict(check.name, check.title, check.equation, 0.0, check.points, results)


def _written(item: GradedItem, cell) -> ItemResult:
    """A written answer: 0 when left as released (its checksum is the one nbgrader
    stored at release), otherwise waiting for a person."""
    answered = cell is not None and cell.metadata.get("nbgrader", {}).get(
        "checksum"
    ) != compute_checksum(cell)
    note = "graded by hand" if answered else "no answer"
    return ItemResult(item.grade_id, "", item.points, None if answered else 0.0, None, note)


def _read(text: str | None) -> nbformat.NotebookNode | None:
    if text is None:
        return None
    try:
        return nbformat.reads(text, as_version=4)
    except Exception:  # noqa: BLE001 - written where student code ran: anything can be wrong
        return None


def _cells_by_id(notebook) -> dict[str, Any]:
    cells = {}
    for cell in notebook.cells if notebook is not None else ():
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if isinstance(gid, str):
            cells.setdefault(gid, cell)
    return cells
