"""The grading worker and its notebook server leave nothing of one job to the next, and the
trusted side never writes into, or reads from, a folder a sandbox wrote."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from grader.pipeline.results import SandboxTask
from grader.pipeline.sandbox import bubblewrap, folders
from grader.pipeline.sandbox.bubblewrap import Mounts
from grader.pipeline.sandbox.cgroups import ResourceCap
from grader.pipeline.sandbox.folders import folder_bytes
from grader.pipeline.sandbox.grading_worker import GradingWorker
from grader.pipeline.sandbox.limits import Limits
from grader.pipeline.sandbox.streams import read_all
from grader.sandboxed import notebook_server
from grader.sandboxed.forked_kernels import ForkServerClient

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
def test_a_restarted_server_starts_in_new_folders(tmp_path, sandboxed):
    if sandboxed and bubblewrap.bubblewrap() is None:
        pytest.skip("bubblewrap is not installed")
    worker = GradingWorker(tmp_path / "worker", Limits(job_seconds=120), sandboxed=sandboxed)
    try:
        worker.start()
        first = worker.server_folder
        plant(first / "scratch")
        worker.process.kill()  # as a student's code could
        worker.process.wait()
        status = worker._send(TASK)  # answered, as an error: the task is empty
        assert worker.server_folder != first
        assert not first.exists()
    finally:
        worker.stop()
    assert "stopped unexpectedly" not in status["error"]
    assert "planted" not in json.dumps(status)


def test_after_a_job_nothing_is_left_but_an_empty_home(tmp_path):
    for folder in ("job", "home/.config", "elsewhere/deeper"):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "file").write_text("left behind")
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    outside.mkdir()
    (outside / "kept").write_text("not the job's")
    (tmp_path / "link").symlink_to(outside)
    notebook_server.clean_up(tmp_path, isolated=False, fork_server=ForkServerClient([]))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home"]
    assert list((tmp_path / "home").iterdir()) == []
    assert (outside / "kept").read_text() == "not the job's"


def test_reading_a_pipe_stops_at_its_cap_and_its_deadline():
    import time

    read_end, write_end = os.pipe()
    os.write(write_end, b"x" * 5000)
    capped = read_all(read_end, 1000, time.monotonic() + 5)
    assert capped.stopped == "too large" and len(capped.data) == 1000
    late = read_all(read_end, 10**6, time.monotonic() + 0.3)  # the writer never closes
    assert late.stopped == "timeout"
    os.close(write_end)
    assert read_all(read_end, 10**6, time.monotonic() + 5).stopped == "end"
    os.close(read_end)


def test_measuring_a_folder_follows_no_link_and_opens_no_file(tmp_path, monkeypatch):
    (tmp_path / "data").write_bytes(b"x" * 100_000)
    os.symlink("/dev/zero", tmp_path / "zero")
    os.symlink("/", tmp_path / "root")
    os.mkfifo(tmp_path / "fifo")
    used = folder_bytes(str(tmp_path))
    assert 100_000 <= used < 1_000_000
    monkeypatch.setattr(folders, "MEASURE_SECONDS", 1e-6)  # a tree too large to measure in time
    assert folder_bytes(str(tmp_path)) is None


SHARED_MEMORY_HOG = """\
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
size = 400 * 1024**2
segment = libc.shmget(0, ctypes.c_size_t(size), 0o1600)  # IPC_PRIVATE, IPC_CREAT | 0600
address = libc.shmat(segment, None, 0)
ctypes.memset(address, 1, size)  # the pages exist now, charged to whoever touched them
libc.shmdt(ctypes.c_void_p(address))  # detached: no address space holds them any more
print("kept", size)
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="cgroups are made for sandboxes started by root")
def test_a_sandbox_memory_cap_counts_detached_shared_memory(tmp_path):
    cap = ResourceCap.create(processes=64, memory_bytes=200 * 1024**2)
    if cap is None:
        pytest.skip("no writable memory cgroup on this machine")
    try:
        argv = ["unshare", "--ipc", sys.executable, "-c", SHARED_MEMORY_HOG]
        done = subprocess.run(cap.wrap(argv), capture_output=True, text=True, timeout=60)
    finally:
        cap.remove()
    assert "kept" not in done.stdout and done.returncode != 0


# Children that each open a session of their own (autogroups would give each a share of
# the processor), and report the cpu cgroup they are in.
NEW_SESSIONS = """
import os, sys
paths = []
for _ in range(3):
    read, write = os.pipe()
    if os.fork() == 0:
        os.setsid()
        os.write(write, open("/proc/self/cgroup").read().encode())
        os._exit(0)
    os.close(write)
    paths.append(os.read(read, 65536).decode())
    os.wait()
print("|".join(paths))
"""


def _cpu_group(proc_cgroup: str) -> str | None:
    for line in proc_cgroup.splitlines():
        number, controllers, path = (line.split(":", 2) + ["", ""])[:3]
        if "cpu" in controllers.split(","):
            return path
    return None


@pytest.mark.skipif(os.geteuid() != 0, reason="cgroups are made for sandboxes started by root")
def test_every_session_of_a_sandbox_shares_its_one_processor_share():
    cap = ResourceCap.create(processes=64, memory_bytes=200 * 1024**2)
    if cap is None or not any("cpu" in folder.parts for folder in cap.folders):
        pytest.skip("no writable cpu cgroup on this machine")
    try:
        argv = [sys.executable, "-c", NEW_SESSIONS]
        done = subprocess.run(cap.wrap(argv), capture_output=True, text=True, timeout=60)
    finally:
        cap.remove()
    (folder,) = [f for f in cap.folders if "cpu" in f.parts]
    groups = [_cpu_group(text) for text in done.stdout.strip().split("|")]
    assert len(groups) == 3 and all(g and g.endswith("/" + folder.name) for g in groups), groups


@pytest.mark.skipif(bubblewrap.bubblewrap() is None, reason="bubblewrap is not installed")
def test_the_sandbox_dev_is_read_only_and_its_devices_work(tmp_path):
    writable = bubblewrap.writable_folders(tmp_path)
    script = "echo x > /dev/null && head -c 1 /dev/zero | wc -c && : > /dev/planted"
    argv = bubblewrap.command(["/bin/sh", "-c", script], Mounts(), writable, {})
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["1"]
    assert "Read-only file system" in done.stderr


# Children reaped by the kernel (SIGCHLD ignored) whose processor time /proc never shows.
HIDDEN_CHILDREN = """
import os, signal, time
signal.signal(signal.SIGCHLD, signal.SIG_IGN)
for _ in range(2):
    if os.fork() == 0:
        while time.process_time() < 0.3:
            pass
        os._exit(0)
try:
    os.wait()  # with SIGCHLD ignored: returns when every child has ended, with ECHILD
except ChildProcessError:
    pass
print("done")
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="cgroups are made for sandboxes started by root")
def test_a_sandbox_cgroup_counts_the_time_of_children_the_kernel_reaped():
    cap = ResourceCap.create(processes=64, memory_bytes=200 * 1024**2)
    if cap is None or cap.processor_seconds() is None:
        pytest.skip("no cgroup that counts processor time on this machine")
    try:
        before = cap.processor_seconds()
        done = subprocess.run(
            cap.wrap([sys.executable, "-c", HIDDEN_CHILDREN]), capture_output=True, timeout=60
        )
        used = cap.processor_seconds() - before
    finally:
        cap.remove()
    assert done.returncode == 0 and used >= 0.55, used
