"""Kernels forked from the fork server (``fork_server``), for nbgrader's executor.

Runs inside the sandbox, in the notebook server.  ``ForkingKernelManager`` is a
jupyter_client kernel manager whose kernels are forked by the fork server instead of started
as new interpreters; nbgrader uses it when the configuration names it
(``Execute.kernel_manager_class``).  Everything else (the connection file, the ports,
interrupting, shutting down, the dead-kernel check) is jupyter_client's own.  A kernel
command that is not the standard ipykernel one, or a fork server that cannot start, falls
back to an ordinary launch.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from typing import Any

from jupyter_client import AsyncKernelManager
from jupyter_client.provisioning import LocalProvisioner

FORK_SERVER_START_SECONDS = 120
LAUNCHER = ("-m", "ipykernel_launcher")


class ForkServerError(RuntimeError):
    """The fork server could not start or answer."""


class ForkServerClient:
    """The notebook server's handle on its fork server, restarted if the previous one died
    (a student's kernel may have killed its parent).  It keeps the environment it was made
    in, so that a restart does not inherit a job's folders."""

    def __init__(self, modules: list[str], label: str = "") -> None:
        self.modules, self.label = modules, label
        self.env = dict(os.environ)
        self.process: subprocess.Popen | None = None
        self.ready = False
        self.unusable = ""  # why kernels cannot be forked here at all, once known

    def start(self) -> None:
        """Start importing now; the first ``fork`` waits for the imports to finish."""
        self.stop()
        self.process = subprocess.Popen(
            [sys.executable, "-s", "-m", "grader.sandboxed.fork_server"]
            + ["--label", self.label, *self.modules],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=self.env,
            cwd="/",  # read-only: nothing a job writes is imported at a restart
        )
        self.ready = False

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def fork(self, argv: list[str], env: dict[str, str], cwd: str) -> int:
        """Fork a kernel running ``python argv`` in ``cwd`` with ``env``; its pid."""
        process = self.running()
        request = json.dumps({"argv": argv, "env": env, "cwd": cwd})
        try:
            process.stdin.write((request + "\n").encode())
            process.stdin.flush()
            return int(self._answer(process, 30)["pid"])
        except (OSError, KeyError, TypeError, ValueError, ForkServerError) as error:
            self.stop()
            raise ForkServerError(f"the kernel fork server did not answer: {error}") from error

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def running(self) -> subprocess.Popen:
        """The fork server process, started if need be, once it has finished its imports."""
        if self.unusable:
            raise ForkServerError(self.unusable)
        if self.process is None or self.process.poll() is not None:
            self.start()
        if not self.ready:
            # A start that fails would fail again (no student code runs before it): once.
            try:
                answer = self._answer(self.process, FORK_SERVER_START_SECONDS)
                self.ready = answer["ready"] is True
                if not self.ready:
                    self.unusable = str(answer.get("reason", "the fork server refused"))
            except (OSError, KeyError, TypeError, ValueError, ForkServerError) as error:
                self.unusable = f"the kernel fork server did not start: {error}"
            if not self.ready:
                self.stop()
                raise ForkServerError(self.unusable)
        return self.process

    @staticmethod
    def _answer(process: subprocess.Popen, seconds: float) -> dict:
        ready, _, _ = select.select([process.stdout], [], [], seconds)
        line = process.stdout.readline() if ready else b""
        if not line:
            raise ForkServerError("no answer")
        return json.loads(line)


_fork_server: ForkServerClient | None = None
LAUNCHES: Counter[str] = Counter()
"""Kernels started by ``ForkingKernelManager`` since the caller last cleared it, by how:
``forked`` from the fork server or ``launched`` as a new interpreter."""


def use_fork_server(server: ForkServerClient | None) -> None:
    """Make ``ForkingKernelManager`` fork its kernels from ``server`` (None: launch them)."""
    global _fork_server
    _fork_server = server


class ForkedKernel:
    """The part of ``subprocess.Popen`` that jupyter_client uses, for a kernel that is not
    this process's child (the fork server reaps it)."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int) -> None:
        self.pid = pid

    def poll(self) -> int | None:
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return -signal.SIGKILL  # gone; its status went to the fork server
        except PermissionError:
            return None
        return None

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while (status := self.poll()) is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(f"kernel {self.pid}", timeout)
            time.sleep(0.02)
        return status

    def send_signal(self, signum: int) -> None:
        os.kill(self.pid, signum)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


def forkable(cmd: list[str]) -> list[str] | None:
    """The arguments for the fork server if ``cmd`` starts an IPython kernel with this
    interpreter (``python [-X option ...] -m ipykernel_launcher ...``), else None.  The
    ``-X`` options of ipykernel's own kernel spec only serve its debugger: they are dropped."""
    if not cmd or not _this_interpreter(cmd[0]):
        return None
    i = 1
    while i < len(cmd) and cmd[i].startswith("-X"):
        i += 1 if len(cmd[i]) > 2 else 2
    return list(cmd[i:]) if tuple(cmd[i : i + 2]) == LAUNCHER else None


def _this_interpreter(path: str) -> bool:
    """The same program, from the same environment (another virtual environment's
    ``python`` may link to the same program but sees other packages)."""
    ours = sys.executable
    return os.path.dirname(os.path.abspath(path)) == os.path.dirname(
        os.path.abspath(ours)
    ) and os.path.realpath(path) == os.path.realpath(ours)


class ForkProvisioner(LocalProvisioner):
    """A local provisioner that asks the fork server for the kernel process."""

    async def launch_kernel(self, cmd: list[str], **kwargs: Any):
        argv = forkable(cmd)
        if _fork_server is None or argv is None:
            return await self._launch(cmd, **kwargs)
        env = dict(kwargs.get("env") or os.environ)
        env["JPY_PARENT_PID"] = str(os.getpid())  # as jupyter_client's launcher sets it
        cwd = str(kwargs.get("cwd") or os.getcwd())
        try:
            pid = _fork_server.fork(argv, env, cwd)
        except ForkServerError:
            return await self._launch(cmd, **kwargs)
        LAUNCHES["forked"] += 1
        self.process = ForkedKernel(pid)
        self.pid = self.pgid = pid  # the child made itself a session (and group) leader
        self.cwd = cwd
        return self.connection_info

    async def _launch(self, cmd: list[str], **kwargs: Any):
        LAUNCHES["launched"] += 1
        return await super().launch_kernel(cmd, **kwargs)

    async def send_signal(self, signum: int) -> None:
        """jupyter_client's, and after an interrupt a SIGCONT to the kernel's group: a kernel
        that stopped itself (SIGSTOP) never sees the interrupt of a cell past its time, and
        would hold its job to the job's limit."""
        await super().send_signal(signum)
        if signum == signal.SIGINT and self.pgid:
            with contextlib.suppress(OSError):
                os.killpg(self.pgid, signal.SIGCONT)


class ForkingKernelManager(AsyncKernelManager):
    """jupyter_client's kernel manager, with kernels forked from the fork server."""

    async def _async_pre_start_kernel(self, **kw: Any):
        self.kernel_id = self.kernel_id or kw.pop("kernel_id", str(uuid.uuid4()))
        if self.provisioner is None:
            self.provisioner = ForkProvisioner(
                kernel_id=self.kernel_id, kernel_spec=self.kernel_spec, parent=self
            )
        return await super()._async_pre_start_kernel(**kw)
