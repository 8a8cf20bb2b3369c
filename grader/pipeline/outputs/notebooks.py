"""The executed notebook as the course keeps it (``autograded/``): what nbgrader's run
printed, except that each graded test cell shows the trusted verdict, so that the
Formgrader shows an instructor what the student is told."""

from __future__ import annotations

import nbformat

from grader.messages import verdict_text
from grader.pipeline.results import SubmissionResult


def annotate(text: str, result: SubmissionResult) -> nbformat.NotebookNode | None:
    """The executed notebook ``text`` with its graded test cells' outputs replaced by the
    verdicts of ``result``; None when it is not a notebook."""
    try:
        notebook = nbformat.reads(text, as_version=4)
    except Exception:  # noqa: BLE001 - written where student code ran: anything can be wrong
        return None
    verdicts = {i.grade_id: i for i in result.items if not i.written}
    for cell in notebook.cells:
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        item = verdicts.get(gid) if isinstance(gid, str) else None
        if item is None or cell.cell_type != "code" or item.verdict is None:
            continue
        text = verdict_text(item.verdict)
        if item.note:
            text += f"\n  {item.note}"
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text + "\n")]
    return notebook
