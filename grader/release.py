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
    create_gradebook(course / "gradebook.db")
    api = NbGraderAPI(config=course_config(course))
    released = []
    for name in assignments(course):
        result = api.generate_assignment(name, force=True, create=True)
        if not result["success"]:
            raise RuntimeError(f"nbgrader could not release {name}:\n{result['log']}")
        released.extend(sorted((course / "release" / name).glob("*.ipynb")))
    return released


def create_gradebook(path: Path) -> None:
    """Make the course's gradebook if there is none, as nbgrader makes one (its tables, and
    the table of its schema's version holding the newest of its migrations), but in this
    process: nbgrader asks a new ``alembic`` process for that version, seconds of start-up
    for every new course, and a failure where ``alembic`` is not on PATH."""
    if path.exists():
        return
    import nbgrader
    from alembic.script import ScriptDirectory
    from nbgrader.api import Base
    from sqlalchemy import create_engine, text

    migrations = Path(nbgrader.__file__).parent / "alembic"
    head = ScriptDirectory(str(migrations)).get_current_head()
    engine = create_engine(f"sqlite:///{path}")
    try:
        Base.metadata.create_all(bind=engine)
        with engine.begin() as db:
            db.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"))
            db.execute(text("INSERT INTO alembic_version (version_num) VALUES (:v)"), {"v": head})
    finally:
        engine.dispose()


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
