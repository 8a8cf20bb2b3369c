"""nbgrader's exchange as the course's own commands see it: where it is and under which
course id, releasing the assignments to it and the feedback through it.

The configuration is read as nbgrader reads it: the Jupyter configuration folders (a hub's
environment, ``~/.jupyter``), then the course's ``nbgrader_config.py`` over them.  On one
machine that puts the exchange in ``course/exchange/``; on a hub, in the folder shared by the
hub's users (see README.md, "Running the course on JupyterHub").
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from jupyter_core.paths import jupyter_config_path
from nbgrader.apps import NbGraderAPI
from traitlets.config import Config
from traitlets.config.loader import JSONFileConfigLoader, PyFileConfigLoader

from grader.pipeline.course import Course

FEEDBACK_KEYS = ("timestamp.txt", "submission_secret.txt")
"""What ``nbgrader release_feedback`` needs beside a page: the files of a submission that
came through the exchange."""


class ExchangeFailed(RuntimeError):
    """nbgrader could not release to the exchange (its log says why)."""


@dataclass(frozen=True)
class Exchange:
    """The exchange folder and the course id under which the course uses it."""

    root: Path
    course_id: str

    @property
    def inbound(self) -> Path:
        return self.root / self.course_id / "inbound"


def nbgrader_config(course: Course) -> Config:
    """nbgrader's configuration for ``course``: the Jupyter configuration folders, lowest
    priority first, then the course's own file, with the course's root and gradebook."""
    config = Config()
    for folder in [*reversed(jupyter_config_path()), str(course.root)]:
        for loader in (PyFileConfigLoader, JSONFileConfigLoader):
            suffix = ".py" if loader is PyFileConfigLoader else ".json"
            name = "nbgrader_config" + suffix
            if os.path.isfile(os.path.join(folder, name)):
                config.merge(loader(name, path=folder).load_config())
    config.CourseDirectory.root = str(course.root)
    config.CourseDirectory.db_url = course.db_url
    return config


def exchange_of(course: Course) -> Exchange:
    """Where ``course`` exchanges files with its students."""
    config = nbgrader_config(course)
    root = config.Exchange.get("root", "/usr/local/share/nbgrader/exchange")
    course_id = config.CourseDirectory.get("course_id", "")
    if not course_id:
        raise ValueError(f"{course.root}: nbgrader_config.py sets no CourseDirectory.course_id")
    return Exchange(Path(root), course_id)


def release_assignments(course: Course, names: list[str]) -> None:
    """``nbgrader release_assignment --force`` for each of ``names`` (already generated):
    students see the new release in their Assignment List."""
    config = nbgrader_config(course)
    config.ExchangeReleaseAssignment.force = True
    api = NbGraderAPI(config=config)
    for name in names:
        _check(api.release_assignment(name), f"release {name} to the exchange")


def release_feedback(course: Course, pages: list[Path]) -> list[tuple[str, str]]:
    """``nbgrader release_feedback`` for each submission page among ``pages`` whose
    submission came through the exchange; return the (student, assignment) released."""
    feedback = course.root / "feedback"
    chosen = sorted(
        {
            (page.parent.parent.name, page.parent.name)
            for page in pages
            if page.parent.parent.parent == feedback
            and all((page.parent / key).is_file() for key in FEEDBACK_KEYS)
        }
    )
    if not chosen:
        return []
    api = NbGraderAPI(config=nbgrader_config(course))
    for student, assignment in chosen:
        _check(
            api.release_feedback(assignment, student),
            f"release the feedback of {student} on {assignment}",
        )
    return chosen


def _check(outcome: dict, what: str) -> None:
    if not outcome.get("success"):
        log = (outcome.get("log") or outcome.get("error") or "").strip()
        raise ExchangeFailed(f"nbgrader could not {what}:\n{log}")
