"""Grading on Dask: a LocalCluster of two processes, and a real ``dask scheduler`` with
``dask worker --nworkers 2`` started here on 127.0.0.1, give the grades of the local pool;
a worker killed in the middle of the batch costs a retry and no submission; an unreachable
scheduler is a clear error; an interrupted run resumes."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from grader import cli
from grader.demo.classroom import DEFAULT_ASSIGNMENTS, build_demo_class
from grader.demo.submissions import demo_submissions
from grader.pipeline.autograde import autograde
from grader.pipeline.course import Course
from grader.pipeline.sandbox import bubblewrap
from grader.pipeline.sandbox.limits import Limits

distributed = pytest.importorskip("distributed")
from grader.pipeline.cluster import SchedulerUnavailable, dask_pool  # noqa: E402

pytestmark = pytest.mark.skipif(
    bubblewrap.bubblewrap() is None, reason="bubblewrap is not installed (make sandbox)"
)
LIMITS = Limits(cell_seconds=20, job_seconds=240)
DASK = str(Path(sys.executable).parent / "dask")


def grades(course: Course) -> dict[tuple[str, str], dict]:
    found = {}
    for path in (course.root / "grading").glob("*/*/result.json"):
        result = json.loads(path.read_text())
        key = (result["student"], result["assignment"])
        found[key] = {
            "points": {i["grade_id"]: i["points"] for i in result["items"]},
            "problems": result["problems"],
            "flags": result["flags"],
            "worker": result["worker"],
        }
    return found


def without_worker(found: dict) -> dict:
    return {k: {f: v for f, v in r.items() if f != "worker"} for k, r in found.items()}


# Of the demo class, the students whose submissions cover what a worker can meet: both
# assignments, a blank notebook, an unreadable file and a tampering kernel.
STUDENTS = ("blank", "broken_file", "complete", "tamperer")
CLASS = [s for s in demo_submissions(DEFAULT_ASSIGNMENTS) if s.student in STUDENTS]


@pytest.fixture(scope="module")
def local(tmp_path_factory) -> Course:
    """Part of the demo class graded by the local pool: the grades the cluster must give."""
    course = build_demo_class(tmp_path_factory.mktemp("local"), DEFAULT_ASSIGNMENTS, CLASS)
    autograde(course, jobs=2, limits=LIMITS)
    return course


def copy(course: Course, out: Path, students: int | None = None) -> Course:
    """The same class (the same secret, so the same hidden cases), not graded yet; with
    ``students``, only the submissions of the first that many students."""
    root = out / "course"
    shutil.copytree(course.root, root, ignore=shutil.ignore_patterns("grading", "autograded"))
    (root / "gradebook.db").unlink()
    if students is not None:
        for folder in sorted((root / "submitted").iterdir())[students:]:
            shutil.rmtree(folder)
    return Course(root)


def some(found: dict, course: Course) -> dict:
    """The entries of ``found`` of the students ``course`` has submissions of."""
    submitted = {p.name for p in (course.root / "submitted").iterdir()}
    return {key: value for key, value in found.items() if key[0] in submitted}


FEW = 3  # students whose submissions the tests of failures grade (the class has more)


def test_a_local_cluster_gives_the_local_grades(local, tmp_path):
    course = copy(local, tmp_path)
    summary = autograde(course, jobs=2, limits=LIMITS, pool=dask_pool("local"))
    assert len(summary.graded) == len(grades(local))
    assert without_worker(grades(course)) == without_worker(grades(local))
    workers = {r["worker"] for r in grades(course).values() if r["worker"]}
    assert workers and all(w.startswith("tcp://127.0.0.1:") for w in workers)


@pytest.fixture
def scheduler(tmp_path) -> Iterator[tuple[str, subprocess.Popen]]:
    """A ``dask scheduler`` and a ``dask worker --nworkers 2`` on 127.0.0.1."""
    file = tmp_path / "scheduler.json"
    env = dict(os.environ)
    started = subprocess.Popen(
        [DASK, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard"]
        + ["--scheduler-file", str(file)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        env=env,
    )
    workers = None
    try:
        deadline = time.monotonic() + 60
        while not file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        address = json.loads(file.read_text())["address"]
        workers = subprocess.Popen(
            [DASK, "worker", address, "--nworkers", "2", "--nthreads", "1", "--no-dashboard"]
            + ["--local-directory", str(tmp_path / "workers"), "--host", "127.0.0.1"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            env=env,
        )
        with distributed.Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)
        yield address, workers
    finally:
        for process in (workers, started):
            if process is not None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)


def worker_pids(address: str) -> list[int]:
    with distributed.Client(address, timeout="30s") as client:
        return sorted(client.run(os.getpid).values())


def test_a_killed_worker_costs_a_retry_and_every_submission_is_recorded_once(
    local, tmp_path, scheduler
):
    address, _ = scheduler
    course = copy(local, tmp_path, FEW)
    recorded: list[tuple[str, str]] = []
    killed: list[int] = []

    def kill_one(result, done, total):
        recorded.append((result.student, result.assignment))
        if not killed:
            victim = worker_pids(address)[0]
            os.kill(victim, signal.SIGKILL)  # in the middle of its next submission
            killed.append(victim)

    summary = autograde(course, jobs=2, limits=LIMITS, pool=dask_pool(address), on_done=kill_one)
    assert killed
    expected = some(grades(local), course)
    assert len(recorded) == len(set(recorded)) == len(expected) == len(summary.graded) > 2
    assert without_worker(grades(course)) == without_worker(expected)


def test_an_unreachable_scheduler_is_a_clear_error(local, tmp_path, capsys):
    course = copy(local, tmp_path)
    with pytest.raises(SchedulerUnavailable, match="cannot reach the Dask scheduler"):
        autograde(course, limits=LIMITS, pool=dask_pool("tcp://127.0.0.1:9", connect_seconds=2))
    code = cli.main(
        ["autograde", "--course", str(course.root), "--scheduler", "tcp://127.0.0.1:9"]
        + ["--connect-timeout", "2"]
    )
    assert code == cli.EXIT_USAGE
    assert "dask scheduler" in capsys.readouterr().err
    assert not (course.root / "grading").exists()


def test_an_interrupted_run_on_the_cluster_resumes(local, tmp_path):
    course = copy(local, tmp_path, FEW)
    first: list[tuple[str, str]] = []

    def stop(result, done, total):
        first.append((result.student, result.assignment))
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        autograde(course, jobs=2, limits=LIMITS, pool=dask_pool("local"), on_done=stop)
    assert list(grades(course)) == first
    summary = autograde(course, jobs=2, limits=LIMITS, pool=dask_pool("local"))
    expected = some(grades(local), course)
    assert summary.reused == 1 and len(summary.graded) == len(expected) - 1 > 1
    assert without_worker(grades(course)) == without_worker(expected)


def test_the_cluster_hides_the_course_from_its_sandboxes(local, tmp_path, monkeypatch):
    """A Dask worker's sandboxes are told the course's folder, as the local pool's are (a
    course under a folder the sandbox mounts, such as the environment's, stays unseen)."""
    from grader.pipeline.cluster import DaskPool

    submitted = []

    class Client:
        def __init__(self, address, timeout):
            pass

        def submit(self, function, *args, **kwargs):
            submitted.append(args)

    monkeypatch.setattr(distributed, "Client", Client)
    pool = DaskPool(tmp_path, 2, LIMITS, True, local, address="tcp://127.0.0.1:9")
    pool.submit(object())
    ((_, _, _, private),) = submitted
    assert private == (local.root,)
