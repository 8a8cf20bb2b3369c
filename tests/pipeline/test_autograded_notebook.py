"""The autograded notebook Formgrader shows the instructor: graded cells show the trusted
verdicts, and nothing the student's notebook holds runs in the instructor's browser, while
an honest notebook reads the same."""

from __future__ import annotations

import base64
import json
import re
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nbconvert import HTMLExporter
from nbconvert.filters.markdown_mistune import markdown2html_mistune
from nbgrader.server_extensions.formgrader import handlers
from traitlets.config import Config

from grader.pipeline.outputs import notebooks
from grader.pipeline.outputs.notebooks import CLEAN, TAGS, annotate, shown
from grader.pipeline.results import SubmissionResult

ROOT = Path(__file__).resolve().parents[2]
MASTERS = sorted((ROOT / "course" / "source").glob("*/*.ipynb"))
CHROMIUM = Path("/usr/bin/chromium")

NO_RESULT = SubmissionResult("s", "a", "a.ipynb", "graded", [], [], [], 0.0)

SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" onload="steal(\'svg\')"><script>steal()</script></svg>'
)

MARKDOWN = {
    "mermaid": "```mermaid\n</pre><img src=x onerror=\"steal('mermaid')\">\n```",
    "tilde mermaid": "~~~mermaid\n<img src=x onerror=steal('tilde')>\n~~~",
    "unterminated mermaid": "text\n```mermaid\n</pre><img src=x onerror=steal('open')>",
    "nested fences": "````\n```\n````\n```mermaid\n<img src=x onerror=steal('nested')>\n```",
    "raw fence": "```{=html}\n<img src=x onerror=steal('rawfence')>\n```",
    "fence info": "```python\" onmouseover=\"steal('info')\nx = 1\n```",
    "html block": "<div>\n<script>steal('block')</script>\n</div>\n\n<iframe src=javascript:x>",
    "inline html": "my answer <img src=x onerror=steal('inline')> $a<b$",
    "comment": "<!-- x --><img src=x onerror=steal('comment')>",
    "inline maths": "$<script>steal('maths')</script>$ and $</pre><img src=x onerror=steal()>$",
    "display maths": "$$\n<img src=x onerror=steal('display')>\n$$",
    "environment": r"\begin{equation}<img src=x onerror=steal('env')>\end{equation}",
    "escaped dollar": r"\$<img src=x onerror=steal('dollar')>$",
    "backticks": "`` ` ``<img src=x onerror=steal('ticks')>`` ` ``",
    "open code": "`<img src=x onerror=steal('opencode')>\n`",
    "links": "[a](javascript:steal()) [b](JaVaScRiPt:steal()) [c](vbscript:steal())"
    " [d](data:text/html,steal) [e](&#106;avascript:steal()) [f](javascript&#58;steal())",
    "reference": "[a][r]\n\n[r]: javascript:steal('reference')",
    "autolink": "<javascript:steal('autolink')>",
    "images": "![a](javascript:steal()) ![b](data:image/svg+xml;base64,"
    + base64.b64encode(SVG.encode()).decode()
    + ') ![c](x "\\" onerror=steal(\'title\') x=")',
    "entities": "&lt;img src=x onerror=steal('entity')&gt; `&lt;script&gt;steal()&lt;/script&gt;`",
    "attachments": "![s](attachment:s.svg) ![h](attachment:h.html)",
}
"""Markdown of a hostile student, each calling (or linking to) ``steal``."""


def _output(kind: str, **fields) -> dict:
    rich = kind not in ("stream", "error")
    return {"output_type": kind, **fields} | ({"metadata": {}} if rich else {})


