"""The master notebooks: they run from top to bottom with their solutions, and every graded
cell earns its full points (nbgrader's own rule: no error, no stderr, partial credit from the
cell's value)."""

from __future__ import annotations

import re

import nbformat
from nbclient import NotebookClient
from nbgrader.utils import determine_grade
from notebook_files import MASTERS, nbgrader_meta, read

from grader.checks import get_check

GRADE_CALL = re.compile(r"""\bgrade\(\s*["']([a-z0-9_]+)["']""")


def test_there_are_masters():
    assert MASTERS, "no master notebooks under course/source"


def test_committed_without_outputs(master):
    for cell in read(master).cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, cell.source[:60]


def test_grade_ids_unique_everywhere():
    seen = {}
    for path in MASTERS:
        for cell in read(path).cells:
            gid = nbgrader_meta(cell).get("grade_id")
            if gid:
                assert gid not in seen, f"{gid} in {path.name} and {seen[gid]}"
                seen[gid] = path.name


def test_graded_cells_call_checks_worth_their_points(master):
    for cell in read(master).cells:
        meta = nbgrader_meta(cell)
        if meta.get("grade") and cell.cell_type == "code":
            names = GRADE_CALL.findall(cell.source)
            assert len(names) == 1, f"{meta['grade_id']}: one grade(...) call per graded cell"
            assert get_check(names[0]).points == meta["points"], meta["grade_id"]


def test_master_runs_and_earns_full_points(master):
    nb = read(master)
    NotebookClient(nb, timeout=300, resources={"metadata": {"path": str(master.parent)}}).execute()
    for cell in nb.cells:
        errors = [o for o in cell.get("outputs", []) if o.output_type == "error"]
        assert not errors, f"{master.name}: {cell.source[:80]!r} raised {errors[0].ename}"
        meta = nbgrader_meta(cell)
        if meta.get("grade") and cell.cell_type == "code":
            score, max_score = determine_grade(nbformat.from_dict(cell))
            assert score == max_score, f"{master.name}: {meta['grade_id']} scored {score}"
