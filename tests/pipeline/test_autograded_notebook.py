"""The autograded notebook Formgrader shows the instructor: graded cells show the trusted
verdicts, and nothing the student's notebook holds runs in the instructor's browser."""

from __future__ import annotations

from html.parser import HTMLParser

import nbformat
from nbconvert import HTMLExporter

from grader.pipeline.outputs.notebooks import annotate, without_html
from grader.pipeline.results import SubmissionResult

ACTIVE = [
    "<script>steal()</script>",
    '<img src=x onerror="steal()">',
    '<svg onload="steal()"></svg>',
    '<iframe src="javascript:steal()"></iframe>',
]


def hostile_notebook() -> str:
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_markdown_cell("My answer: " + " ".join(ACTIVE) + " $a<b$"))
    code = nbformat.v4.new_code_cell("display(HTML(...))")
    code.outputs = [
        nbformat.v4.new_output("display_data", data={"text/html": ACTIVE[0], "text/plain": "x"}),
        nbformat.v4.new_output("display_data", data={"application/javascript": "steal()"}),
        nbformat.v4.new_output("display_data", data={"image/svg+xml": ACTIVE[2]}),
        nbformat.v4.new_output("execute_result", data={"text/plain": "42"}, execution_count=1),
    ]
    nb.cells.append(code)
    raw = nbformat.v4.new_raw_cell(ACTIVE[3])
    raw.metadata["format"] = "text/html"
    nb.cells.append(raw)
    return nbformat.writes(nb)


class ActiveParts(HTMLParser):
    """The tags and attributes of a page that mention the student's ``steal()``, and the
    scripts' texts that do: what a browser would run."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._script = False

    def handle_starttag(self, tag, attrs):
        self._script = tag == "script"
        for name, value in attrs:
            if value and "steal" in value:
                self.found.append(f"<{tag} {name}={value}>")

    def handle_data(self, data):
        if self._script and "steal" in data:
            self.found.append(f"<script>{data}")

    def handle_endtag(self, tag):
        self._script = False


def test_nothing_a_student_wrote_runs_in_formgraders_page():
    result = SubmissionResult("s", "a", "a.ipynb", "graded", [], [], [], 0.0)
    notebook = annotate(hostile_notebook(), result)
    html, _ = HTMLExporter().from_notebook_node(notebook)
    parser = ActiveParts()
    parser.feed(html)
    assert parser.found == []
    assert "My answer: &lt;script&gt;steal()" in html  # shown as text
    assert "42" in html  # plain outputs stay
    unsafe = ActiveParts()
    unsafe.feed(HTMLExporter().from_notebook_node(nbformat.reads(hostile_notebook(), 4))[0])
    assert unsafe.found  # the check sees what an untreated notebook would run


def test_markdown_reads_the_same_without_its_html():
    assert without_html("a <b>c</b> `x<y` $p<q$") == "a &lt;b>c&lt;/b> `x<y` $p<q$"
