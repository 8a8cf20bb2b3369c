"""One submission's autograde, run inside the sandbox.

    python -m grader.pipeline.worker SCRATCH ASSIGNMENT STUDENT

``SCRATCH/course`` is a private nbgrader course holding only this assignment's master, this
student's (already repaired) submission and a gradebook with no other student in it.  The
worker caps its resources, points the hidden tests' records at ``SCRATCH/records.jsonl``
and runs the real ``nbgrader autograde``.  It writes ``SCRATCH/status.json``; everything it
produces is treated by the caller as untrusted data.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path

from grader.api import RECORD_VARIABLE
from grader.pipeline.sandbox import Limits, limit_resources

RECORDS = "records.jsonl"
STATUS = "status.json"
LIMITS = "limits.json"


def run(scratch: Path, assignment: str, student: str) -> dict:
    limits = Limits(**json.loads((scratch / LIMITS).read_text()))
    limit_resources(limits)
    os.environ[RECORD_VARIABLE] = str(scratch / RECORDS)
    os.environ.setdefault("HOME", str(scratch / "home"))
    (scratch / "home").mkdir(exist_ok=True)
    os.environ["JUPYTER_RUNTIME_DIR"] = str(scratch / "home" / "runtime")

    from nbgrader.apps import NbGraderAPI  # imported after the limits are in place

    from grader.release import course_config

    course = scratch / "course"
    config = course_config(course)
    config.ExecutePreprocessor.timeout = limits.cell_seconds
    config.Execute.timeout = limits.cell_seconds
    config.Execute.interrupt_on_timeout = True
    config.Execute.raise_on_iopub_timeout = False
    api = NbGraderAPI(config=config)
    result = api.autograde(assignment, student, force=True, create=True)
    return {
        "success": bool(result.get("success")),
        "log": str(result.get("log", ""))[-4000:],
        "error": str(result.get("error", ""))[-4000:],
    }


def main(argv: list[str]) -> int:
    scratch, assignment, student = Path(argv[0]), argv[1], argv[2]
    try:
        status = run(scratch, assignment, student)
    except BaseException as error:  # noqa: BLE001 - every failure is reported to the caller
        status = {
            "success": False,
            "log": "",
            "error": "".join(traceback.format_exception(type(error), error, error.__traceback__))[
                -4000:
            ],
        }
    (scratch / STATUS).write_text(json.dumps(status))
    return 0 if status["success"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
