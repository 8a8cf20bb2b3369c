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
"""

from __future__ import annotations

import builtins
import os
import sys
from typing import Any

from grader.sandboxed import replay
from grader.sandboxed.callers import CALLERS
from grader.sandboxed.calls import error_record, run_cases
from grader.sandboxed.channel import (
    NOT_CALLABLE,
    UNDEFINED,
    failed_statement_message,
    read_program,
    records_message,
)
from grader.sandboxed.limits import limit_resources

MAX_PROGRAM_BYTES = 512 * 1024**2


def run(program: dict[str, Any], messages) -> int:
    seconds = float(program.get("statement_seconds", 60))
    checks = program["checks"]
    namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": builtins}
    builtins.display = lambda *args, **kwargs: None  # IPython's, for code that calls it
    tasks = ",".join(checks)
    os.environ[replay.TASK_VARIABLE] = tasks  # named by what says a name is not available
    session = replay.Replay(namespace, seconds)
    for step in program["steps"]:
        if "grade" in step:
            check, name = step["grade"], step["function"]
            if check not in checks:  # none of its cases is in this run
                continue
            caller, cases = checks[check]["caller"], checks[check]["cases"]
            os.environ[replay.TASK_VARIABLE] = check
            records = _records(namespace, name, CALLERS[caller], cases)
            os.environ[replay.TASK_VARIABLE] = tasks
            messages.write(records_message(check, records))
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
    data = sys.stdin.buffer.read(MAX_PROGRAM_BYTES)
    os.close(0)
    program = read_program(data)
    limit_resources(program.get("limits", {}))
    with os.fdopen(int(args[0]), "w", encoding="utf-8") as messages:
        return run(program, messages)


if __name__ == "__main__":
    sys.exit(main())
