"""The running hub: JupyterHub (which starts its proxy and the users' servers) as a process
of its own, waited for until it answers, and stopped with everything it started."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

from grader.hub.settings import HubSettings


class HubFailed(RuntimeError):
    """JupyterHub stopped or did not answer (the message ends with its log)."""


class Hub:
    """JupyterHub of ``settings`` (configured by ``grader.hub.config.write_config``), its
    log in ``log``."""

    def __init__(self, settings: HubSettings, log: Path) -> None:
        self.settings, self.log_path = settings, log
        self.log = open(log, "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [
                str(settings.prefix / "bin" / "jupyterhub"),
                "-f",
                str(settings.private / "jupyterhub_config.py"),
            ],
            cwd=settings.private,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 120) -> None:
        """Return once the hub answers through its proxy."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise HubFailed(f"JupyterHub stopped:\n{self.tail()}")
            try:
                urllib.request.urlopen(f"{self.settings.url}/hub/api", timeout=2)
                return
            except OSError:
                time.sleep(0.3)
        raise HubFailed(f"JupyterHub did not answer within {timeout:.0f} s:\n{self.tail()}")

    def tail(self, lines: int = 40) -> str:
        self.log.flush()
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, timeout: float = 60) -> None:
        """Stop JupyterHub (on SIGTERM it stops the users' servers and the proxy), then
        whatever of its process group is left."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.log.close()
