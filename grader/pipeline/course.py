"""The nbgrader course folder, as the pipeline sees it."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import nbformat

GRADE_CALL = re.compile(r"""\bgrade\(\s*["']([A-Za-z0-9_]+)["']\s*,\s*([A-Za-z_][\w.]*)\s*\)""")


@dataclass(frozen=True)
class GradedItem:
    """A graded cell of a master: a test cell calling ``grade(check, function)``, or a
    manually graded written answer (``check`` empty)."""

    grade_id: str
    points: float
    check: str = ""
    function: str = ""

    @property
    def written(self) -> bool:
        return not self.check


@dataclass(frozen=True)
class Assignment:
    name: str
    master_path: Path

    @cached_property
    def master(self) -> nbformat.NotebookNode:
        return nbformat.read(str(self.master_path), as_version=4)

    @property
    def notebook(self) -> str:
        return self.master_path.name

    @cached_property
    def items(self) -> list[GradedItem]:
        items = []
        for cell in self.master.cells:
            meta = cell.metadata.get("nbgrader", {})
            if not meta.get("grade"):
                continue
            if cell.cell_type == "code" and not meta.get("solution"):
                found = GRADE_CALL.search(cell.source)
                if not found:
                    raise ValueError(f"{self.name}: graded cell {meta['grade_id']} calls no check")
                items.append(GradedItem(meta["grade_id"], float(meta["points"]), *found.groups()))
            else:
                items.append(GradedItem(meta["grade_id"], float(meta["points"])))
        return items

    @property
    def max_points(self) -> float:
        return sum(item.points for item in self.items)


def without_solutions(master: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The master with every solution region emptied and every model answer replaced by
    nbgrader's prompt; hidden tests stay.  nbgrader releases it into exactly the same student
    edition, checksums included, so it can stand in for the master when grading."""
    stripped = copy.deepcopy(master)
    for cell in stripped.cells:
        meta = cell.metadata.get("nbgrader", {})
        if not meta.get("solution"):
            continue
        if cell.cell_type == "code":
            kept, inside = [], False
            for line in cell.source.splitlines():
                if "### END SOLUTION" in line:
                    inside = False
                if not inside:
                    kept.append(line)
                if "### BEGIN SOLUTION" in line:
                    inside = True
            cell.source = "\n".join(kept)
        else:
            cell.source = "YOUR ANSWER HERE"
    return stripped


GENERATED = (
    "gradebook.db",
    "release",
    "submitted",
    "autograded",
    "feedback",
    "grading",
    "reports",
    "exchange",
    ".grader",
)
"""What nbgrader and the pipeline make in a course folder (the rest is its source)."""


class Course:
    """``root`` holds ``nbgrader_config.py``, ``source/<assignment>/<assignment>.ipynb`` and,
    once the pipeline has run, ``submitted/``, ``autograded/``, ``grading/`` (trusted
    results), ``feedback/`` and ``reports/``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()
        if not (self.root / "source").is_dir():
            raise FileNotFoundError(f"{self.root} is not a course folder: it has no source/")

    @cached_property
    def assignments(self) -> dict[str, Assignment]:
        found = {}
        for folder in sorted((self.root / "source").iterdir()):
            notebooks = sorted(folder.glob("*.ipynb")) if folder.is_dir() else []
            if len(notebooks) == 1:
                found[folder.name] = Assignment(folder.name, notebooks[0])
        return found

    def assignment(self, name: str) -> Assignment:
        try:
            return self.assignments[name]
        except KeyError:
            known = ", ".join(self.assignments) or "none"
            raise KeyError(f"no assignment {name!r} in {self.root} (known: {known})") from None

    @property
    def submitted(self) -> Path:
        return self.root / "submitted"

    @property
    def gradebook(self) -> Path:
        """nbgrader's gradebook (the one file that holds every grade, hand grades too)."""
        return self.root / "gradebook.db"

    @property
    def db_url(self) -> str:
        """The gradebook as nbgrader's ``db_url`` names it."""
        return "sqlite:///" + str(self.gradebook)

    def release_path(self, assignment: Assignment) -> Path:
        return self.root / "release" / assignment.name / assignment.notebook

    def result_path(self, student: str, assignment: str) -> Path:
        return self.root / "grading" / student / assignment / "result.json"

    def students(self) -> list[str]:
        if not self.submitted.is_dir():
            return []
        return sorted(p.name for p in self.submitted.iterdir() if p.is_dir())
