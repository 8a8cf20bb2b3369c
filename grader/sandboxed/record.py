"""``grade`` where student code runs but nothing is graded: nbgrader's run of the notebook
for the record, in the notebook server's sandbox.

The hidden cases never reach that run (a grading run calls the student's functions on them,
``grader.sandboxed.grading_run``): here ``grade`` only says that the task is graded elsewhere,
in a line the trusted side looks for (``NOTEBOOK_RUN_LINE``: the function existed and could
be called when the notebook ran, so a grading run that cannot rebuild it is the grader's
problem, not the student's).  The visible self-check and the closing summary are for
students: here they do nothing.
"""

from __future__ import annotations

from collections.abc import Callable

NOTEBOOK_RUN_LINE = "{check}: graded in a separate run, outside this notebook"


def grade(name: str, function: Callable) -> None:
    """Say that check ``name`` is graded in a separate run (when ``function`` is one)."""
    if callable(function):
        print(NOTEBOOK_RUN_LINE.format(check=name))
    else:
        print(f"{name}: the graded name is not a function")
    return None


def self_check(name: str, function: Callable, task: str | None = None) -> None:
    """Nothing while grading: the visible self-check is the student's."""
    return None


def summary() -> None:
    """Nothing while grading: the closing summary is the student's."""
    return None
