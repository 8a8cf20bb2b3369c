"""Where student code runs: ``answers`` calls a function on cases in this process,
through the same plain channel as grading (the check's caller of
``grader.sandboxed.callers``, ``grader.sandboxed.calls.run_cases``), for the student's own
self-check in the notebook, the instructor's masters, and the tests.  The only module of
``grader.judge`` that calls the function it is given; the others judge the plain records it
returns and never call student code."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from grader.framework import Case, Check
from grader.judge.results import plain_case
from grader.sandboxed import channel
from grader.sandboxed.callers import CALLERS
from grader.sandboxed.calls import run_cases


def answers(
    check: Check,
    function: Callable,
    cases: list[Case],
    time_limit: float | None = None,
    quiet: bool = True,
) -> list[dict[str, Any]]:
    """The records of ``function`` on ``cases``, run in this process as the kernel runs
    it in the sandbox (same caller, same plain inputs and outputs)."""
    plain = [plain_case(case) for case in cases]
    records = run_cases(CALLERS[check.caller], function, plain, time_limit, quiet)
    return channel.decode(channel.encode(records))
