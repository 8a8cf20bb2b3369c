"""The trusted side's handle on the sandbox: a ``GradingWorker`` turns a ``SandboxTask``
into an ``Execution``, one submission after another.

For each submission it

1. runs the notebook through the real ``nbgrader autograde`` in its notebook server, a
   process that stays in one sandbox for the whole batch (``notebook_server``; the server is
   restarted, in fresh folders, when a submission takes it down), and gets the executed
   notebook back in the server's answer;
2. makes each grading run of the task in a sandbox of its own, started for that run and
   gone after it, whose build of ``autodiff`` lacks what the run's tasks forbid
   (``grader.sandboxed.grading_run``): the program goes in on its standard input, the
   recorded answers come back on a pipe.  The cases that measure the cost of a method are
   not in the program: the run asks for them at their check's graded call, and this side's
   clock (``CostClock``) times the call from when it sent them, since code in the sandbox
   can stop any clock there.

Nothing is passed through a file in a folder a sandbox can write, and nothing is read from
one: what comes back arrives on pipes this side holds, read with a byte cap and a deadline
(``streams``), and is data.  The sandboxes' folders are made new for each sandbox and
measured while it runs (a sandbox that fills its disk is stopped); their removal follows
no link.  The limits go to each sandboxed process as an argument, and it sets them on
itself before any student code runs.  The worker needs nothing but the task and this
installation, so it runs as well in the main process's threads as in a Dask worker on
another machine.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from grader.pipeline.results import Execution, GradingRun, SandboxTask
from grader.pipeline.sandbox import bubblewrap, environment
from grader.pipeline.sandbox.builds import SANDBOX_LIB, Builds
from grader.pipeline.sandbox.cgroups import ResourceCap
from grader.pipeline.sandbox.folders import folder_bytes, folder_entries, remove_folder
from grader.pipeline.sandbox.limits import Limits
from grader.pipeline.sandbox.processor_time import tree_clock
from grader.pipeline.sandbox.readback import STOPPED_AT_WINDOW, CostClock, read_back
from grader.pipeline.sandbox.streams import Read, Tail, converse, read_all, read_line
from grader.sandboxed import channel
from grader.sandboxed.execute import UNANSWERED
from grader.sandboxed.notebook_server import MAX_NOTEBOOK_BYTES

MAX_REPLY_BYTES = 3 * MAX_NOTEBOOK_BYTES + 1024**2  # the notebook, escaped in JSON
MAX_MESSAGES_BYTES = 32 * 1024**2
WATCH_SECONDS = 1.0
MIN_RERUN_SECONDS = 5.0  # less time than this left: the cases not reached ran out of time
PROJECT = Path(__file__).resolve().parents[3]  # the folder holding grader/ and autodiff/


class GradingWorker:
    """One sandboxed notebook server and the grading runs of the submissions it is given.

    ``root`` is a fresh folder of its own: each sandbox gets new folders under it, the only
    places sandboxes can write; ``builds`` may be shared by the workers of one process;
    ``private`` are folders the sandboxes must never show, even where a mounted folder holds
    them (the course, the project)."""

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
        # Outside a user namespace the process limit would count every process of this
        # account, not the sandbox's: only the sandbox gets it.
        self.inside = limits if sandboxed else dataclasses.replace(limits, processes=0)
        self.builds = builds or Builds(self.root / "builds")
        self.private = (*private, PROJECT)
        self.process: subprocess.Popen | None = None
        self.server_folder: Path | None = None
        self.server_log: Tail | None = None
        self.server_cap: ResourceCap | None = None
        self._preload: tuple[str, ...] = ()
        self._lock = threading.Lock()

    # -- the whole submission ---------------------------------------------------------------

    def grade(self, task: SandboxTask) -> Execution:
        """Run ``task``'s notebook and its grading runs; what they produced.  If the worker
        itself fails on this submission, its notebook server is stopped (the next
        submission starts a new one, in new folders) and the error goes to the caller."""
        with self._lock:
            try:
                return self._grade(task)
            except BaseException:
                self.stop()
                raise

    def _grade(self, task: SandboxTask) -> Execution:
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
        """Stop the notebook server and remove its folders; never raises (what cannot be
        removed is left for the system's temporary-file cleaning)."""
        process, self.process = self.process, None
        cap, self.server_cap = self.server_cap, None
        folder, self.server_folder = self.server_folder, None
        if process is not None:
            _kill(process)
            process.wait()
        if cap is not None:
            cap.remove()
        if folder is not None:
            remove_folder(folder)

    # -- the notebook server ----------------------------------------------------------------

    def _run_notebook(self, task: SandboxTask, result: Execution) -> None:
        status = self._send(task)
        if status.get("timeout") or status.get("stopped"):
            result.problems.append(status["error"] + " and was stopped")
        elif not status.get("success"):
            result.problems.append(_failure(status))
        result.kernel_starts = _counts(status.get("kernel_starts"))
        notebook, problem = status.get("notebook"), status.get("notebook_problem")
        result.notebook = notebook if isinstance(notebook, str) else None
        if isinstance(problem, str) and problem:
            result.problems.append(problem[:300])

    def _send(self, task: SandboxTask) -> dict:
        """Hand the job to the notebook server; its status, or why none came."""
        self._start(tuple(task.course_imports))
        job = {
            "folder": f"job-{time.monotonic_ns()}",
            "assignment": task.assignment,
            "student": task.student,
            "notebook_name": task.notebook_name,
            "master": task.master,
            "submission": task.submission,
            "config": task.course_config,
            "gradebook": base64.b64encode(task.template_gradebook).decode("ascii"),
            "limits": self.inside.as_dict(),
        }
        try:
            self.process.stdin.write((json.dumps(job) + "\n").encode())
            self.process.stdin.flush()
        except (BrokenPipeError, OSError):
            self.stop()
            return {"success": False, "error": "the grading worker could not be started"}
        deadline = time.monotonic() + self.limits.job_seconds
        watch = self._watch(self.server_folder)
        stdout = self.process.stdout.fileno()
        line = read_line(stdout, MAX_REPLY_BYTES, deadline, self._pending, watch)
        if line is None:
            over = watch()
            self.stop()
            if over:
                return {"success": False, "stopped": True, "error": over}
            if time.monotonic() >= deadline:
                return {
                    "success": False,
                    "timeout": True,
                    "error": f"the notebook did not finish within {self.limits.job_seconds} s",
                }
            return {"success": False, "error": "the grading worker stopped unexpectedly"}
        over = watch()
        if over:  # the job finished, but left more on disk than it may
            self.stop()
            return {"success": False, "stopped": True, "error": over}
        try:
            status = json.loads(line)
        except ValueError:
            status = None
        if not isinstance(status, dict):
            self.stop()
            return {"success": False, "error": "unreadable worker status"}
        if status.get("restart"):  # it could not clean up after the job: a new one next time
            self.stop()
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
        self.server_folder = self._fresh_folder("server-")
        writable = bubblewrap.writable_folders(self.server_folder)
        (writable[bubblewrap.SCRATCH] / "home").mkdir()
        library = self.builds.library(())
        root = bubblewrap.SCRATCH if self.sandboxed else str(writable[bubblewrap.SCRATCH])
        argv = [sys.executable, "-s", "-m", "grader.sandboxed.notebook_server", root]
        argv += ["--limits", json.dumps(self.inside.as_dict())]
        argv += ["--isolated"] if self.sandboxed else []
        argv += ["--preload", *self._preload] if self._preload else []
        env = self._environment(library, root, writable)
        if self.sandboxed:
            roots = frozenset(environment.NOTEBOOK_SERVER_DISTRIBUTIONS) | (
                environment.distributions_of(self._preload)
            )
            mounts = environment.mounts(environment.closure(roots), library, private=self.private)
            argv = bubblewrap.command(argv, mounts, writable, env)
            env = dict(bubblewrap.LAUNCH_ENVIRONMENT)
        self.server_cap = ResourceCap.create(
            self.limits.processes, self.limits.sandbox_memory_bytes
        )
        if self.server_cap is not None:
            argv = self.server_cap.wrap(argv)
        log_read, log_write = os.pipe()
        try:
            self.process = subprocess.Popen(
                argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log_write,
                start_new_session=True,
                env=env,
                cwd="/",  # read-only: nothing a job writes is imported at a restart
            )
        finally:
            os.close(log_write)
        self.server_log = Tail(log_read)
        self.server_log.start()
        self._pending = bytearray()

    def _environment(
        self, library: Path, root: str, writable: dict[str, Path], **extra: str
    ) -> dict[str, str]:
        """The environment of a sandboxed process (the same keys without the sandbox)."""
        lib = SANDBOX_LIB if self.sandboxed else str(library)
        tmp = "/tmp" if self.sandboxed else str(writable["/tmp"])
        bin_folder = str(Path(sys.executable).parent)
        return {
            "HOME": f"{root}/home",
            "TMPDIR": tmp,
            "PATH": f"{bin_folder}:/usr/bin:/bin",
            "PYTHONPATH": lib,
            "PYTHONNOUSERSITE": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
            "LANG": "C.UTF-8",
            "MPLCONFIGDIR": f"{root}/home/.config/matplotlib",
            # one thread of linear algebra per sandbox: the workers already use every core,
            # and BLAS threads fighting over them slow an honest answer tenfold
            "OPENBLAS_NUM_THREADS": "1",
            "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
            **extra,
        }

    def _fresh_folder(self, prefix: str) -> Path:
        """A new folder for one sandbox, writable by it and by no other."""
        return Path(tempfile.mkdtemp(prefix=prefix, dir=self.root))

    def _watch(self, folder: Path | None) -> Callable[[], str | None]:
        """A check, at most once a second, that the sandbox's folders stay within the
        limits (bytes, and files: empty files fill a disk too): the reason to stop it, or
        None.  Once over, it says so at every call."""
        last, reason = [0.0], [None]
        limit, files = self.limits.scratch_bytes, self.limits.scratch_files

        def over() -> str | None:
            if reason[0] or folder is None or time.monotonic() - last[0] < WATCH_SECONDS:
                return reason[0]
            last[0] = time.monotonic()
            used = folder_bytes(folder)
            if used is None or used > limit:
                reason[0] = f"the submission wrote more than {limit // 1024**2} MB to disk"
            else:
                entries = folder_entries(folder)
                if entries is None or entries > files:
                    reason[0] = f"the submission made more than {files:,} files on disk"
            return reason[0]

        return over

    # -- grading runs ----------------------------------------------------------------------

    def _grading_run(
        self, task: SandboxTask, run: GradingRun, result: Execution, seconds: float = 0.0
    ) -> None:
        """Make ``run`` in a sandbox of its own, within ``seconds`` (0: the limits' grading
        run time and the windows of its cost cases); when a cost case's window stopped it,
        the cases it had not reached get a run of their own, within what is left of the
        time (a run stopped at each cost case gains no time by it)."""
        seconds = seconds or self.limits.grading_run_seconds + sum(run.cost_windows.values())
        start = time.monotonic()
        redo = self._sandboxed_run(task, run, result, seconds)
        left = seconds - (time.monotonic() - start)
        if redo and left >= MIN_RERUN_SECONDS:
            self._grading_run(task, run.only(redo), result, left)
        elif redo:
            read_back(run.only(redo), Read(b"", "timeout"), 0, seconds, result)

    def _sandboxed_run(
        self, task: SandboxTask, run: GradingRun, result: Execution, seconds: float
    ) -> list[str]:
        folder = self._fresh_folder("run-")
        cap = None
        try:
            writable = bubblewrap.writable_folders(folder)
            (writable[bubblewrap.SCRATCH] / "home").mkdir()
            library = self.builds.library(tuple(run.forbidden))
            root = bubblewrap.SCRATCH if self.sandboxed else str(writable[bubblewrap.SCRATCH])
            messages_read, messages_write = os.pipe()
            argv = [sys.executable, "-s", "-m", "grader.sandboxed.grading_run", str(messages_write)]
            env = self._environment(
                library,
                root,
                writable,
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
                argv = bubblewrap.command(argv, mounts, writable, env)
                env = dict(bubblewrap.LAUNCH_ENVIRONMENT)
            program = channel.program_message(
                run.steps,
                run.cases,
                self.limits.cell_seconds,
                self.inside.as_dict(),
                on_request=frozenset(run.cost_windows),
            )
            clock = CostClock(run) if run.measures_cost else None
            cap = ResourceCap.create(self.limits.processes, self.limits.sandbox_memory_bytes)
            read, exit_status = self._run_sandbox(
                argv, env, program, messages_read, messages_write, cap, folder, seconds, clock
            )
            return read_back(run, read, exit_status, seconds, result, clock)
        finally:
            if cap is not None:
                cap.remove()
            remove_folder(folder)

    def _run_sandbox(
        self,
        argv: list[str],
        env: dict,
        program: bytes,
        messages_read: int,
        messages_write: int,
        cap: ResourceCap | None,
        folder: Path,
        seconds: float,
        clock: CostClock | None = None,
    ) -> tuple[Read, int]:
        """Start a grading run, give it its program, read its messages to their end, its
        deadline, its cap or its disk limit; what it sent and its exit status.  With a
        ``clock``, its standard input stays open for the cases it asks for, its messages go
        to the clock as they arrive, and the clock can bring the deadline forward.  It is
        gone when this returns."""
        try:
            process = subprocess.Popen(
                cap.wrap(argv) if cap else argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
                env=env,
                cwd="/",
                pass_fds=(messages_write,),
            )
        finally:
            os.close(messages_write)
        try:
            try:
                process.stdin.write(program)
                process.stdin.flush()
            except OSError:
                pass  # it died before reading its program: it sends nothing back
            if clock is None:
                _close(process.stdin)
            deadline = time.monotonic() + seconds
            watch = self._watch(folder)
            if clock is not None:
                if cap is not None and cap.processor_seconds() is not None:
                    clock.processor = lambda: cap.processor_seconds() or 0.0
                else:
                    clock.processor = tree_clock(process.pid)
            if clock is None:
                read = read_all(messages_read, MAX_MESSAGES_BYTES, deadline, watch)
            else:
                read = converse(
                    messages_read,
                    process.stdin.fileno(),
                    MAX_MESSAGES_BYTES,
                    clock.hear,
                    lambda: clock.deadline(deadline),
                    watch,
                )
                _close(process.stdin)
                if read.stopped == "timeout" and clock.deadline(deadline) < deadline:
                    read = Read(read.data, STOPPED_AT_WINDOW)  # stopped at a cost case's window
            if not read.complete:
                _kill(process)
            try:
                process.wait(timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _kill(process)
                read = Read(read.data, "timeout")
            return read, process.wait()
        finally:
            _close(process.stdin)
            os.close(messages_read)


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
    if UNANSWERED in text:
        return (
            f"{UNANSWERED} (it ignored the interrupt, for example by signal.signal), so it "
            "was shut down; the cells after that point were not run"
        )
    if "DeadKernelError" in text or "Kernel died" in text or "kernel died" in text:
        return (
            "the kernel died while running the notebook (the process exited or crashed, "
            "for example by os._exit or by exceeding the memory limit); the cells after "
            "that point were not run"
        )
    return "nbgrader could not complete the autograde: " + _last_line(
        status.get("error") or status.get("log") or ""
    )


def _close(stream) -> None:
    """Close a pipe to a sandbox (whatever was left unwritten in it is dropped)."""
    try:
        stream.close()
    except OSError:
        pass


def _kill(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        process.kill()


def _last_line(text: str) -> str:
    lines = [line.strip() for line in str(text).strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else "no reason given"
