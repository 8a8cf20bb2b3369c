"""What notebook cells call: ``grade`` in hidden tests, ``self_check`` in visible ones."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable

import numpy as np

from grader.checks import get_check
from grader.collect import collect
from grader.judge import Verdict, judge
from grader.plain import encode
from grader.report import verdict_text

SALT_VARIABLE = "GRADER_SALT"
RECORD_VARIABLE = "GRADER_RECORD"

# Points of hidden checks that have run in this kernel and whose visible self-check has not:
# a graded cell runs ``grade`` (hidden) and then ``self_check`` (visible), and the cell's
# value must be the hidden points even when a visible case fails.
_hidden_points: dict[str, float] = {}


def seed_for(name: str, purpose: str) -> int:
    """The seed of a check's cases: hidden cases depend on a salt the instructor can set
    (environment variable ``GRADER_SALT``), visible ones do not."""
    salt = os.environ.get(SALT_VARIABLE, "") if purpose == "hidden" else ""
    digest = hashlib.sha256(f"{purpose}:{salt}:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "little")


def hidden_cases(name: str):
    """The hidden cases of check ``name``, regenerated from its seed."""
    check = get_check(name)
    return check, check.cases(np.random.default_rng(seed_for(name, "hidden")))


def grade(name: str, function: Callable) -> float:
    """Grade ``function`` with the hidden cases of check ``name``: print what passed and
    what did not, and return the points (the cell's value is nbgrader's partial credit)."""
    check, cases = hidden_cases(name)
    records = collect(check, function, cases)
    _record(name, records)
    verdict = judge(check, cases, records)
    print(verdict_text(verdict))
    _hidden_points[name] = float(verdict.points)
    return float(verdict.points)


def self_check(name: str, function: Callable) -> float | None:
    """Run the visible cases of check ``name`` on ``function`` and print the result.

    On its own (the student edition) it raises ``AssertionError`` with the first problem
    if a case fails.  Right after ``grade(name, ...)`` (a graded cell of the master, whose
    hidden tests run first) it never raises and returns the hidden points instead, so that
    the cell's value is nbgrader's partial credit.
    """
    check = get_check(name)
    cases = check.visible_cases(np.random.default_rng(seed_for(name, "visible")))
    records = collect(check, function, cases, quiet=False)
    verdict = judge(check, cases, records)
    print(verdict_text(verdict, visible=True))
    if name in _hidden_points:
        return _hidden_points.pop(name)
    if verdict.passed < len(cases):
        failed = next(r for r in verdict.results if not r.passed)
        raise AssertionError(f"{check.name}, case {failed.case!r}: {failed.problem}")
    return None


def _record(name: str, records: list[dict]) -> None:
    """Append the plain records to the file named by ``GRADER_RECORD``, when the grading
    pipeline sets it, so that it can judge them again outside the notebook's kernel."""
    path = os.environ.get(RECORD_VARIABLE)
    if path:
        with open(path, "a", encoding="utf-8") as stream:
            stream.write(json.dumps({"check": name, "records": encode(records)}) + "\n")


__all__ = ["Verdict", "grade", "hidden_cases", "seed_for", "self_check"]
