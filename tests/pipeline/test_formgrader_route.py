"""One autograde route: Formgrader, through its own API, shows a class the pipeline graded as
graded, with the pipeline's scores, and its Autograde button runs the pipeline (sandboxed,
judged on the trusted side), never nbgrader's unsandboxed execution."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import closing
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from grader.demo.classroom import build_demo_class
from grader.pipeline.autograde import autograde
from grader.pipeline.sandbox import bubblewrap
from grader.pipeline.sandbox.limits import Limits

pytestmark = pytest.mark.skipif(
    bubblewrap.bubblewrap() is None, reason="bubblewrap is not installed (make sandbox)"
)

BIN = Path(sys.executable).parent
ASSIGNMENT = "02_two_layer_network"


def free_port() -> int:
    import socket

    with closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Formgrader:
    """JupyterLab with Formgrader on a course folder, reached through its HTTP API."""

    def __init__(self, course: Path, home: Path) -> None:
        self.port, self.token = free_port(), "formgrader-route-test"
        command = [str(BIN / "jupyter"), "lab", "--no-browser", f"--port={self.port}"]
        command += ["--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={self.token}"]
        command += ["--allow-root"] if os.geteuid() == 0 else []
        home.mkdir(exist_ok=True)
        self.log_path = home / "server.log"
        self.log = self.log_path.open("w")
        env = {"HOME": str(home), "PATH": "/usr/local/bin:/usr/bin:/bin"}
        self.server = subprocess.Popen(
            command, cwd=course, env=env, stdout=self.log, stderr=subprocess.STDOUT
        )

    def call(self, path: str, method: str = "GET", timeout: float = 600) -> object:
        url = f"http://127.0.0.1:{self.port}/formgrader/api/{path}"
        headers = {"Authorization": f"token {self.token}"}
        data = b"" if method == "POST" else None
        request = urllib.request.Request(url, data=data, headers=headers, method=method)
        deadline = time.monotonic() + 120
        while True:
            assert self.server.poll() is None, self.log_path.read_text()[-3000:]
            try:
                with urllib.request.urlopen(request, timeout=timeout) as response:
                    return json.loads(response.read())
            except urllib.error.HTTPError:
                raise
            except (ConnectionError, urllib.error.URLError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def stop(self) -> None:
        self.server.terminate()
        try:
            self.server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.server.kill()
        self.log.close()


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    out = tmp_path_factory.mktemp("formgrader")
    course = build_demo_class(out / "class", (ASSIGNMENT,))
    for student in ("complete", "partly_right"):  # as nbgrader's exchange writes them
        folder = course.submitted / student / ASSIGNMENT
        (folder / "timestamp.txt").write_text("2026-11-30 09:15:00.000000 UTC")
    summary = autograde(course, jobs=2, limits=Limits(cell_seconds=20, job_seconds=240))
    formgrader = Formgrader(course.root, out / "home")
    yield course, summary, formgrader
    formgrader.stop()


def test_formgrader_lists_every_graded_submission_as_graded_with_its_score(graded):
    course, summary, formgrader = graded
    scores = {r.student: r.auto_points for r in summary.graded}
    listed = formgrader.call(f"submissions/{ASSIGNMENT}")
    by_student = {entry["student"]: entry for entry in listed}
    assert set(by_student) >= set(scores)
    for student, points in scores.items():
        entry = by_student[student]
        assert entry["autograded"] is True, entry
        assert entry["score"] == pytest.approx(points), entry
    assert by_student["complete"]["timestamp"].startswith("2026-11-30T09:15")


def test_the_autograde_button_runs_the_pipeline(graded):
    course, summary, formgrader = graded
    before = {r.student: r.auto_points for r in summary.graded}["partly_right"]
    answer = formgrader.call(f"submission/{ASSIGNMENT}/partly_right/autograde", "POST")
    assert answer["success"], answer.get("error", "")[-2000:]
    assert "Graded by the course's pipeline in the sandbox" in answer["log"]
    with Gradebook("sqlite:///" + str(course.root / "gradebook.db")) as gb:
        submission = gb.find_submission(ASSIGNMENT, "partly_right")
        assert submission.score == pytest.approx(before)
    listed = {e["student"]: e for e in formgrader.call(f"submissions/{ASSIGNMENT}")}
    assert listed["partly_right"]["autograded"] is True
    executed = course.root / "autograded" / "partly_right" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    assert executed.is_file()
