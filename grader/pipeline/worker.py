"""The sandboxed grading worker:
``python -m grader.pipeline.worker ROOT [--isolated] [--preload MODULE ...]``.

It runs inside the sandbox for a whole batch, so that the interpreter and nbgrader are
loaded once, and grades one submission per line of standard input (a JSON job naming a
folder under ``ROOT``).  Each job's folder holds a private nbgrader course with only that
assignment's master, that student's repaired submission and a gradebook with no other
student; the worker runs the real ``nbgrader autograde`` there with the job's own home,
temporary and Jupyter folders, and answers one JSON line.  The kernels are forked from a
zygote that has imported ipykernel and the ``--preload`` modules once
(``grader.pipeline.zygote``).  With ``--isolated`` (it is alone in its own process
namespace, as under bubblewrap) it then kills whatever the student's code left running but
the zygote, and empties ``/tmp``, so nothing of one student reaches the next.  Everything it
writes is untrusted data to the caller.
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

from grader.api import RECORD_VARIABLE
from grader.collect import CASE_SECONDS_VARIABLE
from grader.pipeline.kernels import LAUNCHES, Zygote, use_zygote
from grader.pipeline.sandbox import Limits, limit_resources
from grader.pipeline.zygote import undumpable

RECORDS = "records.jsonl"
LIMITS = "limits.json"
LOG = "worker.log"  # the worker's standard error, kept by the caller


def grade(job: Path, assignment: str, student: str) -> dict:
    """Autograde the submission laid out in ``job``; report success and nbgrader's log."""
    limits = Limits(**json.loads((job / LIMITS).read_text()))
    home = job / "home"
    for folder in (home, job / "tmp"):
        folder.mkdir(exist_ok=True)
    os.environ.update(
        {
            RECORD_VARIABLE: str(job / RECORDS),
            CASE_SECONDS_VARIABLE: str(max(1, limits.cell_seconds // 3)),
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

    from grader.release import course_config

    config = course_config(job / "course")
    config.ExecutePreprocessor.timeout = limits.cell_seconds
    config.Execute.timeout = limits.cell_seconds
    config.Execute.interrupt_on_timeout = True
    config.Execute.raise_on_iopub_timeout = False
    config.Execute.kernel_manager_class = "grader.pipeline.kernels.ForkingKernelManager"
    LAUNCHES.clear()
    result = NbGraderAPI(config=config).autograde(assignment, student, force=True, create=True)
    return {
        "kernel_starts": dict(LAUNCHES),
        "success": bool(result.get("success")),
        "log": str(result.get("log", ""))[-4000:],
        "error": str(result.get("error", ""))[-4000:],
    }


def clean_up(root: Path, isolated: bool, zygote: Zygote, job: str | None) -> None:
    """Remove what the job left in ``root`` but its own folder (the caller reads it) and
    the worker's files; when isolated, also kill every other process of the sandbox but
    the zygote, and empty its private ``/tmp`` (but for the folders leading to ``root``,
    which is mounted from outside)."""
    for entry in root.iterdir():
        if entry.name not in (LIMITS, LOG, job):
            _remove(entry)
    (root / "home").mkdir(exist_ok=True)
    if not isolated:
        return
    if not _kill_all_but(zygote.pid):
        zygote.stop()
        _kill_all_but(None)
    for entry in Path("/tmp").iterdir():
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
    zygote = Zygote(preload, str(root))
    if sys.platform.startswith("linux"):  # elsewhere forking after these imports is unsafe
        zygote.start()
        use_zygote(zygote)
    for line in sys.stdin:
        job = {}
        try:
            job = json.loads(line)
            status = grade(root / job["folder"], job["assignment"], job["student"])
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
        clean_up(root, isolated, zygote, job.get("folder") if isinstance(job, dict) else None)
        replies.write(json.dumps(status) + "\n")
        replies.flush()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.pipeline.worker")
    parser.add_argument("root", type=Path, help="the worker's scratch folder")
    parser.add_argument("--isolated", action="store_true", help="alone in a pid namespace")
    parser.add_argument("--preload", nargs="*", default=[], help="modules for the zygote")
    args = parser.parse_args(argv)
    return serve(args.root, args.isolated, args.preload)


if __name__ == "__main__":
    sys.exit(main())
