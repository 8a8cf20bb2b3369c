"""The notebook server: ``python -m grader.sandboxed.notebook_server ROOT
--limits JSON [--isolated] [--preload MODULE ...]``, inside the sandbox.

It runs for a whole batch, so that the interpreter and nbgrader are loaded once, and runs
one submission's notebook per line of standard input: a JSON job that carries everything
the run needs (the assignment's master without its solutions, the student's repaired
submission, the course's configuration, a gradebook with no student).  The server lays
them out as a private nbgrader course in a folder of its own under ``ROOT``, runs the real
``nbgrader autograde`` there with the job's own home, temporary and Jupyter folders, and
answers one JSON line that carries the executed notebook back: the trusted side never
writes into a folder of the sandbox, nor reads one.  This run grades nothing: the
notebook is executed for the record (what the Formgrader and the written answers need), and
its hidden tests only say that their task is graded elsewhere.  The kernels are forked from
a fork server that has imported ipykernel and the ``--preload`` modules once
(``fork_server``).  With ``--isolated`` (alone in its own process namespace, as in the
sandbox) it then kills whatever the student's code left running but the fork server, and
empties ``/tmp`` and ``/dev/shm``, so nothing of one student reaches the next.  Everything
it writes is untrusted data to the caller.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import signal
import stat
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path

from grader.sandboxed.fork_server import undumpable
from grader.sandboxed.forked_kernels import LAUNCHES, ForkServerClient, use_fork_server
from grader.sandboxed.limits import limit_resources

# An optional plug-in of jsonschema (which nbformat imports) that builds grammars for seconds
# at import time and serves a string format nbformat's schema never uses: skip it.
sys.modules.setdefault("rfc3987_syntax", None)

PRIVATE_FOLDERS = ("/tmp", "/dev/shm")
MAX_NOTEBOOK_BYTES = 60 * 1024**2


def private_course_config(course: Path):
    """The ``nbgrader_config.py`` of a job's private course ``course``, rooted there, with
    nbgrader's own autograde preprocessors (its ``Execute`` one that also stops a kernel
    that ignores the interrupt: ``grader.sandboxed.execute``) and its own collect."""
    from nbgrader.converters import Autograde
    from nbgrader.exchange.default import ExchangeCollect
    from nbgrader.preprocessors import Execute
    from traitlets.config.loader import PyFileConfigLoader

    from grader.sandboxed.execute import Execute as Stopping

    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    config.CourseDirectory.root = str(course)
    # The course routes nbgrader's autograde through the pipeline; here, inside it, nbgrader
    # runs its own preprocessors.
    traits = Autograde.class_traits()
    for name in ("sanitize_preprocessors", "autograde_preprocessors"):
        preprocessors = traits[name].default()
        config.Autograde[name] = [Stopping if p is Execute else p for p in preprocessors]
    config.ExchangeFactory.collect = ExchangeCollect  # the course's is on the trusted side
    config.CourseDirectory.db_url = "sqlite:///" + str(course / "gradebook.db")
    return config


def lay_out(folder: Path, job: dict) -> Path:
    """The private course of ``job`` in the new ``folder``: its course folder."""
    course = folder / "course"
    source = course / "source" / job["assignment"]
    source.mkdir(parents=True)
    (source / job["notebook_name"]).write_text(job["master"], encoding="utf-8")
    (course / "nbgrader_config.py").write_text(job["config"], encoding="utf-8")
    (course / "gradebook.db").write_bytes(base64.b64decode(job["gradebook"]))
    submitted = course / "submitted" / job["student"] / job["assignment"]
    submitted.mkdir(parents=True)
    (submitted / job["notebook_name"]).write_text(job["submission"], encoding="utf-8")
    return course


def executed_notebook(course: Path, job: dict) -> tuple[str | None, str]:
    """The notebook nbgrader wrote (a regular file, read with a cap: student code ran
    beside it), or None and why not."""
    path = course / "autograded" / job["student"] / job["assignment"] / job["notebook_name"]
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None, ""
    with os.fdopen(fd, "rb") as stream:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None, "the executed notebook is not a file"
        data = stream.read(MAX_NOTEBOOK_BYTES + 1)
    if len(data) > MAX_NOTEBOOK_BYTES:
        return None, "the executed notebook is too large: its outputs were dropped"
    return data.decode("utf-8", errors="replace"), ""


def run_job(root: Path, job: dict) -> dict:
    """Lay out ``job`` under ``root``, autograde it; the status and the executed notebook."""
    folder = root / job["folder"]
    folder.mkdir()
    course = lay_out(folder, job)
    status = run_notebook(folder, job["assignment"], job["student"], job["limits"])
    status["notebook"], status["notebook_problem"] = executed_notebook(course, job)
    return status


def run_notebook(job: Path, assignment: str, student: str, limits: dict[str, int]) -> dict:
    """Autograde the submission laid out in ``job``; report success and nbgrader's log."""
    home = job / "home"
    for folder in (home, job / "tmp"):
        folder.mkdir(exist_ok=True)
    os.environ.update(
        {
            "HOME": str(home),
            "TMPDIR": str(job / "tmp"),
            "IPYTHONDIR": str(home / ".ipython"),
            "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
            "JUPYTER_DATA_DIR": str(home / "data"),
            "JUPYTER_CONFIG_DIR": str(home / "config"),
        }
    )
    tempfile.tempdir = None  # tempfile caches TMPDIR: forget the previous job's
    from nbgrader.apps import NbGraderAPI

    config = private_course_config(job / "course")
    config.ExecutePreprocessor.timeout = limits["cell_seconds"]
    config.Execute.timeout = limits["cell_seconds"]
    config.Execute.interrupt_on_timeout = True
    config.Execute.raise_on_iopub_timeout = False
    config.Execute.kernel_manager_class = "grader.sandboxed.forked_kernels.ForkingKernelManager"
    LAUNCHES.clear()
    _tolerate_claims()
    result = NbGraderAPI(config=config).autograde(assignment, student, force=True, create=True)
    return {
        "kernel_starts": dict(LAUNCHES),
        "success": bool(result.get("success")),
        "log": str(result.get("log", ""))[-4000:],
        "error": str(result.get("error", ""))[-4000:],
    }


