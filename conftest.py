"""The masters under nbval (``pytest --nbval-lax course/source``, part of ``make test``): each
runs from top to bottom in one kernel, and each cell fails its test if it raises.  Two rules
are added here.  nbgrader's own: a graded code cell must also earn its full points (no error,
no standard error, partial credit from the cell's value).  And what a solved notebook shows a
student: no cell writes to standard error, no worked example waits for a task or reports a
failing self-check, and every cell that draws a figure has its image.  One execution of each
master checks all of it (the browser tests run the released notebooks fresh, and one solved).
"""

from __future__ import annotations

import re

import nbformat
import pytest

FIGURE = re.compile(r"plt\.show\(\)|figure_8_[45]\(|plot_swell\(")
"""What draws a figure in a code cell of the course."""


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    report = outcome.get_result()
    cell = getattr(item, "cell", None)
    if call.when != "call" or not report.passed or cell is None:
        return
    if cell.get("cell_type") != "code" or item.test_outputs is None:
        return
    shown = _what_a_student_would_miss(cell, item.test_outputs)
    if shown:
        report.outcome = "failed"
        report.longrepr = f"{''.join(cell['source'])[:80]!r}: {shown}"
        return
    meta = cell.get("metadata", {}).get("nbgrader", {})
    if not meta.get("grade"):
        return
    from nbgrader.utils import determine_grade

    cell = nbformat.from_dict({**item.cell, "outputs": item.test_outputs})
    score, max_score = determine_grade(cell)
    if score != max_score:
        report.outcome = "failed"
        report.longrepr = f"graded cell {meta['grade_id']} earned {score} of {max_score} points"


def _what_a_student_would_miss(cell: dict, outputs: list[dict]) -> str:
    """What is wrong with a solved cell's outputs, for a student reading them; "" if
    nothing."""
    text = ""
    for output in outputs:
        if output.get("output_type") == "stream" and output.get("name") == "stderr":
            return "wrote to standard error"
        if output.get("output_type") == "stream":
            text += "".join(output.get("text", ""))
        elif "text/plain" in output.get("data", {}):
            text += "".join(output["data"]["text/plain"])
    if "waits for" in text or "[FAIL]" in text:
        return "a worked example waits for a task, or a self-check fails"
    source = "".join(cell.get("source", ""))
    images = any("image/png" in output.get("data", {}) for output in outputs)
    if FIGURE.search(source) and not images:
        return "draws no figure"
    return ""
