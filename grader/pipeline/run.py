"""Run one submission through nbgrader in the sandbox, and bring back what it produced.

The submission is first repaired (``grader.pipeline.repair``) in this, trusted, process.
A private course is laid out in a scratch folder and the worker runs ``nbgrader
autograde`` there under the sandbox.  What comes back (the executed notebook and the
hidden tests' records) was written where student code ran: it is read with size limits,
parsed as data, and judged elsewhere.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

from grader.pipeline import sandbox, worker
from grader.pipeline.course import Assignment
from grader.pipeline.repair import UnreadableSubmission, read_submission, repair
from grader.plain import decode

MAX_RECORD_BYTES = 20 * 1024**2
MAX_NOTEBOOK_BYTES = 60 * 1024**2


@dataclass
class Execution:
    """What one sandboxed autograde produced."""

    student: str
    assignment: str
    problems: list[str] = field(default_factory=list)
    records: dict[str, list[list[dict]]] = field(default_factory=dict)  # check -> record lists
    notebook: nbformat.NotebookNode | None = None  # the autograded notebook
    submitted: nbformat.NotebookNode | None = None  # the repaired submission
    readable: bool = True
    seconds: float = 0.0


def execute(
    student: str,
    assignment: Assignment,
    submission: Path,
    release: nbformat.NotebookNode,
    template_db: Path,
    scratch: Path,
    hidden: list[Path],
    limits: sandbox.Limits,
    use_bubblewrap: bool = True,
    running: dict | None = None,
) -> Execution:
    """Repair, lay out, run sandboxed and collect one submission."""
    start = time.perf_counter()
    result = Execution(student, assignment.name)
    try:
        repaired = repair(read_submission(submission), assignment.master, release)
    except UnreadableSubmission as error:
        result.readable = False
        result.problems.append(f"{submission.name} could not be read: {error}")
        return result
    except OSError as error:
        result.readable = False
        result.problems.append(f"{submission.name} could not be opened: {error}")
        return result
    result.problems.extend(repaired.problems)
    result.submitted = repaired.notebook

    course = _lay_out(scratch, student, assignment, repaired.notebook, template_db, limits)
    argv = [
        sandbox.python(),
        "-m",
        "grader.pipeline.worker",
        str(scratch),
        assignment.name,
        student,
    ]
    command = sandbox.command(argv, scratch, hidden, use_bubblewrap)
    process = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        env=_environment(),
    )
    if running is not None:
        running[id(process)] = process
    try:
        _, stderr = process.communicate(timeout=limits.job_seconds)
    except subprocess.TimeoutExpired:
        _kill(process)
        process.communicate()
        result.problems.append(
            f"the notebook did not finish within {limits.job_seconds} s and was stopped"
        )
        stderr = b""
    finally:
        if running is not None:
            running.pop(id(process), None)
    status = _read_json(scratch / worker.STATUS) or {}
    if not status.get("success"):
        reason = status.get("error") or status.get("log") or stderr.decode(errors="replace")
        result.problems.append("nbgrader could not complete the autograde: " + _last_line(reason))
    result.records = _read_records(scratch / worker.RECORDS, result.problems)
    autograded = course / "autograded" / student / assignment.name / assignment.notebook
    result.notebook = _read_notebook(autograded, result.problems)
    result.seconds = time.perf_counter() - start
    return result


def _lay_out(
    scratch: Path,
    student: str,
    assignment: Assignment,
    notebook,
    template_db: Path,
    limits: sandbox.Limits,
) -> Path:
    if scratch.exists():
        shutil.rmtree(scratch)
    course = scratch / "course"
    (course / "source").mkdir(parents=True)
    shutil.copytree(assignment.master_path.parent, course / "source" / assignment.name)
    shutil.copy(assignment.master_path.parents[2] / "nbgrader_config.py", course)
    shutil.copy(template_db, course / "gradebook.db")
    target = course / "submitted" / student / assignment.name / assignment.notebook
    target.parent.mkdir(parents=True)
    nbformat.write(notebook, str(target))
    (scratch / "home").mkdir()
    (scratch / worker.LIMITS).write_text(json.dumps(asdict(limits)))
    return course


def _environment() -> dict[str, str]:
    """The worker's environment: this one, less anything that could point it elsewhere."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "IPYTHON"))}
    env.pop("GRADER_RECORD", None)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _kill(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        process.kill()


def _read_json(path: Path) -> dict | None:
    try:
        if path.stat().st_size > 1024**2:
            return None
        value = json.loads(path.read_text())
        return value if isinstance(value, dict) else None
    except (OSError, ValueError):
        return None


def _read_records(path: Path, problems: list[str]) -> dict[str, list[list[dict]]]:
    """The hidden tests' records, by check: each ``grade`` call appends one line."""
    records: dict[str, list[list[dict]]] = {}
    if not path.exists():
        return records
    if path.stat().st_size > MAX_RECORD_BYTES:
        problems.append("the hidden tests' records are too large to read: ignored")
        return records
    for line in path.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
            check, entries = entry["check"], decode(entry["records"])
        except (ValueError, KeyError, TypeError):
            problems.append("a malformed record of the hidden tests was ignored")
            continue
        if isinstance(check, str) and isinstance(entries, list):
            records.setdefault(check, []).append(entries)
    return records


def _read_notebook(path: Path, problems: list[str]) -> nbformat.NotebookNode | None:
    if not path.exists():
        return None
    if path.stat().st_size > MAX_NOTEBOOK_BYTES:
        problems.append("the executed notebook is too large: its outputs were dropped")
        return None
    try:
        return nbformat.read(str(path), as_version=4)
    except Exception:  # noqa: BLE001 - written where student code ran: anything can be wrong
        problems.append("the executed notebook could not be read back")
        return None


def _last_line(text: str) -> str:
    lines = [line.strip() for line in str(text).strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else "no reason given"
