"""The trusted verdict on one submission: points per graded cell, decided from plain data.

For each graded test cell of the master the hidden cases are generated here from the course
secret, and the answers that the grading run recorded are judged against references
computed here.  Nothing the kernel printed or claimed counts.  A task to implement oneself
was run where what it forbids does not exist; when its function failed there, the reading
of the code (``reading``) says why in the feedback, if it can.  A function that existed when
the notebook ran but that the grading run could not rebuild, or that failed there on what
the notebook had and the grading run lacks, is the grader's failure, not the student's: the
instructor is told (a flag) and the student's feedback says so.
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
from grader.sandboxed import channel
from grader.sandboxed.record import NOTEBOOK_RUN_LINE
from grader.seeds import hidden_cases


def decide(
    assignment: Assignment,
    execution: Execution,
    submitted: nbformat.NotebookNode | None,
    secret: str,
    submission: str = "",
) -> SubmissionResult:
    """The result of one submission (``submitted``: the repaired notebook, None when the
    submission could not be read; ``submission``: its fingerprint, which draws its hidden
    cases with the secret)."""
    flags: list[str] = []
    executed = _cells_by_id(execution.executed)
    # Written answers are read from the executed notebook, or from the submission itself
    # when the kernel died and nbgrader wrote no notebook.
    answers = executed if execution.notebook is not None else _cells_by_id(submitted)
    items = []
    for item in assignment.items:
        if item.written:
            items.append(_written(item, answers.get(item.grade_id)))
        else:
            result = _graded(item, execution, submitted, (secret, submission), flags)
            if _missing_here(item, execution):
                flags.append(
                    f"{item.check}: `{item.function}` used something the notebook had and the "
                    f"grading run lacks (a package, or a file the notebook wrote): look at the "
                    f"submission and grade this task by hand if it deserves points"
                )
            if _lost_in_rebuild(item, execution, executed.get(item.grade_id)):
                flags.append(
                    f"{item.check}: `{item.function}` existed when the notebook ran, but the "
                    f"grading run could not rebuild it from the submission's cells: look at "
                    f"the submission and grade this task by hand if it deserves points"
                )
                result.note = (
                    f"`{item.function}` was defined when your notebook ran, but the grading "
                    f"run could not rebuild it from your cells; your instructor has been told "
                    f"and will look at it"
                )
            items.append(result)
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
    keys: tuple[str, str],
    flags: list[str],
) -> ItemResult:
    check = get_check(item.check)
    secret, submission = keys
    cases = hidden_cases(check, secret, execution.assignment, execution.student, submission)
    runs = execution.records.get(item.check, [])
    if not runs:
        verdict = _no_record(check, cases, submitted is not None)
    else:
        verdict = min(
            (judge(check, cases, records, hidden=True) for records in runs),
            key=lambda v: v.points,
        )
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


def _lost_in_rebuild(item: GradedItem, execution: Execution, cell) -> bool:
    """True when the notebook run's graded cell found the function (its output has the
    kernel's line for it) and no graded call of the grading runs did."""
    if cell is None or not _printed(cell, NOTEBOOK_RUN_LINE.format(check=item.check)):
        return False
    calls = execution.records.get(item.check, [])
    missing = (channel.UNDEFINED, channel.NOT_CALLABLE)
    return not calls or all(
        records and all(_error_kind(r) in missing for r in records) for records in calls
    )


def _missing_here(item: GradedItem, execution: Execution) -> bool:
    """True when a graded call failed on what the notebook had and the grading run lacks."""
    return any(
        _error_kind(record) == channel.MISSING_HERE
        for records in execution.records.get(item.check, [])
        for record in records
    )


def _printed(cell, line: str) -> bool:
    """Whether a cell of the executed notebook (written where student code ran: any shape)
    printed ``line`` on its standard output."""
    outputs = cell.get("outputs") if isinstance(cell, dict) else None
    for output in outputs if isinstance(outputs, list) else ():
        if isinstance(output, dict) and output.get("name") == "stdout":
            text = output.get("text", "")
            text = "".join(text) if isinstance(text, list) else text
            if isinstance(text, str) and line in text.splitlines():
                return True
    return False


def _error_kind(record) -> str | None:
    error = record.get("error") if isinstance(record, dict) else None
    return error.get("kind") if isinstance(error, dict) else None


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


def _cells_by_id(notebook) -> dict[str, Any]:
    cells = {}
    found = notebook.get("cells") if notebook is not None else None
    for cell in found if isinstance(found, list) else ():
        meta = cell.get("metadata") if isinstance(cell, dict) else None
        nbgrader = meta.get("nbgrader") if isinstance(meta, dict) else None
        gid = nbgrader.get("grade_id") if isinstance(nbgrader, dict) else None
        if isinstance(gid, str):
            cells.setdefault(gid, cell)
    return cells
