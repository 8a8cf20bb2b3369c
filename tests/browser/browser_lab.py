"""The pieces of the browser tests: JupyterLab on 127.0.0.1, headless Chromium (Debian's
``chromium``, driven by Playwright through its executable, never a downloaded one), and
the solved copies of the student notebooks (the fixtures that start and stop them are in
``conftest.py``)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("COURSE_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = ROOT / "build" / "browser"
CHROMIUM_FLAGS = [
    "--no-sandbox",  # Chromium refuses to start as root without it
    "--headless",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
"""Flags that keep Chromium from reaching out: this machine may have no network, and its
background connections would only fail noisily."""

INSTALL = "run `make browser` as root (apt-get install chromium; pip install playwright)"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def solved_copy(student: Path, target: Path) -> None:
    """The student notebook ``student`` with each solution cell holding the master's
    solution (its markers removed), written to ``target``."""
    import nbformat

    master = ROOT / "course" / "source" / student.stem / student.name
    solutions = {
        cell.metadata["nbgrader"]["grade_id"]: cell.source
        for cell in nbformat.read(str(master), as_version=4).cells
        if cell.metadata.get("nbgrader", {}).get("solution") and cell.cell_type == "code"
    }
    notebook = nbformat.read(str(student), as_version=4)
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in solutions:
            lines = solutions[grade_id].splitlines()
            cell.source = "\n".join(
                line
                for line in lines
                if "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line
            )
    nbformat.write(notebook, str(target))


STUDENT_LAB = ROOT / "grader" / "student_lab"
"""The configuration folder ``make lab`` puts first on JupyterLab's configuration path."""


class Lab:
    """A JupyterLab server on 127.0.0.1 serving ``root`` (no token: nothing but this
    machine can reach it), with settings of its own: every cell rendered (no windowing),
    no news or update checks; ``config_path``: a folder first on its configuration path
    (``STUDENT_LAB`` for the students' JupyterLab of ``make lab``)."""

    def __init__(self, root: Path, home: Path, config_path: Path | None = None) -> None:
        self.root, self.port = root, _free_port()
        settings = home / "settings"
        for plugin, values in {
            "notebook-extension/tracker": {"windowingMode": "none"},
            "apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
        }.items():
            path = settings / "@jupyterlab" / f"{plugin}.jupyterlab-settings"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values))
        env = dict(
            os.environ,
            JUPYTERLAB_SETTINGS_DIR=str(settings),
            JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"),
            JUPYTER_RUNTIME_DIR=str(home / "runtime"),
            PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
        )
        env.pop("JUPYTER_CONFIG_DIR", None)
        env.pop("JUPYTER_CONFIG_PATH", None)
        if config_path is not None:
            env["JUPYTER_CONFIG_PATH"] = str(config_path)
        command = [
            str(Path(sys.executable).parent / "jupyter"),
            "lab",
            "--no-browser",
            "--ip=127.0.0.1",
            f"--port={self.port}",
            "--ServerApp.token=",
            "--ServerApp.password=",
            "--ServerApp.disable_check_xsrf=True",
            "--LabApp.expose_app_in_browser=True",
            f"--ServerApp.root_dir={root}",
        ]
        if os.geteuid() == 0:
            command.append("--allow-root")
        self.log = open(home / "lab.log", "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            command, cwd=root, env=env, stdout=self.log, stderr=subprocess.STDOUT
        )
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"JupyterLab stopped: see {home / 'lab.log'}")
            try:
                urllib.request.urlopen(self.url + "/api/status", timeout=1)
                return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("JupyterLab did not answer within 60 s")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
        self.log.close()