def _tolerate_claims() -> None:
    """nbgrader reads a graded cell's value as its partial credit and stops the whole
    autograde when that value is out of range.  The value is the student's (a cell can
    return anything), and the pipeline never uses it: read what cannot be a score as 0."""
    from nbgrader import utils

    if getattr(utils.get_partial_grade, "tolerant", False):
        return
    original = utils.get_partial_grade

    def get_partial_grade(output, max_points, log=None):
        try:
            return original(output, max_points, log)
        except (ValueError, TypeError):
            return 0.0

    get_partial_grade.tolerant = True
    utils.get_partial_grade = get_partial_grade


def clean_up(root: Path, isolated: bool, fork_server: ForkServerClient) -> None:
    """When isolated, kill every other process of the sandbox but the fork server; then
    remove everything the job left in ``root`` and, when isolated, empty the private
    ``/tmp`` and ``/dev/shm``."""
    if isolated and not _kill_all_but(fork_server.pid):
        fork_server.stop()
        _kill_all_but(None)
    if isolated:
        _remove_ipc_objects()
    folders = [root, *(Path(f) for f in PRIVATE_FOLDERS if isolated and Path(f).is_dir())]
    _remove([os.path.join(folder, name) for folder in folders for name in os.listdir(folder)])
    (root / "home").mkdir(exist_ok=True)


def _remove_ipc_objects() -> None:
    """Remove the System V shared memory, semaphores and message queues of the sandbox's
    IPC namespace, which the server keeps from one job to the next: a detached segment
    holds memory that no process owns and the next student could attach."""
    try:
        subprocess.run(["ipcrm", "--all"], capture_output=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        pass


def _remove(paths: list[str]) -> None:
    """Remove ``paths`` at any depth, following no link: the system's ``chmod`` and ``rm``
    (Python's recursive removal stops on a tree a few thousand folders deep)."""
    if not paths:
        return
    for command in (["chmod", "-R", "u+rwx", "--"], ["rm", "-rf", "--"]):
        subprocess.run([*command, *paths], capture_output=True, timeout=600, check=False)


def _kill_all_but(spared: int | None, rounds: int = 20) -> bool:
    """SIGKILL every process of the namespace but this one, its init and ``spared``, again
    until none is left (a process may fork while the others die); False if some remain."""
    if spared is None:
        try:
            os.kill(-1, signal.SIGKILL)  # all but this process and the namespace's init
        except ProcessLookupError:
            pass
        return True
    keep = {1, os.getpid(), spared}
    for _ in range(rounds):
        others = [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()]
        others = [pid for pid in others if pid not in keep]
        if not others:
            return True
        for pid in others:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
    return False


def serve(root: Path, isolated: bool, preload: list[str], limits: dict[str, int]) -> int:
    # Nothing but the replies may reach standard output: keep it for them, send the rest
    # (nbgrader's and the kernels' chatter) to standard error.
    replies = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    limit_resources(limits)
    undumpable()  # student code, in a kernel below, cannot trace this process
    fork_server = ForkServerClient(preload, str(root))
    if sys.platform.startswith("linux"):  # elsewhere forking after these imports is unsafe
        fork_server.start()
        use_fork_server(fork_server)
    for line in sys.stdin:
        try:
            status = run_job(root, json.loads(line))
        except BaseException as error:  # noqa: BLE001 - every failure goes back as data
            if isinstance(error, KeyboardInterrupt):
                raise
            status = {
                "success": False,
                "log": "",
                "error": "".join(
                    traceback.format_exception(type(error), error, error.__traceback__)
                )[-4000:],
            }
        try:
            clean_up(root, isolated, fork_server)
        except BaseException:  # noqa: BLE001 - a job that cannot be cleaned up after ends the server
            status["restart"] = True
        replies.write(json.dumps(status) + "\n")
        replies.flush()
        if status.get("restart"):
            return 1  # the trusted side starts a new server, in new folders
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.sandboxed.notebook_server")
    parser.add_argument("root", type=Path, help="the server's scratch folder")
    parser.add_argument("--limits", required=True, help="the limits, as JSON")
    parser.add_argument("--isolated", action="store_true", help="alone in a pid namespace")
    parser.add_argument("--preload", nargs="*", default=[], help="modules for the fork server")
    args = parser.parse_args(argv)
    return serve(args.root, args.isolated, args.preload, json.loads(args.limits))


if __name__ == "__main__":
    sys.exit(main())
