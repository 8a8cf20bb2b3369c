"""The instructor's entry points, run as a newcomer runs them: unactivated, in a bare
environment (no virtual environment on PATH), on a course that has no gradebook yet.

nbgrader creates a gradebook by running ``alembic`` through PATH; the course's
``nbgrader_config.py`` must make that work for ``.venv/bin/nbgrader`` and for the
Formgrader in JupyterLab, on the first try.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from contextlib import closing
from pathlib import Path

import pytest

from grader.pipeline.course import GENERATED

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
BARE_PATH = "/usr/local/bin:/usr/bin:/bin"


@pytest.fixture
def fresh_course(tmp_path) -> Path:
    """A copy of the repository's course with nothing generated in it."""
    course = tmp_path / "course"
    shutil.copytree(
        ROOT / "course",
        course,
        ignore=shutil.ignore_patterns(*GENERATED, ".ipynb_checkpoints"),
    )
    return course


def bare_environment(home: Path) -> dict[str, str]:
    home.mkdir(exist_ok=True)
    return {"HOME": str(home), "PATH": BARE_PATH}


def has_alembic_version(db: Path) -> bool:
    with closing(sqlite3.connect(db)) as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
    return "alembic_version" in tables


def test_nbgrader_command_unactivated(fresh_course, tmp_path):
    done = subprocess.run(
        [str(BIN / "nbgrader"), "generate_assignment", "--force", "02_two_layer_network"],
        cwd=fresh_course,
        env=bare_environment(tmp_path / "home"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert (fresh_course / "release" / "02_two_layer_network").is_dir()
    assert has_alembic_version(fresh_course / "gradebook.db")
    assert (fresh_course / "exchange").is_dir()  # Release and Collect have somewhere to go


def schema(db: Path) -> dict:
    with closing(sqlite3.connect(db)) as connection:
        tables = dict(connection.execute("SELECT name, sql FROM sqlite_master ORDER BY name"))
        tables["version"] = connection.execute("SELECT * FROM alembic_version").fetchall()
    return tables


def test_grader_release_makes_the_gradebook_nbgrader_makes_without_alembic_on_path(
    fresh_course, tmp_path
):
    """``grader release`` makes a new course's gradebook in its own process (nbgrader would
    start ``alembic``): the same tables and schema version as nbgrader's, from a bare PATH."""
    command = [sys.executable, "-m", "grader.cli", "release", "--course", str(fresh_course)]
    env = {**bare_environment(tmp_path / "home"), "PYTHONPATH": str(ROOT)}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    theirs = tmp_path / "theirs.db"
    env = {**env, "PATH": f"{BIN}:{BARE_PATH}"}
    make = f"from nbgrader.api import Gradebook; Gradebook('sqlite:///{theirs}').close()"
    subprocess.run([sys.executable, "-c", make], env=env, check=True, timeout=120)
    ours, nbgraders = schema(fresh_course / "gradebook.db"), schema(theirs)
    assert ours["version"] != [] and ours == nbgraders


def free_port() -> int:
    with closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_formgrader_loads_on_the_first_try(fresh_course, tmp_path):
    port, token = free_port(), "entry-points-test"
    command = [str(BIN / "jupyter"), "lab", "--no-browser", f"--port={port}"]
    command += ["--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}"]
    command += ["--allow-root"] if os.geteuid() == 0 else []
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen(
        command,
        cwd=fresh_course,
        env=bare_environment(tmp_path / "home"),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        url = f"http://127.0.0.1:{port}/formgrader/api/assignments"
        request = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
        deadline, answer = time.monotonic() + 120, None
        while answer is None and time.monotonic() < deadline:
            assert server.poll() is None, (tmp_path / "server.log").read_text()[-3000:]
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    answer = (response.status, json.loads(response.read()))
            except ConnectionError:
                time.sleep(0.5)
            except urllib.error.URLError as error:
                if isinstance(error, urllib.error.HTTPError):
                    answer = (error.code, None)
                else:
                    time.sleep(0.5)
        assert answer is not None, "the server did not answer"
        status, assignments = answer
        assert status == 200, (tmp_path / "server.log").read_text()[-3000:]
        names = {a["name"] for a in assignments}
        assert "02_two_layer_network" in names
        assert has_alembic_version(fresh_course / "gradebook.db")
        assert "cannot be created" not in (tmp_path / "server.log").read_text()
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def test_grading_stops_with_advice_when_the_sandbox_cannot_start(monkeypatch, tmp_path, capsys):
    from grader import cli
    from grader.pipeline.sandbox import bubblewrap

    monkeypatch.setattr(bubblewrap, "bubblewrap", lambda: None)
    with pytest.raises(bubblewrap.SandboxUnavailable, match="--no-sandbox"):
        bubblewrap.check()
    shutil.copytree(ROOT / "course", tmp_path / "course", ignore=shutil.ignore_patterns("*.db"))
    code = cli.main(["autograde", "--course", str(tmp_path / "course")])
    assert code == cli.EXIT_USAGE
    assert "apt-get install bubblewrap" in capsys.readouterr().err


def test_a_machine_without_user_namespaces_is_told_how_to_allow_them(monkeypatch):
    from grader.pipeline.sandbox import bubblewrap

    monkeypatch.setattr(bubblewrap, "_namespaces", lambda bwrap: ["--unshare-user", "--bogus"])
    with pytest.raises(bubblewrap.SandboxUnavailable) as raised:
        bubblewrap.check()
    assert "unprivileged user namespaces" in str(raised.value)
    assert "sysctl" in str(raised.value)
