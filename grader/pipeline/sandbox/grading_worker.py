"""The trusted side's handle on the sandbox: a ``GradingWorker`` turns a ``SandboxTask``
into an ``Execution``, one submission after another.

For each submission it

1. runs the notebook through the real ``nbgrader autograde`` in its notebook server, a
   process that stays in one sandbox for the whole batch (``notebook_server``; the server is
   restarted when a submission takes it down), and reads back the executed notebook;
2. makes each grading run of the task in a sandbox of its own, started for that run and
   gone after it, whose build of ``autodiff`` lacks what the run's tasks forbid
   (``grader.kernel.grading_run``), and reads back the recorded answers.

Everything it reads back was written where student code ran: it is read with size limits
and as data.  The worker needs nothing but the task and this installation, so it runs as
well in the main process's threads as in a Dask worker on another machine.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict
from pathlib import Path

from grader import channel
from grader.pipeline.results import Execution, GradingRun, SandboxTask
from grader.pipeline.sandbox import bubblewrap, environment, notebook_server
from grader.pipeline.sandbox.builds import SANDBOX_LIB, Builds
from grader.pipeline.sandbox.limits import Limits

MAX_NOTEBOOK_BYTES = 60 * 1024**2
MAX_LOG_LINES = 3
PROJECT = Path(__file__).resolve().parents[3]  # the folder holding grader/ and autodiff/
RUN_ERROR = "the grading run of your functions"


class GradingWorker:
    """One sandboxed notebook server and the grading runs of the submissions it is given.

    ``root`` is a fresh scratch folder of its own (the only place its sandboxes can write);
    ``builds`` may be shared by the workers of one process; ``private`` are folders the
    sandboxes must never show, even where a mounted folder holds them (the course, the
    project)."""

    def __init__(
        self,
        root: Path,
        limits: Limits,
        *,
        sandboxed: bool = True,
        builds: Builds | None = None,
        label: str = "local",
        private: tuple[Path, ...] = (),
    ) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.limits, self.sandboxed, self.label = limits, sandboxed, label
        self.builds = builds or Builds(self.root / "builds")
        self.private = (*private, PROJECT)
        self.server_root = self.root / "server"
        self.process: subprocess.Popen | None = None
        self._preload: tuple[str, ...] = ()
        self._lock = threading.Lock()

    # -- the whole submission ---------------------------------------------------------------

    def grade(self, task: SandboxTask) -> Execution:
        """Run ``task``'s notebook and its grading runs; what they produced."""
        with self._lock:
            start = time.perf_counter()
            result = Execution(task.student, task.assignment, worker=self.label)
            self._run_notebook(task, result)
            runs_start = time.perf_counter()
            for run in task.grading_runs:
                self._grading_run(task, run, result)
            result.grading_run_seconds = time.perf_counter() - runs_start
            result.seconds = time.perf_counter() - start
            return result

    def stop(self) -> None:
        if self.process is not None:
            _kill(self.process)
            self.process.wait()
            self.process = None

    # -- the notebook server ----------------------------------------------------------------

    def _run_notebook(self, task: SandboxTask, result: Execution) -> None:
        folder = f"job-{os.getpid()}-{time.monotonic_ns()}"
        job = self.server_root / folder
        try:
            course = self._lay_out(job, task)
            status = self._send(task, folder)
            if status.get("timeout"):
                result.problems.append(status["error"] + " and was stopped")
            elif not status.get("success"):
                result.problems.append(_failure(status))
            result.kernel_starts = _counts(status.get("kernel_starts"))
            executed = course / "autograded" / task.student / task.assignment / task.notebook_name
            result.notebook = _read_notebook(executed, result.problems)
        finally:
            shutil.rmtree(job, ignore_errors=True)

    def _lay_out(self, job: Path, task: SandboxTask) -> Path:
        course = job / "course"
        source = course / "source" / task.assignment
        source.mkdir(parents=True)
        (source / task.notebook_name).write_text(task.master, encoding="utf-8")
        (course / "nbgrader_config.py").write_text(task.course_config, encoding="utf-8")
        (course / "gradebook.db").write_bytes(task.template_gradebook)
        submitted = course / "submitted" / task.student / task.assignment
        submitted.mkdir(parents=True)
        (submitted / task.notebook_name).write_text(task.submission, encoding="utf-8")
        (job / notebook_server.LIMITS).write_text(json.dumps(asdict(self.limits)))
        return course

    def _send(self, task: SandboxTask, folder: str) -> dict:
        """Hand the job to the notebook server; its status, or why none came."""
        self._start(tuple(task.course_imports))
        job = {"folder": folder, "assignment": task.assignment, "student": task.student}
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
        if not isinstance(status, dict):
            return {"success": False, "error": "unreadable worker status"}
        return status

    def start(self, preload: tuple[str, ...] = ()) -> None:
        """Start the notebook server now (its imports overlap with other work)."""
        with self._lock:
            self._start(preload)

    def _start(self, preload: tuple[str, ...]) -> None:
        if self.process is not None and self.process.poll() is None:
            if preload == self._preload or not preload:
                return
            self.stop()
        self._preload = preload or self._preload
        self.server_root.mkdir(parents=True, exist_ok=True)
        (self.server_root / "home").mkdir(exist_ok=True)
        (self.server_root / notebook_server.LIMITS).write_text(json.dumps(asdict(self.limits)))
        library = self.builds.library((), notebook_server=True)
        root = bubblewrap.SCRATCH if self.sandboxed else str(self.server_root)
        argv = [sys.executable, "-s", "-m", "grader.pipeline.sandbox.notebook_server", root]
        argv += ["--isolated"] if self.sandboxed else []
        argv += ["--preload", *self._preload] if self._preload else []
        env = self._environment(library, root)
        if self.sandboxed:
            roots = frozenset(environment.NOTEBOOK_SERVER_DISTRIBUTIONS) | (
                environment.distributions_of(self._preload)
            )
            mounts = environment.mounts(environment.closure(roots), library, private=self.private)
            argv = bubblewrap.command(argv, mounts, self.server_root, env)
            env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        log = open(self.server_root / notebook_server.LOG, "ab")  # noqa: SIM115 - the process's
        self.process = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            start_new_session=True,
            env=env,
            cwd="/",  # read-only: nothing a job writes is imported at a restart
        )
        log.close()

    def _environment(self, library: Path, root: str, **extra: str) -> dict[str, str]:
        """The environment of a sandboxed process (the same keys without the sandbox)."""
        lib = SANDBOX_LIB if self.sandboxed else str(library)
        bin_folder = str(Path(sys.executable).parent)
        return {
            "HOME": f"{root}/home",
            "TMPDIR": f"{root}/home" if not self.sandboxed else "/tmp",
            "PATH": f"{bin_folder}:/usr/bin:/bin",
            "PYTHONPATH": lib,
            "PYTHONNOUSERSITE": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
            "LANG": "C.UTF-8",
            "MPLCONFIGDIR": f"{root}/home/.config/matplotlib",
            **extra,
        }

    # -- grading runs ----------------------------------------------------------------------

    def _grading_run(self, task: SandboxTask, run: GradingRun, result: Execution) -> None:
        scratch = Path(tempfile.mkdtemp(prefix="run-", dir=self.root))
        try:
            (scratch / "home").mkdir()
            program = {"steps": run.steps, "statement_seconds": self.limits.cell_seconds}
            (scratch / channel.PROGRAM_FILE).write_text(json.dumps(program))
            (scratch / channel.CASES_FILE).write_text(json.dumps(run.cases))
            library = self.builds.library(tuple(run.forbidden))
            root = bubblewrap.SCRATCH if self.sandboxed else str(scratch)
            argv = [sys.executable, "-s", "-m", "grader.kernel.grading_run", root]
            env = self._environment(
                library,
                root,
                MPLBACKEND="agg",
                **{channel.CASE_SECONDS_VARIABLE: str(self.limits.case_seconds)},
            )
            if self.sandboxed:
                excluded = frozenset(n for n in run.forbidden if "." not in n)
                roots = environment.distributions_of(tuple(task.course_imports)) | frozenset(
                    environment.KERNEL_DISTRIBUTIONS
                )
                overlay = self.builds.linalg_overlay() if "numpy.linalg" in run.forbidden else None
                mounts = environment.mounts(
                    environment.closure(frozenset(roots), excluded),
                    library,
                    linalg_overlay=overlay,
                    private=self.private,
                )
                argv = bubblewrap.command(argv, mounts, scratch, env)
                env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
            finished = _run_limited(argv, env, self.limits, self.sandboxed)
            if not finished:
                result.problems.append(
                    f"{RUN_ERROR} did not finish within {self.limits.grading_run_seconds} s "
                    f"and was stopped"
                )
            records = channel.read_records(scratch / channel.RECORDS_FILE, result.problems)
            for check in run.checks:
                result.records.setdefault(check, []).extend(records.get(check, []))
            result.problems.extend(_log_problems(scratch / "grading_run.log"))
        finally:
            shutil.rmtree(scratch, ignore_errors=True)


