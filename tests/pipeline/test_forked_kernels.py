"""Kernels forked from the fork server behave like freshly started ones."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError

from grader.sandboxed import forked_kernels as kernels
from grader.sandboxed.execute import UNANSWERED, Execute
from grader.sandboxed.fork_server import course_imports
from grader.sandboxed.forked_kernels import (
    ForkingKernelManager,
    ForkServerClient,
    ForkServerError,
    forkable,
)


@pytest.fixture(scope="module")
def fork_server() -> Iterator[ForkServerClient]:
    server = ForkServerClient(["numpy", "json"])
    kernels.use_fork_server(server)
    try:
        yield server
    finally:
        kernels.use_fork_server(None)
        server.stop()


def run(*sources: str, timeout: int = 30) -> list[str]:
    """Execute one notebook of ``sources`` in a forked kernel; each cell's text output."""
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    NotebookClient(
        notebook,
        kernel_name="python3",
        kernel_manager_class=ForkingKernelManager,
        timeout=timeout,
        interrupt_on_timeout=True,
        allow_errors=True,
    ).execute()
    return [
        "".join(o.get("text", "") or o.get("ename", "") for o in cell.outputs)
        for cell in notebook.cells
    ]


def test_kernel_is_forked_with_the_modules_already_imported(fork_server):
    first, parent = run(
        "import sys\nprint('numpy' in sys.modules)", "import os\nprint(os.getppid())"
    )
    assert first.strip() == "True"
    assert int(parent) == fork_server.pid


def test_each_kernel_draws_its_own_random_numbers(fork_server):
    draw = "import numpy, random\nprint(numpy.random.rand(), random.random())"
    assert run(draw) != run(draw)


def test_kernel_runs_in_a_session_of_its_own_with_the_callers_environment(fork_server, tmp_path):
    os.environ["GRADER_TEST_MARK"] = "seen"
    try:
        session, mark = run(
            "import os\nprint(os.getsid(0) == os.getpid())",
            "import os\nprint(os.environ.get('GRADER_TEST_MARK'))",
        )
    finally:
        del os.environ["GRADER_TEST_MARK"]
    assert (session.strip(), mark.strip()) == ("True", "seen")


def test_kernel_cannot_be_traced_by_its_own_code(fork_server):
    (dumpable,) = run("import ctypes\nprint(ctypes.CDLL(None).prctl(3, 0, 0, 0, 0))")
    assert dumpable.strip() == "0"  # PR_GET_DUMPABLE: /proc of the fork server stays closed


def test_a_cell_past_its_time_is_interrupted_and_the_next_one_runs(fork_server):
    stuck, after = run("import time\ntime.sleep(60)", "print('next')", timeout=2)
    assert "KeyboardInterrupt" in stuck
    assert after.strip() == "next"


def test_a_kernel_that_stopped_itself_is_woken_by_the_interrupt(fork_server):
    """SIGSTOP to itself: the interrupt at the cell's time-out comes with a SIGCONT, so the
    cell ends as interrupted instead of holding the job to its limit."""
    stopped, after = run(
        "import os, signal\nos.kill(os.getpid(), signal.SIGSTOP)\nimport time\ntime.sleep(60)",
        "print('next')",
        timeout=2,
    )
    assert "KeyboardInterrupt" in stopped
    assert after.strip() == "next"


def run_as_nbgrader(*sources: str, timeout: int) -> tuple[str, list[str]]:
    """``sources`` through the notebook server's ``Execute`` preprocessor: the error that
    ended it, and each cell's outputs."""
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    error = ""
    try:
        Execute(timeout=timeout, kernel_manager_class=ForkingKernelManager).preprocess(notebook, {})
    except DeadKernelError as raised:
        error = str(raised)
    outputs = [
        "".join(o.get("text", "") or o.get("ename", "") for o in cell.outputs)
        for cell in notebook.cells
    ]
    return error, outputs


def test_an_interrupted_cell_that_answers_lets_the_next_one_run(fork_server):
    error, (stuck, after) = run_as_nbgrader(
        "import time\ntime.sleep(60)", "print('next')", timeout=2
    )
    assert error == "" and "KeyboardInterrupt" in stuck and after.strip() == "next"


