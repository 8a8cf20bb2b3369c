"""Run one submission through nbgrader in the sandbox, and bring back what it produced.

The submission is first repaired (``grader.pipeline.repair``) in this, trusted, process.
A private course is laid out in a sandboxed worker's scratch folder and the worker runs
``nbgrader autograde`` there.  What comes back (the executed notebook and the
hidden tests' records) was written where student code ran: it is read with size limits,
parsed as data, and judged elsewhere.
"""

from __future__ import annotations

import json
import os
import select
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
    kernel_starts: dict[str, int] = field(default_factory=dict)  # forked / launched


class Worker:
    """One sandboxed worker process that grades submissions one after another.

    ``root`` is its scratch folder, the only one it can write; jobs are laid out below it.
    A job that runs past the time limit takes the worker down with it, and a fresh one is
    started for the next job.  ``preload``: the modules its kernels start with (the ones the
    course imports), imported once by the worker's zygote.
    """

    def __init__(
        self,
        root: Path,
        hidden: list[Path],
        limits: sandbox.Limits,
        use_bubblewrap: bool = True,
        preload: tuple[str, ...] = (),
    ) -> None:
        self.root, self.hidden, self.limits = root, hidden, limits
        self.use_bubblewrap = use_bubblewrap
        self.preload = preload
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        """Start the worker process unless it is running (``run`` does it when needed)."""
        if self.process is None or self.process.poll() is not None:
            self.process = self._start()

    def _start(self) -> subprocess.Popen:
        (self.root / "home").mkdir(parents=True, exist_ok=True)
        (self.root / worker.LIMITS).write_text(json.dumps(asdict(self.limits)))
        isolated = self.use_bubblewrap and sandbox.bubblewrap() is not None
        # -s and a read-only working folder: nothing student code wrote in the scratch folder
        # (a user site-packages, a package named like ours) is imported if the worker restarts
        argv = [sandbox.python(), "-s", "-m", "grader.pipeline.worker", str(self.root)]
        argv += ["--isolated"] if isolated else []
        argv += ["--preload", *self.preload] if self.preload else []
        command = sandbox.command(argv, self.root, self.hidden, self.use_bubblewrap)
        log = open(self.root / worker.LOG, "ab")  # noqa: SIM115 - kept open by the process
        return subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            start_new_session=True,
            env=_environment(),
            cwd="/",
        )

    def run(self, folder: str, assignment: str, student: str) -> dict:
        """Grade the job laid out in ``root/folder``; the worker's status, or why none came."""
        self.start()
        job = {"folder": folder, "assignment": assignment, "student": student}
        try:
            self.process.stdin.write((json.dumps(job) + "\n").encode())
            self.process.stdin.flush()
        except (BrokenPipeError, OSError):
            self.stop()
            return {"success": False, "error": "the grading worker could not be started"}
        ready, _, _ = select.select([self.process.stdout], [], [], self.limits.job_seconds)
        line = self.process.stdout.readline() if ready else b""
        if not line:
            self.stop()
            if not ready:
                return {
                    "success": False,
                    "timeout": True,
                    "error": f"the notebook did not finish within {self.limits.job_seconds} s",
                }
            return {"success": False, "error": "the grading worker stopped unexpectedly"}
        try:
            status = json.loads(line[: 1024**2])
        except ValueError:
            status = None
        return (
            status
            if isinstance(status, dict)
            else {"success": False, "error": "unreadable worker status"}
        )

    def stop(self) -> None:
        if self.process is not None:
            _kill(self.process)
            self.process.wait()
            self.process = None


def execute(
    student: str,
    assignment: Assignment,
    submission: Path,
    release: nbformat.NotebookNode,
    template_db: Path,
    runner: Worker,
) -> Execution:
    """Repair, lay out, grade in the sandboxed worker, and collect one submission."""
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

    folder = f"{student}__{assignment.name}"
    job = runner.root / folder
    try:
        course = _lay_out(job, student, assignment, repaired.notebook, template_db, runner.limits)
        status = runner.run(folder, assignment.name, student)
        if status.get("timeout"):
            result.problems.append(status["error"] + " and was stopped")
        elif not status.get("success"):
            result.problems.append(_failure(status))
        result.kernel_starts = _counts(status.get("kernel_starts"))
        result.records = _read_records(job / worker.RECORDS, result.problems)
        autograded = course / "autograded" / student / assignment.name / assignment.notebook
        result.notebook = _read_notebook(autograded, result.problems)
    finally:
        shutil.rmtree(job, ignore_errors=True)
    result.seconds = time.perf_counter() - start
    return result


def _counts(value: object) -> dict[str, int]:
    """The worker's kernel counts, if they are what they should be (it ran student code)."""
    if not isinstance(value, dict):
        return {}
    return {
        how: count
        for how, count in value.items()
        if how in ("forked", "launched") and type(count) is int and 0 <= count < 1000
    }


def _failure(status: dict) -> str:
    """Why nbgrader could not finish, in words a student can read."""
    text = f"{status.get('error', '')}\n{status.get('log', '')}"
    if "DeadKernelError" in text or "Kernel died" in text or "kernel died" in text:
        return (
            "the kernel died while running the notebook (the process exited or crashed, "
            "for example by os._exit or by exceeding the memory limit); the cells after "
            "that point were not run"
        )
    return "nbgrader could not complete the autograde: " + _last_line(
        status.get("error") or status.get("log") or ""
    )


def _lay_out(
    job: Path,
    student: str,
    assignment: Assignment,
    notebook,
    template_db: Path,
    limits: sandbox.Limits,
) -> Path:
    if job.exists():
        shutil.rmtree(job)
    course = job / "course"
    (course / "source").mkdir(parents=True)
    assignment.copy_for_grading(course / "source" / assignment.name)
    shutil.copy(assignment.master_path.parents[2] / "nbgrader_config.py", course)
    shutil.copy(template_db, course / "gradebook.db")
    target = course / "submitted" / student / assignment.name / assignment.notebook
    target.parent.mkdir(parents=True)
    nbformat.write(notebook, str(target))
    (job / worker.LIMITS).write_text(json.dumps(asdict(limits)))
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
