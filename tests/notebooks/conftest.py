"""Shared fixtures of the notebook tests: the masters and the student edition."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "course" / "source"
STUDENT_EDITION = ROOT / "notebooks"
MASTERS = sorted(SOURCE.glob("*/*.ipynb"))


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(str(path), as_version=4)


def nbgrader_meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


@pytest.fixture(params=MASTERS, ids=[p.stem for p in MASTERS])
def master(request) -> Path:
    return request.param
