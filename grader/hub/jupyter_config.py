"""Which configuration each account's JupyterLab reads.

Every server runs the hub's environment, so its ``etc/jupyter`` is everyone's configuration:
nbgrader's course id and exchange, and nbgrader's instructor tools switched off (Formgrader,
Create Assignment, the course list: their JupyterLab plugins and their server extensions),
as nbgrader documents for students; the Assignment List stays.  The instructor's own
``~/.jupyter``, read over it, switches them on again (and lets JupyterLab show Formgrader in
its frame) and names the course folder.  The
course's ``nbgrader_config.py`` in that folder is read over both by every nbgrader command
the instructor runs.
"""

from __future__ import annotations

import json
from pathlib import Path

from grader.hub.accounts import chown_tree, home
from grader.hub.settings import HubSettings

INSTRUCTOR_PLUGINS = (
    "@jupyter/nbgrader:formgrader",
    "@jupyter/nbgrader:create-assignment",
    "@jupyter/nbgrader:course-list",
)
INSTRUCTOR_SERVER_EXTENSIONS = (
    "nbgrader.server_extensions.formgrader",
    "nbgrader.server_extensions.course_list",
)
SAME_ORIGIN_FRAMES = "frame-ancestors 'self'"
"""JupyterHub's servers forbid every frame ("frame-ancestors 'none'"), and JupyterLab shows
Formgrader in one: the instructor's server allows frames of its own pages."""
QUIET_LAB = {
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False}
}
"""No news or update checks: a course server may have no way out."""


def write_environment_config(settings: HubSettings, course_id: str) -> None:
    """Everyone's configuration, in the hub's environment."""
    etc = settings.prefix / "etc" / "jupyter"
    _write(
        etc / "nbgrader_config.py",
        '"""nbgrader for every account of the course hub (made by grader.hub)."""\n\n'
        "c = get_config()  # noqa: F821\n"
        f"c.CourseDirectory.course_id = {course_id!r}\n"
        f"c.Exchange.root = {str(settings.exchange)!r}\n",
    )
    _instructor_tools(etc, enabled=False)
    _write(
        settings.prefix / "share" / "jupyter" / "lab" / "settings" / "overrides.json",
        json.dumps(QUIET_LAB, indent=1),
    )


def write_instructor_config(settings: HubSettings, course: Path) -> None:
    """The instructor's ``~/.jupyter``: the instructor tools, and the course folder."""
    name = settings.instructor.name
    jupyter = home(name) / ".jupyter"
    _instructor_tools(jupyter, enabled=True)
    _write(
        jupyter / "nbgrader_config.py",
        '"""The instructor\'s course (made by grader.hub)."""\n\n'
        "c = get_config()  # noqa: F821\n"
        f"c.CourseDirectory.root = {str(course)!r}\n",
    )
    chown_tree(jupyter, name)


def _instructor_tools(folder: Path, enabled: bool) -> None:
    _write(
        folder / "labconfig" / "page_config.json",
        json.dumps({"disabledExtensions": {p: not enabled for p in INSTRUCTOR_PLUGINS}}, indent=1),
    )
    server = {"jpserver_extensions": {e: enabled for e in INSTRUCTOR_SERVER_EXTENSIONS}}
    if enabled:
        server["tornado_settings"] = {"headers": {"Content-Security-Policy": SAME_ORIGIN_FRAMES}}
    _write(folder / "jupyter_server_config.json", json.dumps({"ServerApp": server}, indent=1))


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    path.chmod(0o644)
