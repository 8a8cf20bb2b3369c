"""The hub's environment: one Python environment every account can read and run, holding
JupyterHub, JupyterLab, nbgrader and this project (installed, not editable: no user needs to
read the repository), and the hub's proxy.

It is made with Debian's ``/usr/bin/python3`` in a world-readable folder (``/opt/backprop-hub``
for ``make hub``): the project's own ``.venv`` may run an interpreter under ``/root``, which
no other account can run.  The proxy is ``configurable-http-proxy`` from the npm registry,
run by the machine's Node.js: it is the proxy JupyterHub is made for and tested with, and no
package on PyPI ships it.  A fingerprint of the project's sources says when the environment
is out of date; only then is anything installed again.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

PYTHON = "/usr/bin/python3"
PROXY_PACKAGE = "configurable-http-proxy@5"
SOURCES = ("pyproject.toml", "autodiff", "grader")


class EnvironmentFailed(RuntimeError):
    """The environment could not be made (the message says what is missing)."""


def proxy_command(prefix: Path) -> Path:
    """The proxy's executable in the environment at ``prefix``."""
    return prefix / "proxy" / "node_modules" / ".bin" / "configurable-http-proxy"


def fingerprint(project: Path) -> str:
    """A digest of what the environment installs from ``project``."""
    digest = hashlib.sha256(PROXY_PACKAGE.encode())
    for name in SOURCES:
        path = project / name
        files = [path] if path.is_file() else sorted(path.rglob("*.py"))
        for file in files:
            digest.update(str(file.relative_to(project)).encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()


def build(prefix: Path, project: Path, log=sys.stderr) -> bool:
    """Make or update the environment at ``prefix`` from ``project``; return True when
    something was installed."""
    stamp = prefix / ".installed"
    wanted = fingerprint(project)
    if stamp.is_file() and stamp.read_text() == wanted and proxy_command(prefix).exists():
        return False
    for tool in (PYTHON, "npm", "node"):
        if not shutil.which(tool):
            raise EnvironmentFailed(
                f"{tool} is missing: the hub needs Debian's python3 (with python3-venv), "
                "Node.js and npm (apt-get install python3-venv nodejs npm)"
            )
    print(f"making the hub's environment in {prefix} (a few minutes the first time)", file=log)
    pip = [str(prefix / "bin" / "pip"), "install", "-q"]
    if not (prefix / "bin" / "python").exists():
        _run([PYTHON, "-m", "venv", str(prefix)])
        _run([*pip, "--upgrade", "pip"])
        _run([*pip, f"{project}[hub]"])
    else:
        _run([*pip, f"{project}[hub]"])
        _run([*pip, "--no-deps", "--force-reinstall", str(project)])  # same version, new code
    npm = ["npm", "install", "--loglevel=error", "--no-fund", "--no-audit"]
    _run([*npm, "--prefix", str(prefix / "proxy"), PROXY_PACKAGE], _node_environment())
    _readable(prefix)
    stamp.write_text(wanted)
    return True


SYSTEM_CERTIFICATES = ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt")


def _node_environment() -> dict[str, str]:
    """The environment for npm: Node.js trusts only the certificates it was built with, so on
    a network that inspects TLS (its authority known to the system's bundle alone) npm fails
    with SELF_SIGNED_CERT_IN_CHAIN; the system's bundle is added unless one is set already."""
    env = dict(os.environ)
    if "NODE_EXTRA_CA_CERTS" not in env:
        bundle = next((b for b in SYSTEM_CERTIFICATES if os.path.isfile(b)), None)
        if bundle:
            env["NODE_EXTRA_CA_CERTS"] = bundle
    return env


def _run(command: list[str], env: dict[str, str] | None = None) -> None:
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode:
        raise EnvironmentFailed(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")


def _readable(prefix: Path) -> None:
    """Let every account read the environment and run its programs (whatever the umask)."""
    prefix.chmod(0o755)
    for folder, folders, files in os.walk(prefix):
        for name in folders:
            path = os.path.join(folder, name)
            if not os.path.islink(path):
                os.chmod(path, os.stat(path).st_mode | 0o555)
        for name in files:
            path = os.path.join(folder, name)
            if not os.path.islink(path):
                mode = os.stat(path).st_mode
                os.chmod(path, mode | 0o444 | (0o111 if mode & 0o100 else 0))
