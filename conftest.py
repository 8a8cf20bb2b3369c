"""The masters under nbval (``pytest --nbval-lax course/source``, part of ``make test``): each
runs from top to bottom in one kernel, and each cell fails its test if it raises.  One rule is
added here, nbgrader's own: a graded code cell must also earn its full points (no error, no
standard error, partial credit from the cell's value), so that one execution of each master
checks both."""

from __future__ import annotations

import nbformat
import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    report = outcome.get_result()
    meta = getattr(item, "cell", {}).get("metadata", {}).get("nbgrader", {})
    if call.when != "call" or not report.passed or not meta.get("grade"):
        return
    if item.cell.get("cell_type") != "code" or item.test_outputs is None:
        return
    from nbgrader.utils import determine_grade

    cell = nbformat.from_dict({**item.cell, "outputs": item.test_outputs})
    score, max_score = determine_grade(cell)
    if score != max_score:
        report.outcome = "failed"
        report.longrepr = f"graded cell {meta['grade_id']} earned {score} of {max_score} points"
