"""A JupyterHub for the course on this machine (``make hub``, as root)::

    python -m grader.hub [--prefix /opt/backprop-hub] [--state /srv/backprop-hub] [--port 8000]

Prepares the hub (``setup.py``), starts it on 127.0.0.1, prints its address and the accounts
with their passwords, and runs until Ctrl-C, which stops it with every server it started.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path

from grader.hub.accounts import AccountsFailed
from grader.hub.course import CourseFailed
from grader.hub.environment import EnvironmentFailed
from grader.hub.process import Hub, HubFailed
from grader.hub.settings import HubSettings
from grader.hub.setup import prepare

PROJECT = Path(__file__).resolve().parents[2]


def main(argv: list[str] | None = None) -> int:
    defaults = HubSettings()
    parser = argparse.ArgumentParser(prog="python -m grader.hub", description=__doc__)
    parser.add_argument("--prefix", type=Path, default=defaults.prefix, help="its environment")
    parser.add_argument("--state", type=Path, default=defaults.state, help="exchange, database")
    parser.add_argument("--port", type=int, default=defaults.port)
    args = parser.parse_args(argv)
    settings = HubSettings(
        prefix=args.prefix.resolve(),
        state=args.state.resolve(),
        port=args.port,
        hub_port=args.port + 81,
        proxy_api_port=args.port + 1,
    )
    try:
        secrets = prepare(settings, PROJECT)
    except PermissionError as error:
        print(f"make hub: {error}", file=sys.stderr)
        return 2
    except (AccountsFailed, CourseFailed, EnvironmentFailed) as error:
        print(f"make hub: {error}", file=sys.stderr)
        return 1
    for stop in (signal.SIGINT, signal.SIGTERM):  # Ctrl-C, also where SIGINT was ignored
        signal.signal(stop, _interrupt)
    hub = Hub(settings, settings.private / "jupyterhub.log")
    try:
        hub.wait_ready()
        print(welcome(settings, secrets), flush=True)
        while hub.process.poll() is None:
            time.sleep(1)
        print(f"JupyterHub stopped:\n{hub.tail()}", file=sys.stderr)
        return 1
    except HubFailed as error:
        print(f"make hub: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nstopping the hub and every server it started ...", file=sys.stderr)
        return 0
    finally:
        hub.stop()


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def welcome(settings: HubSettings, secrets: dict[str, str]) -> str:
    """What the hub prints when it is up: where it is, who can log in, what to do."""
    instructor = settings.instructor
    lines = [
        "",
        f"The course hub is at {settings.url}/ (log in with an account below).",
        "",
        f"  {'account':<14}{'password':<16}role",
        f"  {instructor.name:<14}{secrets[instructor.name]:<16}instructor "
        f"(Formgrader; the course is ~/{settings.course_folder})",
    ]
    for student in settings.students:
        password = secrets[student.name]
        lines.append(f"  {student.name:<14}{password:<16}student ({student.full_name})")
    lines += [
        "",
        "Students: Nbgrader > Assignment List: fetch, work, submit; later, fetch feedback.",
        f"Instructor, in a terminal of JupyterLab: cd ~/{settings.course_folder}, then",
        "  grader collect && grader autograde && grader feedback",
        f"Exchange: {settings.exchange}   Log: {settings.private / 'jupyterhub.log'}",
        "Ctrl-C stops the hub and every server it started.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