OUTPUTS = [
    _output("display_data", data={"text/markdown": MARKDOWN["mermaid"], "text/plain": "x"}),
    _output("display_data", data={"text/markdown": MARKDOWN["html block"] + MARKDOWN["links"]}),
    _output("display_data", data={"text/html": "<script>steal('html')</script>"}),
    _output("display_data", data={"application/javascript": "steal('js')"}),
    _output("display_data", data={"image/svg+xml": SVG}),
    _output("display_data", data={"application/vnd.jupyter.widget-view+json": {"model_id": "m"}}),
    _output("display_data", data={"text/latex": r"$\href{javascript:steal()}{x}$"}),
    _output(
        "display_data",
        data={"image/png": "AAAA\"><img src=x onerror=steal('png')>"},
        metadata={"filenames": {"image/png": "javascript:steal('filename')"}},
    ),
    _output("stream", name="stdout", text="<img src=x onerror=steal('stream')>"),
    _output(
        "error",
        ename="<b onmouseover=steal()>E</b>",
        evalue="<img src=x onerror=steal('error')>",
        traceback=["<img src=x onerror=steal('traceback')>"],
    ),
    _output("execute_result", data={"text/plain": "42"}, execution_count=1),
]
"""Outputs a student's code could leave."""

MALFORMED = [
    _output("execute_result", data={"text/plain": "x"}, execution_count="<img onerror=steal()>"),
    _output("made_up", data={"text/html": "<script>steal('unknown')</script>"}),
]
"""Outputs that no kernel leaves (nbconvert refuses to render them), which student code can
write into the executed notebook."""


def hostile_notebook(malformed: bool = True) -> str:
    """An executed notebook in which the student tried every way we know into the page;
    ``malformed``: also with fields of the wrong form."""
    cells = [
        {"cell_type": "markdown", "id": f"m{i}", "metadata": {}, "source": text}
        for i, text in enumerate(MARKDOWN.values())
    ]
    cells[-1]["attachments"] = {
        "s.svg": {"image/svg+xml": base64.b64encode(SVG.encode()).decode()},
        "h.html": {"text/html": base64.b64encode(b"<script>steal()</script>").decode()},
    }
    cells.append(
        {
            "cell_type": "code",
            "id": "code",
            "execution_count": "<img src=x onerror=steal('count')>" if malformed else 1,
            "metadata": {
                "tags": ["\" onmouseover=\"steal('tag')"],
                "magics_language": "<img src=x onerror=steal('lexer')>",
            },
            "outputs": OUTPUTS + (MALFORMED if malformed else []),
            "source": "display(HTML(...))",
        }
    )
    answer = {"grade_id": "x\" autofocus onfocus=\"steal('grade_id')", "solution": True}
    cells.append(
        {"cell_type": "markdown", "id": "answer", "metadata": {"nbgrader": answer}, "source": "a"}
    )
    for mimetype in ("text/html", ""):
        cells.append(
            {
                "cell_type": "raw",
                "id": f"raw{len(cells)}",
                "metadata": {"raw_mimetype": mimetype, "format": mimetype},
                "source": "<iframe src=\"javascript:steal('raw')\"></iframe>",
            }
        )
    metadata = {
        "title": "</title><script>steal('title')</script>",
        "language_info": {"name": "<img src=x onerror=steal('language')>"},
        "widgets": {
            "application/vnd.jupyter.widget-state+json": {"state": {"m": {"x": "</script>"}}}
        },
    }
    notebook = {"cells": cells, "metadata": metadata, "nbformat": 4, "nbformat_minor": 5}
    return json.dumps(notebook)


def formgrader() -> HTMLExporter:
    """The exporter of Formgrader's manual-grading view, as its extension configures it."""
    config = Config()
    config.HTMLExporter.template_name = "formgrade"
    config.HTMLExporter.extra_template_basedirs = [handlers.template_path]
    return HTMLExporter(config=config)


EXPORTERS = {"formgrader": formgrader, "nbconvert": HTMLExporter}

RESOURCES = {
    "assignment_id": "a",
    "notebook_id": "n",
    "submission_id": "s",
    "index": 0,
    "total": 1,
    "base_url": "",
    "student": "st",
    "last_name": "l",
    "first_name": "f",
    "notebook_path": "/p",
}


