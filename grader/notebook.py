"""What notebook cells call, in the full environment (a student's JupyterLab, an instructor
running a master): ``self_check`` under each task, ``grade`` in the masters' hidden tests,
``ready`` in worked examples, ``summary`` at the end.

- ``self_check(name, function)`` runs the visible cases and prints what passed, what did
  not and the likely cause.  It never raises, so Run All goes through a fresh notebook: a
  task not attempted yet says so in one line.  A task not passed yet makes the cell's value
  0 (nbgrader's Validate then lists it); a passed one leaves no value.  It also warns when
  the function reaches something its task forbids (``grader.checks.forbidden``), which
  grading would score 0.
- ``grade(name, function)`` judges the hidden cases here and returns the points (an
  instructor's check of a master).  In a grading sandbox the kernel's ``grade`` runs instead
  (``grader.sandboxed``): it records answers and judges nothing.
- ``summary()`` closes a notebook: it lists the tasks whose self-check has not passed, as an
  error that shows its message only, so that nbgrader's Validate fails while any is left.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from grader.checks import get_check
from grader.checks.forbidden import forbidden
from grader.judge import Verdict, answers, judge
from grader.messages import verdict_text
from grader.sandboxed.stubs import ready
from grader.seeds import hidden_cases, local_secret, visible_cases

NOT_ATTEMPTED, FAILING, FORBIDDEN, PASSED = "not attempted", "failing", "forbidden", "passed"

# Points of hidden checks that have run in this kernel and whose visible self-check has not:
# a graded cell of a master runs ``grade`` (hidden) and then ``self_check`` (visible), and
# the cell's value must be the hidden points even when a visible case fails.
_hidden_points: dict[str, float] = {}
# What each self-check of this kernel found, for ``summary``: name -> (title, state).
_progress: dict[str, tuple[str, str]] = {}


class TasksNotDone(Exception):
    """Raised by ``summary`` while tasks remain; shown as its message alone."""

    def _render_traceback_(self) -> list[str]:
        return str(self).splitlines()


class SelfCheckResult:
    """The value of a self-check cell whose task has not passed: 0 for nbgrader (its
    text), a one-line note for the student (its HTML)."""

    def __init__(self, state: str, note: str) -> None:
        self.state, self.note = state, note

    def __repr__(self) -> str:
        return "0"

    def _repr_html_(self) -> str:
        colour = {NOT_ATTEMPTED: "#8c959f", FORBIDDEN: "#cf222e"}.get(self.state, "#bf8700")
        return (
            f'<div style="border-left: 5px solid {colour}; padding: 0.3em 0.8em; '
            f'margin: 0.2em 0;"><b>Not passed yet</b>: {self.note}</div>'
        )


def grade(name: str, function: Callable) -> float | None:
    """The hidden cases of check ``name``: judged here, points returned (in a grading
    sandbox ``grader.sandboxed``'s ``grade`` runs instead)."""
    check = get_check(name)
    cases = hidden_cases(check, local_secret())
    verdict = judge(check, cases, answers(check, function, cases))
    print(verdict_text(verdict))
    _hidden_points[name] = float(verdict.points)
    return float(verdict.points)


def self_check(name: str, function: Callable) -> float | SelfCheckResult | None:
    """Run the visible cases of check ``name`` on ``function`` and print the result."""
    check = get_check(name)
    cases = visible_cases(check)
    with Tripwire(forbidden(name)) as tripwire:
        records = answers(check, function, cases, quiet=False)
    verdict = judge(check, cases, records)
    state, note = _state(verdict, tripwire.reached, function)
    _progress[name] = (f"{check.title} {check.equation}".strip(), state)
    if state == NOT_ATTEMPTED:
        print(f"{check.title}: not attempted yet. {note}")
    else:
        print(verdict_text(verdict, visible=True))
    if tripwire.reached:
        print(
            f"\nThis task asks you to work without {', '.join(tripwire.reached)}, and your "
            f"function uses it. Grading runs your function where "
            f"{'it does' if len(tripwire.reached) == 1 else 'they do'} not exist, so it would "
            f"score 0 there."
        )
    if name in _hidden_points:
        return _hidden_points.pop(name)
    return None if state == PASSED else SelfCheckResult(state, note)


def _state(verdict: Verdict, reached: list[str], function: Callable) -> tuple[str, str]:
    fname = getattr(function, "__name__", "the function")
    problems = [r.problem for r in verdict.results if not r.passed]
    if problems and all(p.startswith("not implemented yet") for p in problems):
        return NOT_ATTEMPTED, f"Implement `{fname}` above, then run this cell again."
    if problems:
        return FAILING, (
            f"{verdict.passed} of {len(verdict.results)} visible cases pass; the messages "
            f"above say what to look at."
        )
    if reached:
        return FORBIDDEN, f"`{fname}` uses {', '.join(reached)}, which this task forbids."
    return PASSED, ""


def summary() -> None:
    """Close a notebook: say which tasks' self-checks have not passed (raising, so that
    nbgrader's Validate fails while any is left), or that all have."""
    if not _progress:
        print("No self-check has run in this session yet: run all cells (Run > Run All Cells).")
        return None
    left = [(title, state) for title, state in _progress.values() if state != PASSED]
    if not left:
        print(
            f"All {len(_progress)} tasks pass their self-checks. Grading runs them again on "
            f"other cases."
        )
        return None
    lines = [f"{len(left)} of {len(_progress)} tasks are not done yet:"]
    lines += [f"  - {title}: {state}" for title, state in left]
    raise TasksNotDone("\n".join(lines))


class Tripwire:
    """Notes which of ``names`` (dotted paths from ``grader.checks.forbidden``) run while
    it is active: any Python function defined in one of the named modules, or one of the
    named functions, classes or methods, however it was reached.  A hint for the student
    (code can switch it off); grading does not rely on it."""

    def __init__(self, names: tuple[str, ...]) -> None:
        self.modules: list[str] = []
        self.codes: dict[Any, str] = {}
        for name in names:
            self._resolve(name)
        self.reached: list[str] = []
        self._previous = None

    def _resolve(self, name: str) -> None:
        if not name.startswith("autodiff."):  # another package: by its modules, unimported
            self.modules.append(name)
            return
        target = _lookup(name)
        if target is None or isinstance(target, type(sys)):
            self.modules.append(name)
            return
        functions = [target]
        if isinstance(target, type):
            functions = [v for v in vars(target).values() if callable(v)]
        for function in functions:
            code = getattr(getattr(function, "__func__", function), "__code__", None)
            if code is not None:
                self.codes[code] = name

    def __enter__(self) -> Tripwire:
        self._previous = sys.getprofile()
        sys.setprofile(self._watch)
        return self

    def __exit__(self, *exc: object) -> None:
        sys.setprofile(self._previous)

    def _watch(self, frame, event, arg) -> None:
        if event != "call":
            return
        name = self.codes.get(frame.f_code)
        if name is None and self.modules:
            module = frame.f_globals.get("__name__", "")
            for prefix in self.modules:
                if module == prefix or module.startswith(prefix + "."):
                    name = f"{module}.{frame.f_code.co_name}"
                    break
        if name is not None and name not in self.reached:
            self.reached.append(name)


def _lookup(name: str) -> Any:
    """The object a dotted name of ``autodiff`` refers to, importing what it needs; None if
    it does not exist in this environment."""
    import importlib

    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            target = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attribute in parts[cut:]:
            target = getattr(target, attribute, None)
            if target is None:
                return None
        return target
    return None


__all__ = ["grade", "ready", "self_check", "summary"]
