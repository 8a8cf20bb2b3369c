"""The executed notebook as the course keeps it (``autograded/``): what nbgrader's run
printed, except that each graded test cell shows the trusted verdict, so that the
Formgrader shows an instructor what the student is told, and that no output can run code in
the instructor's browser: Formgrader renders these notebooks on the course's own server,
where a script could read the course's files and set grades.  Outputs that a browser would
execute or interpret as a page (HTML, JavaScript, SVG, widgets) are replaced by their plain
text; pictures, text and LaTeX stay.  A Markdown cell's raw HTML is shown as text (its ``<``
written as an entity, which a browser shows, and MathJax reads, as ``<``), and a raw cell is
marked as plain text."""

from __future__ import annotations

import re

import nbformat

from grader.messages import verdict_text
from grader.pipeline.results import SubmissionResult

SAFE = ("text/plain", "text/latex", "text/markdown", "image/png", "image/jpeg", "image/gif")
"""What a notebook may show the instructor as it is: nothing a browser runs.  (Markdown is
rendered by Formgrader with raw HTML stripped.)"""


def inert(output):
    """``output`` without what a browser would run: its rich data kept only in the
    ``SAFE`` kinds, or replaced by a note when it had none of them."""
    data = output.get("data")
    if not isinstance(data, dict):
        return output
    kept = {kind: value for kind, value in data.items() if kind in SAFE}
    if not kept:
        kept = {"text/plain": "[an output that a browser would run was removed]"}
    output["data"] = kept
    return output


VERBATIM = re.compile(r"(```.*?```|`[^`\n]*`|\$\$.*?\$\$|\$[^$\n]*\$)", re.DOTALL)
"""Code and mathematics, which the Markdown renderer escapes itself."""


def without_html(markdown: str) -> str:
    """``markdown`` with every ``<`` outside code and mathematics written as ``&lt;``: no
    tag of it is HTML any more, and the text reads the same."""
    parts = VERBATIM.split(markdown)
    return "".join(part if i % 2 else part.replace("<", "&lt;") for i, part in enumerate(parts))


def annotate(text: str, result: SubmissionResult) -> nbformat.NotebookNode | None:
    """The executed notebook ``text`` with its graded test cells' outputs replaced by the
    verdicts of ``result``; None when it is not a notebook."""
    try:
        notebook = nbformat.reads(text, as_version=4)
    except Exception:  # noqa: BLE001 - written where student code ran: anything can be wrong
        return None
    verdicts = {i.grade_id: i for i in result.items if not i.written}
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = [inert(output) for output in cell.get("outputs", [])]
        elif cell.cell_type == "markdown":
            cell.source = without_html(cell.source)
        else:
            cell.metadata["format"] = "text/plain"
        for attachment in cell.get("attachments", {}).values():
            for kind in [k for k in attachment if k not in SAFE]:
                del attachment[kind]
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        item = verdicts.get(gid) if isinstance(gid, str) else None
        if item is None or cell.cell_type != "code" or item.verdict is None:
            continue
        text = verdict_text(item.verdict)
        if item.note:
            text += f"\n  {item.note}"
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text + "\n")]
    return notebook