def _run_limited(argv: list[str], env: dict, limits: Limits, sandboxed: bool) -> bool:
    """Run a grading run to its end or its time limit; False when it was stopped."""
    from grader.pipeline.sandbox.limits import limit_resources

    def cap() -> None:
        limit_resources(limits)

    process = subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        env=env,
        cwd="/",
        preexec_fn=None if sandboxed else cap,  # noqa: PLW1509 - a fresh child, no threads held
    )
    try:
        process.wait(timeout=limits.grading_run_seconds)
        return True
    except subprocess.TimeoutExpired:
        _kill(process)
        process.wait()
        return False


def _log_problems(path: Path) -> list[str]:
    """The first statements that failed in a grading run, for the student to read."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace")[:20_000].splitlines()
    except OSError:
        return []
    shown = [f"{RUN_ERROR}: {line[:300]}" for line in lines[:MAX_LOG_LINES]]
    if len(lines) > MAX_LOG_LINES:
        shown.append(f"{RUN_ERROR}: {len(lines) - MAX_LOG_LINES} more statements failed")
    return shown


def _counts(value: object) -> dict[str, int]:
    """The server's kernel counts, if they are what they should be (it ran student code)."""
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


def _kill(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        process.kill()


def _read_notebook(path: Path, problems: list[str]) -> str | None:
    if not path.exists():
        return None
    if path.stat().st_size > MAX_NOTEBOOK_BYTES:
        problems.append("the executed notebook is too large: its outputs were dropped")
        return None
    return path.read_text(encoding="utf-8", errors="replace")


def _last_line(text: str) -> str:
    lines = [line.strip() for line in str(text).strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else "no reason given"