def page(notebook: nbformat.NotebookNode, exporter: str = "formgrader") -> str:
    return EXPORTERS[exporter]().from_notebook_node(notebook, resources=dict(RESOURCES))[0]


ACTIVE_TAGS = {"script", "iframe", "frame", "object", "embed", "svg", "math", "style", "link"}
ACTIVE_TAGS |= {"meta", "base", "form", "template", "textarea"}
HARMLESS_URL = re.compile(r"(https?:|mailto:|#|data:image/(png|jpeg|gif|webp);)", re.I)
URLS = {"href", "src", "action", "formaction", "xlink:href", "data", "poster", "background"}


class ActiveParts(HTMLParser):
    """What a page holds that a browser would run or load, or that mentions the student's
    ``steal``: elements that run or load, handlers, URLs of other schemes, diagrams."""

    def __init__(self) -> None:
        super().__init__()
        self.found: Counter[str] = Counter()
        self._tag = ""

    def handle_starttag(self, tag, attrs):
        self._tag = tag
        if tag in ACTIVE_TAGS:
            self.found[f"<{tag}>"] += 1
        for name, value in attrs:
            value = value or ""
            if name.startswith("on") or "steal" in value:
                self.found[f"<{tag} {name}={value}>"] += 1
            elif name in URLS and value and not HARMLESS_URL.match(value):
                self.found[f"<{tag} {name}={value}>"] += 1
            elif name == "class" and "mermaid" in value.lower():
                self.found[f"<{tag} class={value}>"] += 1

    def handle_data(self, data):
        if self._tag in ACTIVE_TAGS and "steal" in data:
            self.found[f"<{self._tag}>{data}"] += 1

    def handle_endtag(self, tag):
        self._tag = ""


def active(html: str) -> Counter[str]:
    parser = ActiveParts()
    parser.feed(html)
    return parser.found


def added(notebook: nbformat.NotebookNode, exporter: str) -> Counter[str]:
    """The active parts of ``notebook``'s page that the page of an empty notebook lacks."""
    return active(page(notebook, exporter)) - active(page(nbformat.v4.new_notebook(), exporter))


@pytest.mark.parametrize("exporter", sorted(EXPORTERS))
def test_nothing_a_student_wrote_runs_in_formgraders_page(exporter):
    notebook = annotate(hostile_notebook(), NO_RESULT)
    assert added(notebook, exporter) == Counter()
    text = " ".join(words(page(notebook, exporter)))
    assert "my answer <img src=x onerror=steal('inline')> $a<b$" in text  # shown as text
    assert "</pre><img src=x onerror=\"steal('mermaid')\">" in text
    assert "42" in text  # plain outputs stay
    untreated = " ".join(added(nbformat.reads(hostile_notebook(malformed=False), 4), exporter))
    markers = ["'mermaid'", "'tilde'", "'open'", "'nested'", "javascript:steal()", "'html'"]
    markers += ["onfocus=steal('grade_id')"] if exporter == "formgrader" else []
    for marker in markers:
        assert marker in untreated  # the check sees what an untreated notebook would run


def test_markdown_is_shown_by_the_renderer_with_its_html_as_text():
    assert shown("a <b>c</b> `x<y` $p<q$ *e*") == (
        "<div><p>a &lt;b&gt;c&lt;/b&gt; <code>x&lt;y</code> $p&lt;q$ <em>e</em></p>&#10;</div>"
    )
    assert shown("```mermaid\ngraph LR; A-->B\n```") == (
        "<div><pre><code>graph LR; A--&gt;B&#10;</code></pre>&#10;</div>"
    )
    assert 'href="https://example.org"' in shown("[doc](https://example.org)")
    links = shown("[doc](javascript:steal()) <javascript:steal()>")
    assert re.findall(r'href="([^"]*)"', links) == ["#harmful-link", "#harmful-link"]


