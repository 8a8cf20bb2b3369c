"""A student's session in a real browser: every student notebook opened fresh in JupyterLab
and run with Run > Run All Cells, then one again with the masters' solutions filled in; and
nbgrader's Formgrader on a fresh copy of the course.  (What every solved notebook shows, no
standard error, no waiting example, every figure, is checked on the masters' own run under
nbval: ``conftest.py`` at the top of the repository.)

What a student must see: every cell runs (a fresh notebook stops nowhere; its only error is
the closing summary, shown as its message alone), the mathematics rendered by MathJax with
no error, every figure drawn. Screenshots go to ``build/browser/``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from browser_lab import ROOT, SCREENSHOTS

pytestmark = pytest.mark.browser

NOTEBOOKS = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
FIGURE = re.compile(r"plt\.show\(\)|figure_8_[45]\(|plot_swell\(")
"""What draws a figure in a code cell of the course."""

KERNEL_IDLE = """() => {
    const widget = window.jupyterapp && window.jupyterapp.shell.currentWidget;
    const kernel = widget && widget.sessionContext && widget.sessionContext.session
        && widget.sessionContext.session.kernel;
    return Boolean(kernel && kernel.status === 'idle' && widget.content.widgets.length);
}"""

RUN_FINISHED = """() => {
    const widget = window.jupyterapp.shell.currentWidget;
    const code = widget.content.widgets.filter(cell => cell.model.type === 'code');
    const last = code[code.length - 1];
    return widget.sessionContext.session.kernel.status === 'idle'
        && last.model.executionCount !== null && last.model.executionCount !== undefined;
}"""

RENDERED = """() => ({
    images: document.querySelectorAll('.jp-OutputArea-output img').length,
    math: document.querySelectorAll('.jp-MarkdownCell mjx-container').length,
    mathErrors: document.querySelectorAll('mjx-merror').length,
    rawMath: Array.from(document.querySelectorAll('.jp-MarkdownCell .jp-RenderedMarkdown'))
        .map(node => node.innerText)
        .filter(text => /\\$\\$|\\\\frac|\\\\partial|\\\\mathbf/.test(text)).length,
})"""


def run_all(browser, lab, path: str, shot: str) -> tuple[dict, dict]:
    """Open ``path`` in a new tab, run all cells, save, and return the notebook as saved
    and what the page rendered."""
    page = browser.new_page()
    try:
        page.goto(f"{lab.url}/lab/tree/{path}?reset")
        page.wait_for_function(KERNEL_IDLE, timeout=90_000, polling=250)
        page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
        page.wait_for_function(RUN_FINISHED, timeout=240_000, polling=250)
        page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
        page.wait_for_function(
            "() => !window.jupyterapp.shell.currentWidget.context.model.dirty", timeout=30_000
        )
        rendered = page.evaluate(RENDERED)
        page.evaluate("() => window.jupyterapp.shell.currentWidget.content.scrollToItem(0)")
        page.screenshot(path=str(SCREENSHOTS / f"{shot}-top.png"))
        page.evaluate(
            "() => { const n = window.jupyterapp.shell.currentWidget.content;"
            " n.scrollToItem(n.widgets.length - 1); }"
        )
        page.screenshot(path=str(SCREENSHOTS / f"{shot}-end.png"))
        page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.shutdown()")
    finally:
        page.close()
    saved = json.loads((lab.root / path).read_text(encoding="utf-8"))
    return saved, rendered


def outputs(cell: dict, kind: str) -> list[dict]:
    return [o for o in cell.get("outputs", []) if o.get("output_type") == kind]


def text_of(cell: dict) -> str:
    parts = [o.get("text", "") for o in outputs(cell, "stream")]
    for o in outputs(cell, "execute_result") + outputs(cell, "display_data"):
        parts.append("".join(o.get("data", {}).get("text/plain", "")))
    return "".join("".join(p) if isinstance(p, list) else p for p in parts)


def has_image(cell: dict) -> bool:
    return any("image/png" in o.get("data", {}) for o in cell.get("outputs", []))


def check_math(rendered: dict, name: str) -> None:
    assert rendered["math"] > 0, f"{name}: no mathematics rendered by MathJax"
    assert rendered["mathErrors"] == 0, f"{name}: MathJax reported errors"
    assert rendered["rawMath"] == 0, f"{name}: TeX left unrendered in a Markdown cell"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_a_fresh_notebook_runs_through(browser, course_lab, name):
    """Run All on the released notebook: every cell runs; tasks not attempted say so in one
    line; worked cells that need a task say which; figures that need no task are drawn;
    the closing summary fails with its message only."""
    saved, rendered = run_all(browser, course_lab, f"fresh/{name}", f"{Path(name).stem}-fresh")
    code = [c for c in saved["cells"] if c["cell_type"] == "code"]
    assert all(c.get("execution_count") for c in code), f"{name}: a cell did not run"
    *body, last = code
    for cell in body:
        assert not outputs(cell, "error"), f"{name}: {''.join(cell['source'])[:80]!r} raised"
        assert "Traceback" not in text_of(cell)
        if FIGURE.search("".join(cell["source"])):
            waiting = "This example waits for" in text_of(cell)
            assert has_image(cell) or waiting, f"{name}: a figure is missing"
    (error,) = outputs(last, "error")
    assert error["ename"] == "TasksNotDone"
    assert error["traceback"] == error["evalue"].splitlines(), "the summary shows a traceback"
    images = sum(has_image(c) for c in code)
    assert rendered["images"] >= images, f"{name}: {images} figures saved, fewer rendered"
    check_math(rendered, name)


SOLVED_IN_THE_BROWSER = ("07_reverse_mode.ipynb",)
"""The solved notebook run in the browser: the one whose worked examples need the most tasks
(the evaluation traces of Figures 8.4 and 8.5)."""


@pytest.mark.parametrize("name", SOLVED_IN_THE_BROWSER)
def test_a_solved_notebook_runs_through(browser, course_lab, name):
    """Run All with the masters' solutions filled in: no error anywhere, every self-check
    passes, every figure is drawn and rendered, and the summary says that all tasks pass."""
    saved, rendered = run_all(browser, course_lab, f"solved/{name}", f"{Path(name).stem}-solved")
    code = [c for c in saved["cells"] if c["cell_type"] == "code"]
    assert all(c.get("execution_count") for c in code), f"{name}: a cell did not run"
    for cell in code:
        source = "".join(cell["source"])
        assert not outputs(cell, "error"), f"{name}: {source[:80]!r} raised"
        assert not [o for o in outputs(cell, "stream") if o.get("name") == "stderr"], (
            f"{name}: {source[:80]!r} wrote to standard error"
        )
        assert "waits for" not in text_of(cell) and "[FAIL]" not in text_of(cell)
        if FIGURE.search(source):
            assert has_image(cell), f"{name}: the figure of {source[:60]!r} is missing"
    assert "tasks pass their self-checks" in text_of(code[-1])
    images = sum(has_image(c) for c in code)
    assert rendered["images"] >= images, f"{name}: {images} figures saved, fewer rendered"
    check_math(rendered, name)


def test_formgrader_lists_the_assignments_on_the_first_try(browser, formgrader_lab):
    """JupyterLab started in a fresh copy of course/ (no gradebook yet): the Formgrader page
    shows every assignment at its first load."""
    assignments = sorted(p.name for p in (ROOT / "course" / "source").iterdir() if p.is_dir())
    assert not (formgrader_lab.root / "gradebook.db").exists()
    page = browser.new_page()
    try:
        response = page.goto(f"{formgrader_lab.url}/formgrader")
        assert response is not None and response.ok
        for name in assignments:
            page.get_by_text(name, exact=True).first.wait_for(timeout=60_000)
        page.screenshot(path=str(SCREENSHOTS / "formgrader.png"))
    finally:
        page.close()
