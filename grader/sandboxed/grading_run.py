"""A grading run of one submission: ``python -m grader.sandboxed.grading_run FD``.

The trusted side picks, from the submission's code cells, the statements that the graded
functions need (their definitions and whatever those use, in notebook order), and sends
them with the graded calls and the case inputs as the program on standard input
(``grader.sandboxed.channel.program_message``).  This process, alone in a sandbox whose build of
``autodiff`` lacks what the tasks forbid, reads the whole program, sets its resource limits,
and only then executes the statements one by one in one namespace (``replay``: a failing
one is reported by the kind of its error and the run goes on, as in a notebook; an import
of what this run lacks binds a stand-in that says why when it is used); at each graded
call it runs the function on the cases and writes the answers to the descriptor ``FD``, a
pipe whose other end the trusted side holds.  It writes no file, and sends nothing but the
records and the kinds of the errors.

A check whose task grades the cost of its method has cases that measure it (with a time
budget of their own): they are not in the program.  At the check's graded call, after its
other cases, the run asks the trusted side for them on ``FD`` under the check's
``cost_key`` and reads them as one line on its standard input, which stays open for that
(``on_request``); the trusted side times the call from when it sent them, with a clock no
code here can stop.  The cases of a key are asked for once, and kept for a second graded
call of the check.
"""

from __future__ import annotations

import builtins
import os
import sys
from typing import IO, Any

from grader.sandboxed import replay, shown
from grader.sandboxed.callers import CALLERS
from grader.sandboxed.calls import error_record, run_cases
from grader.sandboxed.channel import (
    NOT_CALLABLE,
    UNDEFINED,
    ChannelError,
    cost_key,
    failed_statement_message,
    graded_check,
    read_cases,
    read_program,
    records_message,
    request_message,
)
from grader.sandboxed.limits import limit_resources

MAX_PROGRAM_BYTES = 512 * 1024**2


class Cases:
    """The cases of each key of a run: those of its program, and, for a key whose cases
    come on request, those the trusted side sent on ``answers`` (its standard input), kept
    by key as they arrive."""

    def __init__(self, checks: dict[str, dict], messages: IO[str], answers: IO[bytes] | None):
        self.known = {c: e["cases"] for c, e in checks.items() if "cases" in e}
        self.messages, self.answers = messages, answers
        self.asked: set[str] = set()

    def of(self, check: str) -> list[dict] | None:
        """The cases of ``check``, asked for the first time they are needed; None when they
        cannot be had (the trusted side closed the stream, or sent what cannot be read)."""
        if check not in self.known and self.answers is not None and check not in self.asked:
            self.asked.add(check)
            self.messages.write(request_message(check))
            self.messages.flush()
        while check not in self.known and self.answers is not None:
            try:
                line = self.answers.readline(MAX_PROGRAM_BYTES)
            except (OSError, ValueError):  # student code closed or replaced the descriptor
                line = b""
            if not line:
                self.answers = None
                break
            try:
                sent, cases = read_cases(line)
            except ChannelError:
                continue
            self.known.setdefault(sent, cases)
        return self.known.get(check)


def run(program: dict[str, Any], messages: IO[str], answers: IO[bytes] | None = None) -> int:
    """Execute ``program``, writing its messages on ``messages``; ``answers`` holds the cases
    of a run whose program asks for them."""
    seconds = float(program.get("statement_seconds", 60))
    checks = program["checks"]
    namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": builtins}
    builtins.display = shown.show_nothing  # IPython's, for code that calls it
    shown.install()
    tasks = ",".join(dict.fromkeys(graded_check(key) for key in checks))
    os.environ[replay.TASK_VARIABLE] = tasks  # named by what says a name is not available
    session = replay.Replay(namespace, seconds)
    known = Cases(checks, messages, answers if program.get("on_request") else None)
    for step in program["steps"]:
        if "grade" in step:
            check, name = step["grade"], step["function"]
            for key in (check, cost_key(check)):
                if key not in checks:  # none of its cases is in this run
                    continue
                cases = known.of(key)
                if cases is None:  # none could be had: no records (the trusted side judges)
                    continue
                os.environ[replay.TASK_VARIABLE] = check
                records = _records(namespace, name, CALLERS[checks[key]["caller"]], cases)
                os.environ[replay.TASK_VARIABLE] = tasks
                messages.write(records_message(key, records))
                messages.flush()
        else:
            failed = session.perform(step)
            if failed:
                messages.write(failed_statement_message(str(step.get("label", "")), failed))
        messages.flush()
    return 0


def _records(namespace: dict, name: str, caller, cases: list[dict]) -> list[dict]:
    function = namespace.get(name)
    if callable(function):
        return run_cases(caller, function, cases)
    if function is None:
        kind = UNDEFINED
        message = (
            f"`{name}` is not defined when the graded cell runs (the cell that defines it "
            f"failed, or defines it under another name)"
        )
    else:
        kind, message = NOT_CALLABLE, f"`{name}` is not a function"
    return [error_record(case["name"], kind, "", message) for case in cases]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or not args[0].isdigit():
        print("usage: python -m grader.sandboxed.grading_run FD", file=sys.stderr)
        return 2
    answers = sys.stdin.buffer
    program = read_program(answers.readline(MAX_PROGRAM_BYTES))
    if not program.get("on_request"):
        os.close(0)
    limit_resources(program.get("limits", {}))
    with os.fdopen(int(args[0]), "w", encoding="utf-8") as messages:
        return run(program, messages, answers)


if __name__ == "__main__":
    sys.exit(main())
