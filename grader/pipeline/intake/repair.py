"""Read a submitted notebook defensively and restore the master's graded structure.

Students' notebooks arrive malformed, with graded cells deleted, duplicated or turned into
another type, with megabytes of output.  ``repair`` turns whatever arrived into a notebook
nbgrader can autograde -- every graded cell of the master present exactly once, with its
type -- and lists what it had to change, so the report can say so.  A file that is not a
notebook at all cannot be repaired; it raises ``UnreadableSubmission`` with the reason, as
does a name that is not a regular file (``intake.files``).
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from grader.pipeline.intake.files import UnreadableSubmission, read_submitted

__all__ = ["Repaired", "UnreadableSubmission", "parse_submission", "read_submission", "repair"]

MAX_SOURCE_CHARACTERS = 2_000_000
MAX_CELLS = 2_000
"""What the cells of a submission may hold, code and text together (outputs aside), and how
many cells it may have.  The grader reads every statement to build the grading runs, and
every cell to show the notebook, in the process that grades the whole class: a bound here
bounds the time one submission can take of it.  A notebook of the course holds well under
100,000 characters, in about a hundred cells."""
MAX_DEPTH = 100
"""How deeply the JSON of a submission may nest lists and objects.  Reading it, validating
it and copying it recurse once or more per level, in the grader's process, whose recursion
is bounded (1,000 frames by default): a bound here keeps every later step of the grading
within it.  A notebook saved by Jupyter nests about ten levels, a little more for the JSON
of a rich output."""
TOO_DEEP = (
    f"its JSON is nested too deeply to read (more than {MAX_DEPTH} levels; a notebook saved "
    "by Jupyter nests about ten): submit the notebook as Jupyter saved it"
)


@dataclass
class Repaired:
    notebook: nbformat.NotebookNode
    problems: list[str] = field(default_factory=list)


def _meta(cell) -> dict:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def _grade_id(cell) -> str | None:
    gid = _meta(cell).get("grade_id")
    return gid if isinstance(gid, str) else None


def read_submission(path: Path) -> nbformat.NotebookNode:
    """Parse ``path`` as a version-4 notebook or raise ``UnreadableSubmission`` (also when
    it is not a regular file or is over the size cap)."""
    return parse_submission(read_submitted(path))


def parse_submission(data: bytes) -> nbformat.NotebookNode:
    """Parse the bytes of a submitted file (``intake.files.read_submitted``) as a
    version-4 notebook or raise ``UnreadableSubmission``."""
    text = data.decode("utf-8", errors="replace")
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as error:
        raise UnreadableSubmission(f"the file is not valid JSON ({error})") from None
    except RecursionError:  # nested deeper than the parser's recursion reaches
        raise UnreadableSubmission(TOO_DEEP) from None
    if not isinstance(raw, dict) or not isinstance(raw.get("cells"), list):
        raise UnreadableSubmission("the file is JSON but not a notebook (no list of cells)")
    if _nested_deeper(raw, MAX_DEPTH):
        raise UnreadableSubmission(TOO_DEEP)
    if len(raw["cells"]) > MAX_CELLS:
        raise UnreadableSubmission(
            f"it has {len(raw['cells']):,} cells, more than the grader reads ({MAX_CELLS:,}; a "
            "notebook of the course has about a hundred): remove the empty or repeated cells "
            "and submit again"
        )
    try:
        nb = nbformat.reads(text, as_version=4)
    except Exception as error:  # noqa: BLE001 - nbformat raises many kinds
        raise UnreadableSubmission(f"the notebook cannot be read ({error})") from None
    for cell in nb.cells:
        if cell.get("cell_type") not in ("code", "markdown", "raw"):
            raise UnreadableSubmission(f"a cell has an unknown type {cell.get('cell_type')!r}")
        if not isinstance(cell.get("source", ""), str):
            cell["source"] = "".join(cell.get("source", []))
    held = sum(len(cell.get("source", "")) for cell in nb.cells)
    if held > MAX_SOURCE_CHARACTERS:
        raise UnreadableSubmission(
            f"its cells hold {held:,} characters of code and text, more than the grader reads "
            f"({MAX_SOURCE_CHARACTERS:,}; a notebook of the course holds under 100,000): "
            "remove what does not belong in it and submit again"
        )
    return nb


def _nested_deeper(value: dict | list, limit: int) -> bool:
    """Whether the parsed JSON ``value`` nests lists and objects more than ``limit`` levels
    deep (a list or an object is one level), read level by level, without recursion."""
    level, depth = [value], 0
    while level:
        depth += 1
        if depth > limit:
            return True
        level = [
            child
            for item in level
            for child in (item.values() if isinstance(item, dict) else item)
            if isinstance(child, (dict, list))
        ]
    return False


def repair(
    submitted: nbformat.NotebookNode, master: nbformat.NotebookNode, release: nbformat.NotebookNode
) -> Repaired:
    """``submitted`` with the graded structure of ``master`` restored.

    ``release`` is the student edition of the master: a deleted solution cell comes back
    blank from it (its task then scores nothing); a deleted or altered test cell is put
    back by nbgrader itself from the master, so here it only needs to exist.
    """
    problems = []
    master_cells = {gid: c for c in master.cells if (gid := _grade_id(c))}
    release_cells = {gid: c for c in release.cells if (gid := _grade_id(c))}
    kept, seen = [], set()
    for cell in submitted.cells:
        gid = _grade_id(cell)
        if gid is None:
            if "nbgrader" in cell.get("metadata", {}):
                del cell.metadata["nbgrader"]
            kept.append(cell)
            continue
        if gid not in master_cells:
            problems.append(f"a cell claims the unknown grade id {gid!r}: treated as ordinary")
            del cell.metadata["nbgrader"]
            kept.append(cell)
            continue
        if gid in seen:
            problems.append(f"graded cell {gid!r} appears more than once: the copy was ignored")
            del cell.metadata["nbgrader"]
            kept.append(cell)
            continue
        seen.add(gid)
        wanted = master_cells[gid].cell_type
        if cell.cell_type != wanted:
            problems.append(f"graded cell {gid!r} was changed from {wanted} to {cell.cell_type}")
            cell = _retyped(cell, wanted)
        kept.append(cell)
    for position, (gid, master_cell) in enumerate(master_cells.items()):
        if gid in seen:
            continue
        problems.append(f"graded cell {gid!r} was deleted: restored from the assignment")
        restored = copy.deepcopy(release_cells.get(gid, master_cell))
        kept.insert(_insert_at(kept, master, gid, position), restored)
    submitted.cells = kept
    for cell in submitted.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    return Repaired(submitted, problems)


def _retyped(cell, cell_type: str):
    meta = copy.deepcopy(cell.metadata)
    if cell_type == "code":
        new = nbformat.v4.new_code_cell(cell.source)
    else:
        new = nbformat.v4.new_markdown_cell(cell.source)
    new.metadata = meta
    return new


def _insert_at(cells: list, master, gid: str, position: int) -> int:
    """Where a missing graded cell goes: after the cell that precedes it in the master."""
    order = [_grade_id(c) for c in master.cells if _grade_id(c)]
    previous = order[: order.index(gid)]
    for i in range(len(cells) - 1, -1, -1):
        if _grade_id(cells[i]) in previous:
            return i + 1
    return min(position, len(cells))
