"""Messages a student can act on, from a verdict.

``verdict_text`` writes a verdict: the graded form (hidden cases, in the instructor's copy of
an autograded notebook) as one line per item, and the self-check's form (visible cases, in
the student's notebook) wrapped as prose at ``WIDTH`` columns, because JupyterLab breaks a
long printed line wherever the output area ends, in the middle of a word.  The other
functions write the self-check's one-line outcomes, its warning about what a task forbids,
and the closing summary.
"""

from __future__ import annotations

import re
import textwrap

from grader.checks import forbidden as table
from grader.judge import Verdict, _equation

PASS, FAIL = "[pass]", "[FAIL]"
WIDTH = 80
"""Columns of the self-check's text: narrower than JupyterLab's output area on a laptop,
and than the lines ``nbgrader validate`` quotes whole (it cuts them at 87 columns, after
an indent of 4)."""

REASONS = {
    "WITHOUT_INVERSION": (
        "it asks for the inverse by rank-one updates, with no matrix inversion or linear solver"
    ),
    "TWO_LAYER_BY_HAND": (
        "it asks you to write the network's forward pass and derivatives yourself, with NumPy"
    ),
    "BY_HAND": "it asks you to compute this yourself, with NumPy",
}
"""Why a task forbids what it forbids, by the name of its entry in
``grader.checks.forbidden`` (first match)."""


def verdict_text(verdict: Verdict, visible: bool = False, task: str = "") -> str:
    """The verdict as plain text: a head line, then each case with what is wrong (expected
    against received for the first failing case), then the likely cause.

    A cause that explains every failing case is said once, after the cases; a hint that
    belongs to one case (an error raised in that case) is said under it.  The graded form
    (``visible`` False) says the points in its head line; the self-check's form names the
    task (``task``, e.g. "Task 2") and leaves the count of passing cases to its last line
    (``outcome_line``)."""
    n = len(verdict.results)
    if visible:
        lines = [f"{task} self-check: " if task else "Self-check: "]
        lines[0] += task_title(verdict.title, verdict.equation)
    else:
        head = f"{verdict.title} {verdict.equation}".strip()
        lines = [
            f"{head} -- graded: {verdict.points:g} / {verdict.max_points:g} points "
            f"({verdict.passed} of {n} cases pass)"
        ]
    counts: dict[str, int] = {}
    for result in verdict.results:
        if result.diagnosis:
            counts[result.diagnosis] = counts.get(result.diagnosis, 0) + 1
    shared = [d for d, count in counts.items() if count > 1]
    shown_details = False
    for i, result in enumerate(verdict.results, 1):
        lines.append(f"  {PASS if result.passed else FAIL} case {i}: {result.case}")
        if result.problem:
            lines.append(f"      {result.problem}")
        if result.details and not shown_details:
            lines.extend(f"      {line}" for line in result.details)
            shown_details = True
        if result.diagnosis and result.diagnosis not in shared:
            lines.append(f"      likely cause: {result.diagnosis}")
        if result.warnings:
            lines.append(f"      note (not penalised): {'; '.join(result.warnings)}")
    for diagnosis in shared:
        lines.append(f"  likely cause, in every failing case: {diagnosis}")
    return "\n".join(wrap(line) for line in lines) if visible else "\n".join(lines)


def task_title(title: str, equation: str) -> str:
    """A check's title with the equation to reread after a comma: "Exact Hessian, block (a):
    two second-layer weights, Exercise 8.6 (a)"."""
    equation = _equation(equation) if equation.strip() else ""
    return f"{title}, {equation}" if equation else title


def outcome_line(task: str, passed: int, total: int) -> str:
    """The last line of a self-check whose cases ran: how many pass."""
    if passed == total:
        return f"{task}: all {total} cases pass." if task else f"All {total} cases pass."
    return wrap(f"{task or 'This task'} is not passed yet: {passed} of {total} cases pass.")


