"""The trusted verdict on one execution: points per graded cell, decided from plain data.

For each graded test cell of the master, the cases are regenerated here from the check's
seed and the records the hidden test wrote are judged against references computed here.
The points the kernel itself claimed (nbgrader's partial credit) are only compared: a
disagreement is flagged, never believed.  Tasks that must be implemented without
``autodiff`` score 0 when the function reaches a forbidden transform.  The records are
written in the student's kernel, so a notebook whose code reaches the hidden tests' cases,
references or record file (``grader.pipeline.static_checks``) gets no automatic points.
"""

from __future__ import annotations

from typing import Any

import nbformat
from nbgrader.utils import compute_checksum, determine_grade

from grader.api import hidden_cases
from grader.judge import CaseResult, Verdict, judge
from grader.pipeline.course import Assignment, GradedItem
from grader.pipeline.run import Execution
from grader.pipeline.static_checks import Reach, forbidden_uses, grading_reach


def decide(assignment: Assignment, execution: Execution) -> dict[str, Any]:
    """The result of one submission: items with points and messages, problems, flags."""
    flags = []
    reach = Reach()
    if execution.submitted is not None:
        reach = grading_reach(execution.submitted, assignment.master)
    if reach.channel:
        flags.append(
            f"the notebook reaches into the hidden tests' records ({', '.join(reach.channel)}): "
            f"its automatic points are withheld"
        )
    if reach.dynamic:
        flags.append(
            f"the notebook runs code that a reading cannot follow ({', '.join(reach.dynamic)}): "
            f"an instructor should review it"
        )
    executed = _cells_by_id(execution.notebook)
    # Written answers are read from the executed notebook, or from the submission itself
    # when the kernel died and nbgrader wrote no notebook.
    answers = executed if execution.notebook is not None else _cells_by_id(execution.submitted)
    items = []
    for item in assignment.items:
        if item.written:
            items.append(_written(item, answers.get(item.grade_id)))
        else:
            withheld = bool(reach.channel)
            items.append(_graded(item, execution, executed.get(item.grade_id), withheld, flags))
    auto = sum(i["points"] for i in items if i["points"] is not None)
    return {
        "student": execution.student,
        "assignment": assignment.name,
        "status": "graded" if execution.readable else "unreadable",
        "problems": execution.problems,
        "flags": flags,
        "items": items,
        "auto_points": round(auto, 2),
        "max_points": assignment.max_points,
        "seconds": round(execution.seconds, 2),
        "kernel_starts": execution.kernel_starts,
    }


def _graded(
    item: GradedItem, execution: Execution, cell, withheld: bool, flags: list[str]
) -> dict[str, Any]:
    check, cases = hidden_cases(item.check)
    runs = execution.records.get(item.check, [])
    if not runs:
        verdict = _no_record(check, cases, execution)
    else:
        verdicts = [judge(check, cases, records) for records in runs]
        verdict = min(verdicts, key=lambda v: v.points)
        if len(runs) > 1:
            flags.append(
                f"{item.check}: the hidden test ran {len(runs)} times (the notebook calls the "
                f"grader itself, or tampers with its records); the lowest score counts"
            )
    forbidden = ()
    if execution.submitted is not None and check.implement_yourself:
        forbidden = forbidden_uses(execution.submitted, item.function, check.implement_yourself)
    note = ""
    if forbidden:
        note = (
            f"this task asks you to implement it yourself, but {item.function} uses "
            f"{', '.join(forbidden)}: 0 points"
        )
        verdict.points = 0.0
        flags.append(f"{item.check}: uses {', '.join(forbidden)} in a task to implement oneself")
    if withheld:
        note = "automatic points withheld: the notebook reaches into the hidden tests' records"
        verdict.points = 0.0
    kernel = _kernel_points(cell)
    if kernel is not None and abs(kernel - verdict.points) > 1e-6:
        flags.append(
            f"{item.check}: the notebook's own result ({kernel:g} points) disagrees with the "
            f"grader's ({verdict.points:g}); the grader's counts"
        )
    return {
        "grade_id": item.grade_id,
        "check": item.check,
        "max_points": item.points,
        "points": float(verdict.points),
        "kernel_points": kernel,
        "verdict": verdict.to_dict(),
        "note": note,
    }


def _no_record(check, cases, execution: Execution) -> Verdict:
    reason = "the hidden test did not run"
    if not execution.readable:
        reason = "the submission could not be read"
    elif execution.notebook is None:
        reason = "the notebook could not be executed"
    results = [CaseResult(case.name, False, reason) for case in cases]
    return Verdict(check.name, check.title, check.equation, 0.0, check.points, results)


def _written(item: GradedItem, cell) -> dict[str, Any]:
    """A written answer: 0 when left as released (its checksum is the one nbgrader
    stored at release), otherwise waiting for a person."""
    answered = cell is not None and cell.metadata.get("nbgrader", {}).get(
        "checksum"
    ) != compute_checksum(cell)
    return {
        "grade_id": item.grade_id,
        "check": "",
        "max_points": item.points,
        "points": None if answered else 0.0,
        "kernel_points": None,
        "verdict": None,
        "note": "graded by hand" if answered else "no answer",
    }


def _kernel_points(cell) -> float | None:
    if cell is None:
        return None
    try:
        score, _ = determine_grade(nbformat.from_dict(cell))
    except Exception:  # noqa: BLE001 - a cell written in the sandbox: any malformation
        return None
    return None if score is None else float(score)


def _cells_by_id(notebook) -> dict[str, Any]:
    cells = {}
    for cell in notebook.cells if notebook is not None else ():
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if isinstance(gid, str):
            cells.setdefault(gid, cell)
    return cells
