"""The notebook server: ``python -m grader.pipeline.sandbox.notebook_server ROOT
[--isolated] [--preload MODULE ...]``, inside the sandbox.

It runs for a whole batch, so that the interpreter and nbgrader are loaded once, and runs
one submission's notebook per line of standard input (a JSON job naming a folder under
``ROOT``).  Each job's folder holds a private nbgrader course with only that assignment's
master (without its solutions), that student's repaired submission and a gradebook with no
student; the server runs the real ``nbgrader autograde`` there with the job's own home,
temporary and Jupyter folders, and answers one JSON line.  This run grades nothing: the
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
import json
import os
import shutil
import signal
import sys
import tempfile
import traceback
from pathlib import Path

from grader.pipeline.sandbox.fork_server import undumpable
from grader.pipeline.sandbox.kernels import LAUNCHES, ForkServerClient, use_fork_server
from grader.pipeline.sandbox.limits import Limits, limit_resources

LIMITS = "limits.json"
LOG = "notebook_server.log"  # the server's standard error, kept by the caller
PRIVATE_FOLDERS = ("/tmp", "/dev/shm")


def course_config(course: Path):
    """The course's ``nbgrader_config.py``, with its root pointed at ``course``."""
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    config.CourseDirectory.root = str(course)
    config.CourseDirectory.db_url = "sqlite:///" + str(course / "gradebook.db")
    return config


def run_notebook(job: Path, assignment: str, student: str) -> dict:
    """Autograde the submission laid out in ``job``; report success and nbgrader's log."""
    limits = Limits(**json.loads((job / LIMITS).read_text()))
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

    config = course_config(job / "course")
    config.ExecutePreprocessor.timeout = limits.cell_seconds
    config.Execute.timeout = limits.cell_seconds
    config.Execute.interrupt_on_timeout = True
    config.Execute.raise_on_iopub_timeout = False
    config.Execute.kernel_manager_class = "grader.pipeline.sandbox.kernels.ForkingKernelManager"
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


def clean_up(root: Path, isolated: bool, fork_server: ForkServerClient, job: str | None) -> None:
    """Remove what the job left in ``root`` but its own folder (the caller reads it) and
    the server's files; when isolated, also kill every other process of the sandbox but
    the fork server, and empty the private ``/tmp`` and ``/dev/shm``."""
    for entry in root.iterdir():
        if entry.name not in (LIMITS, LOG, job):
            _remove(entry)
    (root / "home").mkdir(exist_ok=True)
    if not isolated:
        return
    if not _kill_all_but(fork_server.pid):
        fork_server.stop()
        _kill_all_but(None)
    for folder in PRIVATE_FOLDERS:
        for entry in Path(folder).iterdir() if Path(folder).is_dir() else ():
            if not root.resolve().is_relative_to(entry.resolve()):
                _remove(entry)


def _remove(entry: Path) -> None:
    if entry.is_dir() and not entry.is_symlink():
        shutil.rmtree(entry, ignore_errors=True)
    else:
        entry.unlink(missing_ok=True)


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


def serve(root: Path, isolated: bool, preload: list[str]) -> int:
    # Nothing but the replies may reach standard output: keep it for them, send the rest
    # (nbgrader's and the kernels' chatter) to standard error.
    replies = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    limit_resources(Limits(**json.loads((root / LIMITS).read_text())))
    undumpable()  # student code, in a kernel below, cannot trace this process
    fork_server = ForkServerClient(preload, str(root))
    if sys.platform.startswith("linux"):  # elsewhere forking after these imports is unsafe
        fork_server.start()
        use_fork_server(fork_server)
    for line in sys.stdin:
        job = {}
        try:
            job = json.loads(line)
            status = run_notebook(root / job["folder"], job["assignment"], job["student"])
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
        folder = job.get("folder") if isinstance(job, dict) else None
        clean_up(root, isolated, fork_server, folder)
        replies.write(json.dumps(status) + "\n")
        replies.flush()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.pipeline.sandbox.notebook_server")
    parser.add_argument("root", type=Path, help="the server's scratch folder")
    parser.add_argument("--isolated", action="store_true", help="alone in a pid namespace")
    parser.add_argument("--preload", nargs="*", default=[], help="modules for the fork server")
    args = parser.parse_args(argv)
    return serve(args.root, args.isolated, args.preload)


if __name__ == "__main__":
    sys.exit(main())