def not_attempted_line(task: str, function: str) -> str:
    """The whole self-check of a task whose function is still the released stub."""
    return wrap(
        f"{task or 'This task'} is not attempted yet: implement `{function}` above, then run "
        f"this cell again."
    )


def cell_failed_line(task: str, function: str, error: str) -> str:
    """The whole self-check of a task whose solution cell failed to run, so that its
    function is still the released stub."""
    cell = f"the cell that defines `{function}`"
    return wrap(
        f"{f'{task}: {cell}' if task else cell.capitalize()} failed to run ({error}), so "
        f"`{function}` is still the unimplemented one. Correct that cell and run it, then run "
        f"this cell again."
    )


def earlier_version_line(function: str, error: str) -> str:
    """A note under a self-check whose function comes from an earlier run than the last
    run of the cell that defines it, which failed."""
    return wrap(
        f"Note: the cell that defines `{function}` failed when it last ran ({error}); this "
        f"self-check ran the `{function}` defined before."
    )


def forbidden_sentence(check: str, function: str, called: list[str], made: bool = False) -> str:
    """One sentence: what the student's function called of the things its task forbids,
    as the student wrote them (``made``: the function is itself one of them, or one they
    made), and why the task forbids them."""
    one = len(called) == 1
    names = _and([f"`{name}`" for name in called])
    subject = f"Your function is made by {names}" if made else f"`{function}` calls {names}"
    return wrap(
        f"{subject}, which this task forbids because {_reason(check)}; graded where "
        f"{'it does' if one else 'they do'} not exist, your function would score 0."
    )


def _reason(check: str) -> str:
    forbids = table.forbidden(check)
    for entry, reason in REASONS.items():
        if getattr(table, entry, None) == forbids:
            return reason
    return "it asks you to implement this yourself"


def summary_lines(left: list[tuple[str, str]], total: int) -> list[str]:
    """The closing summary while tasks are left: (task, state) for each."""
    lines = [f"{len(left)} of {total} tasks are not done yet:"]
    lines += [wrap(f"  - {task}: {state}", indent="    ") for task, state in left]
    return lines


def all_done_line(total: int) -> str:
    """The closing summary when every task passes."""
    return wrap(
        f"All {total} tasks pass their self-checks. Grading runs them again on other cases."
    )


def _and(items: list[str]) -> str:
    if len(items) <= 2:
        return " and ".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def wrap(line: str, indent: str | None = None) -> str:
    """``line`` wrapped at ``WIDTH`` columns, never inside a word, a shape or an equation's
    number; its continuation lines indented as ``indent`` says, else as the line (after a
    case's "[FAIL] ", two more for a likely cause or an item of the summary).  An array's
    rows (lines that start with "[" after their indent) stay as NumPy printed them."""
    if len(line) <= WIDTH:
        return line
    body = line.lstrip(" ")
    if body.startswith("["):
        if body.startswith((PASS, FAIL)):
            indent = indent or " " * (len(line) - len(body) + len(PASS) + 1)
        else:
            return line
    if indent is None:
        indent = " " * (len(line) - len(body))
        if body.startswith("likely cause") or body.startswith("- "):
            indent += "  "
    glued = UNBROKEN.sub(lambda match: match.group(0).replace(" ", GLUE), line)
    text = textwrap.fill(
        glued,
        width=WIDTH,
        subsequent_indent=indent,
        break_long_words=False,
        break_on_hyphens=False,
    )
    return text.replace(GLUE, " ")


UNBROKEN = re.compile(
    r"\([\w.+-]+(?:, [\w.+-]+)+,?\)|\b(?:Exercise|Section|Figure|Algorithm) \d+(?:\.\d+)*"
)
"""A shape or an index, "(3, 2, 13)", or a reference, "Exercise 8.12": never broken across
lines."""
GLUE = "\N{NO-BREAK SPACE}"
