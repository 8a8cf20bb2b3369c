"""Build the student edition: nbgrader ``generate_assignment`` on every master, then the
released notebooks copied to ``notebooks/``.

    python -m grader.release            # regenerate notebooks/ from course/source/
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from nbgrader.apps import NbGraderAPI
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

ROOT = Path(__file__).resolve().parent.parent
COURSE = ROOT / "course"
STUDENT_EDITION = ROOT / "notebooks"


def course_config(course: Path = COURSE) -> Config:
    """The course's ``nbgrader_config.py``, with its root pointed at ``course``."""
    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    config.CourseDirectory.root = str(course)
    config.CourseDirectory.db_url = "sqlite:///" + str(course / "gradebook.db")
    return config


def assignments(course: Path = COURSE) -> list[str]:
    """The assignments: one folder per master notebook under ``source/``."""
    return sorted(p.name for p in (course / "source").iterdir() if p.is_dir())


def generate_release(course: Path = COURSE) -> list[Path]:
    """Run nbgrader's ``generate_assignment`` for every assignment; return the released
    notebooks."""
    api = NbGraderAPI(config=course_config(course))
    released = []
    for name in assignments(course):
        result = api.generate_assignment(name, force=True, create=True)
        if not result["success"]:
            raise RuntimeError(f"nbgrader could not release {name}:\n{result['log']}")
        released.extend(sorted((course / "release" / name).glob("*.ipynb")))
    return released


def build_student_edition(course: Path = COURSE, out: Path = STUDENT_EDITION) -> list[Path]:
    """Release every assignment and copy its notebooks to ``out``."""
    out.mkdir(exist_ok=True)
    written = []
    for notebook in generate_release(course):
        target = out / notebook.name
        shutil.copyfile(notebook, target)
        written.append(target)
    return written


def main() -> int:
    for path in build_student_edition():
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
