"""A grading run of one submission: ``python -m grader.kernel.grading_run FOLDER``.

The trusted side picks, from the submission's code cells, the statements that the graded
functions need (their definitions and whatever those use, in notebook order), and writes
them with the graded calls into ``FOLDER/program.json``; the case inputs are in
``FOLDER/cases.json``.  This process, alone in a sandbox whose build of ``autodiff`` lacks
what the tasks forbid, executes the statements one by one in one namespace (a failing one
is logged and the run goes on, as in a notebook), and at each graded call runs the function
on the cases and appends the answers to ``FOLDER/records.jsonl``.
"""

from __future__ import annotations

import builtins
import json
import os
import signal
import sys
import traceback
from pathlib import Path
from typing import Any

from grader.channel import (
    CASES_FILE,
    CASES_VARIABLE,
    PROGRAM_FILE,
    RECORDS_FILE,
    RECORDS_VARIABLE,
    read_cases,
    record_line,
)
from grader.kernel import record

LOG_FILE = "grading_run.log"


class StatementTimeout(BaseException):
    """A statement that ran past its time limit."""


def run(folder: Path) -> int:
    program = json.loads((folder / PROGRAM_FILE).read_text(encoding="utf-8"))
    os.environ[CASES_VARIABLE] = str(folder / CASES_FILE)
    os.environ[RECORDS_VARIABLE] = str(folder / RECORDS_FILE)
    seconds = float(program.get("statement_seconds", 60))
    namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": builtins}
    builtins.display = lambda *args, **kwargs: None  # IPython's, for code that calls it
    log = open(folder / LOG_FILE, "a", encoding="utf-8")  # noqa: SIM115 - for the whole run
    for step in program["steps"]:
        if "code" in step:
            _execute(step["code"], step.get("label", "a cell"), namespace, seconds, log)
        else:
            _grade(step["grade"], step["function"], namespace, folder)
    log.close()
    return 0


def _execute(source: str, label: str, namespace: dict, seconds: float, log) -> None:
    def expire(signum, frame):
        raise StatementTimeout

    signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        exec(compile(source, f"<{label}>", "exec"), namespace)  # noqa: S102 - the point
    except StatementTimeout:
        log.write(f"{label}: stopped after {seconds:g} s\n")
    except BaseException as error:  # noqa: BLE001 - a notebook goes on after a failing cell
        lines = traceback.format_exception_only(type(error), error)
        log.write(f"{label}: {''.join(lines).strip()[:500]}\n")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    log.flush()


def _grade(check: str, name: str, namespace: dict, folder: Path) -> None:
    function = namespace.get(name)
    if callable(function):
        record.grade(check, function)
        return
    reason = (
        f"NameError: `{name}` is not defined when the graded cell runs (the cell that "
        f"defines it failed, or defines it under another name)"
        if function is None
        else f"TypeError: `{name}` is not a function"
    )
    _, cases = read_cases(folder / CASES_FILE).get(check, ("", []))
    records = [{"case": c["name"], "error": reason, "warnings": [], "seconds": 0.0} for c in cases]
    with open(folder / RECORDS_FILE, "a", encoding="utf-8") as stream:
        stream.write(record_line(check, records))


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m grader.kernel.grading_run FOLDER", file=sys.stderr)
        return 2
    return run(Path(args[0]))


if __name__ == "__main__":
    sys.exit(main())
