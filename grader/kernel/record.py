"""``grade`` where student code runs: call the function on the case inputs the trusted side
sent, and append the plain answers to the records file.  No case, no answer.

In a grading run the environment names the case inputs (``GRADER_CASES``) and the records
file (``GRADER_RECORDS``); a run that grades nothing (nbgrader's execution of the notebook
for the record) names neither, and ``grade`` only says that the task is graded elsewhere.
The visible self-check and the closing summary are for students: here they do nothing.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from grader.channel import CASES_VARIABLE, RECORDS_VARIABLE, read_cases, record_line
from grader.kernel.callers import CALLERS
from grader.kernel.calls import run_cases


def grade(name: str, function: Callable) -> None:
    """Run ``function`` on the case inputs of check ``name`` and record its answers."""
    cases_path, records_path = os.environ.get(CASES_VARIABLE), os.environ.get(RECORDS_VARIABLE)
    sent = read_cases(Path(cases_path)) if cases_path and Path(cases_path).exists() else {}
    if name not in sent or not records_path:
        print(f"{name}: graded in a separate run, outside this notebook")
        return None
    caller, cases = sent[name]
    records = run_cases(CALLERS[caller], function, cases)
    with open(records_path, "a", encoding="utf-8") as stream:
        stream.write(record_line(name, records))
    print(f"{name}: {len(records)} cases run; the answers are judged outside this notebook")
    return None


def self_check(name: str, function: Callable) -> None:
    """Nothing while grading: the visible self-check is the student's."""
    return None


def summary() -> None:
    """Nothing while grading: the closing summary is the student's."""
    return None
