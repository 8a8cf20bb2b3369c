"""Where the notebooks are, and how the notebook tests read them (a module of its own, so
that the tests import it by a name no other test folder uses)."""

from __future__ import annotations

from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "course" / "source"
STUDENT_EDITION = ROOT / "notebooks"
MASTERS = sorted(SOURCE.glob("*/*.ipynb"))


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(str(path), as_version=4)


def nbgrader_meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {})