def test_a_kernel_that_ignores_the_interrupt_is_shut_down_after_one_more_cell_time(fork_server):
    """Without the shutdown each later cell waited out its own time-out (each got a
    CellTimeoutError): the notebook held its worker up to the run's limit."""
    ignoring = "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass"
    error, (_, *later) = run_as_nbgrader(ignoring, *["print('next')"] * 10, timeout=2)
    assert error == UNANSWERED
    assert [o for o in later if o] == []  # no later cell was sent to wait out its time


def test_killing_the_fork_server_costs_only_that_kernel(fork_server):
    first = fork_server.pid
    # (checked first: a kernel started otherwise would kill the test process)
    run(f"import os, signal\nif os.getppid() == {first}: os.kill({first}, signal.SIGKILL)")
    assert fork_server.process.wait(timeout=10) == -signal.SIGKILL
    (parent,) = run("import os\nprint(os.getppid())")
    assert int(parent) == fork_server.pid != first  # a new fork server took over


def test_without_a_fork_server_kernels_are_started_as_usual(monkeypatch):
    monkeypatch.setattr(kernels, "_fork_server", None)
    (parent,) = run("import os\nprint(os.getppid())")
    assert int(parent) == os.getpid()


@pytest.mark.parametrize(
    "options", [[], ["-Xfrozen_modules=off"], ["-X", "frozen_modules=off", "-Xdev"]]
)
def test_kernel_commands_of_this_interpreter_are_forked(options):
    rest = ["-m", "ipykernel_launcher", "-f", "connection.json"]
    assert forkable([sys.executable, *options, *rest]) == rest


@pytest.mark.parametrize(
    "command",
    [
        ["/usr/bin/env", "python", "-m", "ipykernel_launcher", "-f", "c.json"],
        [sys.executable, "-E", "-m", "ipykernel_launcher", "-f", "c.json"],
        [sys.executable, "-m", "other_kernel", "-f", "c.json"],
        [],
    ],
)
def test_other_kernel_commands_are_launched(command):
    assert forkable(command) is None


def test_the_same_program_in_another_environment_is_launched(tmp_path):
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "python").symlink_to(os.path.realpath(sys.executable))
    assert forkable([str(tmp_path / "bin" / "python"), "-m", "ipykernel_launcher"]) is None


def test_a_fork_server_whose_imports_start_threads_refuses_once_and_kernels_launch(
    tmp_path, monkeypatch
):
    (tmp_path / "threaded.py").write_text(
        "import threading, time\nthreading.Thread(target=time.sleep, args=(60,), daemon=True)"
        ".start()\n"
    )
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    server = ForkServerClient(["threaded"])
    monkeypatch.setattr(kernels, "_fork_server", server)
    try:
        with pytest.raises(ForkServerError, match="started threads"):
            server.running()
        assert server.process is None
        (parent,) = run("import os\nprint(os.getppid())")
        assert int(parent) == os.getpid()  # launched as usual, no second attempt to fork
        assert server.process is None
    finally:
        server.stop()


def test_a_fork_server_that_cannot_start_is_not_started_again():
    server = ForkServerClient(["--no-such-option"])  # its argument parser exits at once
    with pytest.raises(ForkServerError, match="did not start"):
        server.running()
    assert server.process is None
    with pytest.raises(ForkServerError, match="did not start"):
        server.fork(["-m", "ipykernel_launcher"], {}, "/")
    assert server.process is None


def test_course_imports_are_read_from_the_code_cells(tmp_path):
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell("%matplotlib inline\nimport numpy as np\nfrom a.b import c"),
        nbformat.v4.new_markdown_cell("import not_code"),
        nbformat.v4.new_code_cell("from . import relative\nimport numpy, os.path\nthis is not("),
        nbformat.v4.new_code_cell("import json"),
    ]
    path = tmp_path / "n.ipynb"
    nbformat.write(notebook, str(path))
    assert course_imports([path]) == ["numpy", "a.b", "json"]
