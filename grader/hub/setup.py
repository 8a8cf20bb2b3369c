"""Everything a course hub needs before JupyterHub starts, in order: the environment, the
accounts and their passwords, the shared exchange, everyone's and the instructor's Jupyter
configuration, and the instructor's course, released.  Run as root; each step leaves what
already exists as it is, so a second ``make hub`` starts at once."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from grader.hub.accounts import ensure_account, passwords
from grader.hub.config import write_config
from grader.hub.course import course_id, make_course
from grader.hub.environment import build
from grader.hub.jupyter_config import write_environment_config, write_instructor_config
from grader.hub.settings import HubSettings

NEEDS_ROOT = (
    "the course hub must be started as root: it makes a Unix account for the instructor and "
    "each student, and JupyterHub starts each user's JupyterLab as that user (sudo make hub)"
)


def prepare(settings: HubSettings, project: Path, log=sys.stderr) -> dict[str, str]:
    """Make everything the hub of ``settings`` needs, from the repository ``project``;
    return the accounts' passwords."""
    if os.geteuid() != 0:
        raise PermissionError(NEEDS_ROOT)
    build(settings.prefix, project, log)
    for account in settings.accounts:
        if ensure_account(account):
            print(f"made the account {account.name} ({account.full_name})", file=log)
    make_folders(settings)
    secrets = passwords(settings)
    write_environment_config(settings, course_id(project / "course"))
    course = make_course(settings, project / "course")
    write_instructor_config(settings, course)
    write_config(settings)
    return secrets


def make_folders(settings: HubSettings) -> None:
    """The hub's state folder (open to every account), its private folder (root only) and
    the exchange: world-writable, as nbgrader requires (its release checks for mode 777)."""
    settings.state.mkdir(parents=True, exist_ok=True)
    settings.state.chmod(0o755)
    settings.private.mkdir(exist_ok=True)
    settings.private.chmod(0o700)
    settings.exchange.mkdir(exist_ok=True)
    settings.exchange.chmod(0o777)