class Elements(HTMLParser):
    """The elements of a piece of HTML, with their attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, list]] = []

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, attrs))


PIECES = ["<", ">", "&", "&lt;", "&#10;", "\n", "\n\n", "\r", "\u2028", "`", "```", "~~~", "$"]
PIECES += ["$$", "\\", "[", "](", ")", "![", "<javascript:", "javascript:", "data:", "mermaid"]
PIECES += ["{=html}", "<div>", "</pre>", "<img src=x onerror=steal()>", "<script>", '"', "'"]
PIECES += ["    ", "> ", "- ", "1. ", "| a |", "|---|", "*", "_", "#", "<!--", "-->", "]]>"]
PIECES += [r"\begin{equation}", r"\end{equation}", "a", " "]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=40).map("".join))
def test_any_markdown_renders_to_harmless_elements_only(markdown):
    """Whatever the student writes, Formgrader's renderer makes of it only allowlisted
    elements, with only allowlisted attributes and values."""
    elements = Elements()
    elements.feed(markdown2html_mistune(shown(markdown)))
    for tag, attrs in elements.found:
        assert tag in TAGS
        for name, value in attrs:
            assert name in CLEAN and CLEAN[name](value or "") == (value or ""), (tag, name)


def test_markdown_past_the_notebooks_budget_is_shown_as_its_text(monkeypatch):
    """Markdown written to be slow to render (``*_`` repeated renders at tens of kilobytes a
    second) costs the grading process a bounded time per notebook: past ``MARKDOWN_BUDGET``
    characters, cells and outputs are shown as preformatted text, never rendered."""
    rendered = []
    monkeypatch.setattr(notebooks, "_rendered", lambda text, pictures: rendered.append(text) or "")
    slow = "*_" * 20_000
    cells = [nbformat.v4.new_markdown_cell(slow + str(i)) for i in range(12)]
    code = nbformat.v4.new_code_cell("display(Markdown(x))", execution_count=1)
    code.outputs = [nbformat.v4.new_output("display_data", {"text/markdown": slow})]
    executed = nbformat.v4.new_notebook(cells=[*cells, code])
    kept = annotate(nbformat.writes(executed), NO_RESULT)
    assert sum(map(len, rendered)) <= notebooks.MARKDOWN_BUDGET
    assert len(rendered) == notebooks.MARKDOWN_BUDGET // len(cells[0].source)
    shown_as_text = [c for c in kept.cells[len(rendered) :] if c.cell_type == "markdown"]
    assert shown_as_text and all(c.source.startswith("<div><pre>*_*_") for c in shown_as_text)
    (output,) = kept.cells[-1].outputs
    assert output.data["text/markdown"].startswith("<div><pre>*_*_")


def test_outputs_past_the_notebooks_budget_are_counted_not_shown():
    code = nbformat.v4.new_code_cell("for i in range(6000): display(i)", execution_count=1)
    code.outputs = [
        nbformat.v4.new_output("display_data", {"text/plain": str(i)}) for i in range(6000)
    ]
    later = nbformat.v4.new_code_cell("print(1)", execution_count=2)
    later.outputs = [nbformat.v4.new_output("stream", name="stdout", text="1\n")]
    kept = annotate(nbformat.writes(nbformat.v4.new_notebook(cells=[code, later])), NO_RESULT)
    first, second = (c.outputs for c in kept.cells)
    assert len(first) == notebooks.OUTPUTS_BUDGET + 1
    assert first[-1].text == "[1,000 more outputs, not shown]\n"
    assert [o.text for o in second] == ["[1 more output, not shown]\n"]


def test_pictures_stay_when_they_are_raster_images():
    png = base64.b64encode(b"\x89PNG\r\n\x1a\n").decode()
    attachments = {"p.png": {"image/png": png}, "s.svg": {"image/svg+xml": png}}
    markdown = shown("![plot](attachment:p.png) ![drawing](attachment:s.svg)", attachments)
    assert f'<img src="data:image/png;base64,{png}" alt="plot">' in markdown
    assert '<img src="data:image/png;base64," alt="drawing">' in markdown  # its alt text shows
    assert "<pre>" in shown("![gone](attachment:missing.png)")  # shown as its text


def test_formgraders_fields_stay_when_they_are_plain():
    cell = nbformat.v4.new_markdown_cell("answer")
    cell.metadata["nbgrader"] = {"grade_id": "ex_8_1.derivation", "points": 2, "solution": True}
    cell.metadata["tags"] = ["written", "<b>"]
    code = nbformat.v4.new_code_cell("1 + 1", execution_count=3)
    code.outputs = [
        nbformat.v4.new_output("execute_result", {"text/plain": "2"}, execution_count=3)
    ]
    notebook = nbformat.v4.new_notebook(cells=[cell, code])
    notebook.metadata["language_info"] = {"name": "python", "codemirror_mode": {"name": "ipython"}}
    kept = annotate(nbformat.writes(notebook), NO_RESULT)
    assert kept.cells[0].metadata == {"nbgrader": cell.metadata.nbgrader, "tags": ["written"]}
    assert kept.cells[1].execution_count == 3 and kept.cells[1].outputs == code.outputs
    assert kept.metadata == {"language_info": {"name": "python"}}
    assert 'id="ex_8_1.derivation-comment"' in page(kept)


class Text(HTMLParser):
    """The words of a page, as a browser shows them (MathJax reads the same), and its
    elements but links and divisions (a heading's anchor, the block of cleaned Markdown)."""

    def __init__(self) -> None:
        super().__init__()
        self.words: list[str] = []
        self.elements: Counter[str] = Counter()
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        self._skip += tag in ("script", "style")
        if tag not in ("a", "div"):
            self.elements[tag] += 1

    def handle_endtag(self, tag):
        self._skip -= tag in ("script", "style")

    def handle_data(self, data):
        if not self._skip:
            self.words += data.replace("¶", " ").split()


def reading(html: str) -> Text:
    text = Text()
    text.feed(html)
    return text


def words(html: str) -> list[str]:
    return reading(html).words


@pytest.mark.parametrize("master", MASTERS, ids=lambda path: path.stem)
def test_an_honest_notebook_reads_the_same(master):
    original = nbformat.read(master, as_version=4)
    kept = annotate(master.read_text(encoding="utf-8"), NO_RESULT)
    shown, honest = reading(page(kept)), reading(page(original))
    assert shown.words == honest.words  # maths and code included
    assert shown.elements == honest.elements  # emphasis, tables, lists, code blocks


def test_no_script_runs_in_chromium(tmp_path):
    """Formgrader's page of the treated hostile notebook, opened in Chromium: nothing calls
    ``steal`` (the page of the untreated notebook does)."""
    if not CHROMIUM.exists():
        pytest.skip(f"Chromium is not installed at {CHROMIUM}")
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    pages = {
        "treated": page(annotate(hostile_notebook(), NO_RESULT)),
        "untreated": page(nbformat.reads(hostile_notebook(malformed=False), 4)),
    }
    stolen = {}

    def visit() -> None:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"]
            )
            try:
                for name, html in pages.items():
                    (tmp_path / f"{name}.html").write_text(html, encoding="utf-8")
                    tab = browser.new_page()
                    tab.add_init_script("window.stolen = []; window.steal = x => stolen.push(x);")
                    tab.goto((tmp_path / f"{name}.html").as_uri(), wait_until="load")
                    tab.wait_for_timeout(500)
                    stolen[name] = tab.evaluate("window.stolen")
            finally:
                browser.close()

    # In a thread of its own: the browser tests' session-wide Playwright, when this worker ran
    # them first, holds the main thread's event loop, inside which the sync API cannot start.
    with ThreadPoolExecutor(1) as thread:
        thread.submit(visit).result()
    assert stolen["treated"] == []
    assert "mermaid" in stolen["untreated"]
