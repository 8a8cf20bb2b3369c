"""The master notebooks as committed: no outputs, unique grade ids, graded cells worth what
their checks are worth.  That each runs from top to bottom and that every graded cell earns
its full points is checked by nbval on ``course/source`` (see the repository's
``conftest.py``), one execution of each master."""

from __future__ import annotations

import re

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
