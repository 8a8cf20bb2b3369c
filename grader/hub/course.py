"""The instructor's course on the hub: a copy of the repository's course (its masters, or
those of the hub's ``assignments``, its ``nbgrader_config.py`` and Formgrader templates) in
the instructor's home, readable by the instructor alone, released to the exchange by the
instructor's own ``grader release`` (which also makes the gradebook, so Formgrader's first
page shows at once).

Everything the instructor runs, runs as the instructor: ``as_instructor`` gives the
environment of a login in the hub's environment, with the exchange the hub's servers get.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from traitlets.config.loader import PyFileConfigLoader

from grader.hub.accounts import SYSTEM_PATH, chown_tree, home
from grader.hub.settings import HubSettings


class CourseFailed(RuntimeError):
    """The instructor's course could not be made or released."""


def course_id(course: Path) -> str:
    """The course id the course's ``nbgrader_config.py`` sets."""
    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    return str(config.CourseDirectory.course_id)


def instructor_environment(settings: HubSettings) -> dict[str, str]:
    """The environment of the instructor's commands, as in a terminal of their JupyterLab."""
    name = settings.instructor.name
    return {
        "HOME": str(home(name)),
        "USER": name,
        "LOGNAME": name,
        "LANG": "C.UTF-8",
        "PATH": f"{settings.prefix / 'bin'}:{SYSTEM_PATH}",
        "COURSE_EXCHANGE": str(settings.exchange),
    }


def as_instructor(settings: HubSettings, command: list[str], cwd: Path, **options):
    """Run ``command`` as the instructor (``runuser``) in ``cwd``; return the finished
    process (output captured as text unless ``options`` say otherwise)."""
    runuser = shutil.which("runuser", path=SYSTEM_PATH)
    env = instructor_environment(settings)
    full = [runuser, "-u", settings.instructor.name, "--", "env", "-i"]
    full += [f"{k}={v}" for k, v in env.items()]
    options.setdefault("capture_output", True)
    options.setdefault("text", True)
    return subprocess.run([*full, *command], cwd=cwd, check=False, **options)


def make_course(settings: HubSettings, repository_course: Path) -> Path:
    """The instructor's course folder, copied from ``repository_course`` and released to
    the exchange the first time; an existing one (the instructor's work) is left as it is."""
    course = home(settings.instructor.name) / settings.course_folder
    if course.exists():
        return course
    partial = course.with_name(f".{course.name}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints")
    shutil.copy2(repository_course / "nbgrader_config.py", partial)
    shutil.copytree(repository_course / "formgrader", partial / "formgrader", ignore=ignore)
    masters = repository_course / "source"
    for name in settings.assignments or sorted(p.name for p in masters.iterdir() if p.is_dir()):
        shutil.copytree(masters / name, partial / "source" / name, ignore=ignore)
    os.chmod(partial, 0o700)
    chown_tree(partial, settings.instructor.name)
    partial.rename(course)
    grader = str(settings.prefix / "bin" / "grader")
    done = as_instructor(settings, [grader, "release"], course)
    if done.returncode:
        shutil.rmtree(course)
        raise CourseFailed(f"grader release as {settings.instructor.name}:\n{done.stderr[-3000:]}")
    return course
