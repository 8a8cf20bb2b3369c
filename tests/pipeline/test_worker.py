"""The notebook server leaves nothing of one job to the next."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from grader.pipeline.results import SandboxTask
from grader.pipeline.sandbox import bubblewrap, notebook_server
from grader.pipeline.sandbox.grading_worker import GradingWorker
from grader.pipeline.sandbox.kernels import ForkServerClient
from grader.pipeline.sandbox.limits import Limits

TASK = SandboxTask("student", "assignment", "a.ipynb", "", "", "", b"", (), [])


def plant(root: Path) -> None:
    """What a student's code could leave in its worker's scratch folder for the next
    process started there: a package named like ours and a user site-packages hook."""
    (root / "grader").mkdir(parents=True)
    (root / "grader" / "__init__.py").write_text("raise SystemExit('planted')\n")
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    site = root / "home" / ".local" / "lib" / version / "site-packages"
    site.mkdir(parents=True)
    (site / "planted.pth").write_text("import sys; sys.exit('planted')\n")


@pytest.mark.parametrize("sandboxed", [True, False])
def test_a_restarted_server_imports_nothing_planted_in_its_scratch_folder(tmp_path, sandboxed):
    if sandboxed and bubblewrap.bubblewrap() is None:
        pytest.skip("bubblewrap is not installed")
    worker = GradingWorker(tmp_path / "worker", Limits(job_seconds=120), sandboxed=sandboxed)
    plant(worker.server_root)
    try:
        status = worker._send(TASK, "no-such-job")  # answered, as an error
    finally:
        worker.stop()
    assert "stopped unexpectedly" not in status["error"]
    assert "planted" not in json.dumps(status)


def test_after_a_job_only_its_folder_and_the_servers_files_are_left(tmp_path):
    for name in (notebook_server.LIMITS, notebook_server.LOG, "planted.py"):
        (tmp_path / name).write_text("{}")
    for folder in ("job", "home/.config", "elsewhere/deeper"):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "file").write_text("left behind")
    (tmp_path / "link").symlink_to(tmp_path / "job")
    notebook_server.clean_up(tmp_path, isolated=False, fork_server=ForkServerClient([]), job="job")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [notebook_server.LIMITS, notebook_server.LOG, "job", "home"]
    )
    assert list((tmp_path / "home").iterdir()) == []
    assert (tmp_path / "job" / "file").read_text() == "left behind"
