"""What a student meets in the JupyterLab of ``make lab``, in headless Chromium at a
laptop's width: nbgrader's student tools and not the instructor's; one message per
self-check, wrapped as prose (no line broken mid-word by the output area); a wrong answer
typed into a solution cell named with its cause; a solution cell that fails to run named
as such; Validate's complaint about a task never attempted saying so.
"""

from __future__ import annotations

import re
import shutil
import urllib.error
import urllib.request

import pytest
from browser_lab import ROOT, SCREENSHOTS, STUDENT_LAB, Lab
from test_browser import KERNEL_IDLE, RUN_FINISHED

pytestmark = pytest.mark.browser

LAPTOP = {"width": 1100, "height": 900}
"""A laptop's browser window with JupyterLab's file browser open: a narrow output area."""

NOTEBOOK = "02_two_layer_network.ipynb"
WIDE = "05_hessian.ipynb"  # the longest names: its printed lines wrapped mid-word

SOFT_WRAPS = """() => Array.from(document.querySelectorAll('.jp-CodeCell'))
    .filter(cell => cell.querySelector('.jp-InputArea').innerText.includes('self_check('))
    .flatMap(cell => Array.from(cell.querySelectorAll('.jp-OutputArea-output pre')))
    .map(pre => {
        const height = parseFloat(getComputedStyle(pre).lineHeight);
        const lines = pre.innerText.replace(/\\n$/, '').split('\\n').length;
        return {text: pre.innerText, lines,
                shown: Math.round(pre.getBoundingClientRect().height / height)};
    })
    .filter(output => output.shown > output.lines)"""
"""The self-check outputs whose lines the output area breaks (more lines shown than
printed)."""

TASK_OUTPUTS = """() => Array.from(document.querySelectorAll('.jp-CodeCell'))
    .filter(cell => cell.querySelector('.jp-InputArea').innerText.includes('self_check('))
    .map(cell => ({
        outputs: cell.querySelectorAll('.jp-OutputArea-child').length,
        outBoxes: cell.querySelectorAll('.jp-OutputArea-executeResult').length,
        text: cell.querySelector('.jp-OutputArea').innerText,
    }))"""

RUN_CELLS = """async (cells) => {
    const panel = window.jupyterapp.shell.currentWidget;
    const notebook = panel.content;
    for (const [gradeId, source] of cells) {
        const index = notebook.widgets.findIndex(
            cell => (cell.model.getMetadata('nbgrader') || {}).grade_id === gradeId);
        if (source !== null) notebook.widgets[index].model.sharedModel.setSource(source);
        notebook.activeCellIndex = index;
        await window.jupyterapp.commands.execute('notebook:run-cell');
    }
}"""
"""Type each ``source`` into the cell of that nbgrader id (null: leave it) and run it."""

OUTPUT_OF = """(gradeId) => {
    const notebook = window.jupyterapp.shell.currentWidget.content;
    const cell = notebook.widgets.find(
        cell => (cell.model.getMetadata('nbgrader') || {}).grade_id === gradeId);
    return cell.outputArea.node.innerText;
}"""

WRONG_FORWARD = """def forward(W1, b1, W2, b2, X):
    Z = np.tanh(X @ W1 + b1)  # the weight untransposed
    return Z, Z @ W2.T + b2"""

BROKEN_BACKPROP = """def backprop(W1, b1, W2, b2, X, T):
    Z, Y = forward(W1, b1, W2, b2, X
    return Z"""


@pytest.fixture(scope="module")
def student_lab(tmp_path_factory):
    """The JupyterLab of ``make lab``: its configuration folder first on the path."""
    home = tmp_path_factory.mktemp("student-lab")
    root = home / "notebooks"
    root.mkdir()
    for name in (NOTEBOOK, WIDE):
        shutil.copy(ROOT / "notebooks" / name, root / name)
    shutil.copy(ROOT / "notebooks" / NOTEBOOK, root / f"validate-{NOTEBOOK}")
    lab = Lab(root, home, config_path=STUDENT_LAB)
    yield lab
    lab.stop()


def test_make_lab_points_jupyterlab_at_the_student_settings():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = makefile.split("\nlab:", 1)[1].split("\n\n", 1)[0]
    assert "JUPYTER_CONFIG_PATH=$(STUDENT_LAB)" in recipe
    assert "STUDENT_LAB := $(abspath grader/student_lab)" in makefile


def test_students_get_validate_and_the_assignment_list_not_formgrader(browser, student_lab):
    page = browser.new_page()
    try:
        page.goto(f"{student_lab.url}/lab/tree/{NOTEBOOK}?reset")
        page.wait_for_function(KERNEL_IDLE, timeout=90_000, polling=250)
        page.locator(".validate-button").first.wait_for(timeout=30_000)
        commands = page.evaluate(
            """() => ['nbgrader:open-assignment-list', 'nbgrader:open-formgrader',
                      'nbgrader:open-create-assignment', 'nbgrader:open-course-list']
                .map(id => [id, window.jupyterapp.commands.hasCommand(id)])"""
        )
        assert dict(commands) == {
            "nbgrader:open-assignment-list": True,
            "nbgrader:open-formgrader": False,
            "nbgrader:open-create-assignment": False,
            "nbgrader:open-course-list": False,
        }
        menus = page.locator(".lm-MenuBar-itemLabel").all_inner_texts()
        if "Nbgrader" in menus:
            page.get_by_text("Nbgrader", exact=True).first.click()
            items = " ".join(page.locator(".lm-Menu-itemLabel").all_inner_texts())
            assert "Formgrader" not in items and "Course" not in items, items
            page.keyboard.press("Escape")
        page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.shutdown()")
    finally:
        page.close()
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(f"{student_lab.url}/formgrader", timeout=30)
    assert missing.value.code == 404


def test_validate_says_a_task_is_not_attempted(browser, student_lab):
    """Validate on a fresh notebook: every task it lists says that it is not attempted yet,
    none says "Partial credit"."""
    page = browser.new_page()
    try:
        page.goto(f"{student_lab.url}/lab/tree/validate-{NOTEBOOK}?reset")
        page.wait_for_function(KERNEL_IDLE, timeout=90_000, polling=250)
        page.locator(".validate-button").first.click()
        dialog = page.locator(".jp-Dialog-content")
        dialog.wait_for(timeout=300_000)
        page.wait_for_function(
            "() => !document.querySelector('.jp-Dialog-content').innerText.includes('Validating')",
            timeout=300_000,
        )
        text = dialog.inner_text()
        page.screenshot(path=str(SCREENSHOTS / "student-validate.png"))
        assert "Partial credit" not in text, text
        assert text.count("is not attempted yet") == 4, text
        page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.shutdown()")
    finally:
        page.close()


def test_what_a_student_meets(browser, student_lab):
    page = browser.new_page()
    page.set_viewport_size(LAPTOP)
    try:
        page.goto(f"{student_lab.url}/lab/tree/{NOTEBOOK}?reset")
        page.wait_for_function(KERNEL_IDLE, timeout=90_000, polling=250)
        page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
        page.wait_for_function(RUN_FINISHED, timeout=240_000, polling=250)

        # a fresh notebook: one line per task, no Out box, nothing broken mid-word
        tasks = page.evaluate(TASK_OUTPUTS)
        assert len(tasks) == 4
        for task in tasks:
            assert task["outputs"] == 1 and task["outBoxes"] == 0, task
            assert re.search(r"is not attempted yet: implement `\w+` above", task["text"])
        assert page.evaluate(SOFT_WRAPS) == []

        # a wrong answer, typed in: the cause named, wrapped as prose
        page.evaluate(RUN_CELLS, [["forward_solution", WRONG_FORWARD], ["forward_tests", None]])
        page.wait_for_function(KERNEL_IDLE, timeout=120_000, polling=250)
        said = " ".join(page.evaluate(OUTPUT_OF, "forward_tests").split())
        assert "[FAIL]" in said and "with W1 transposed" in said, said
        assert "is not passed yet" in said
        assert page.evaluate(SOFT_WRAPS) == []

        # a solution cell that does not run: the self-check says so
        page.evaluate(RUN_CELLS, [["backprop_solution", BROKEN_BACKPROP], ["backprop_tests", None]])
        page.wait_for_function(KERNEL_IDLE, timeout=120_000, polling=250)
        said = " ".join(page.evaluate(OUTPUT_OF, "backprop_tests").split())
        assert re.search(r"[Tt]he cell that defines `backprop` failed to run \(SyntaxError", said)
        assert "not attempted" not in said
        page.screenshot(path=str(SCREENSHOTS / "student-meets.png"))
        page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.shutdown()")
    finally:
        page.close()


def test_a_fresh_notebook_at_a_laptops_width(browser, student_lab):
    """The notebook with the longest task names, run fresh in a narrow window: one output
    per task, no Out box, no line broken by the output area."""
    page = browser.new_page()
    page.set_viewport_size(LAPTOP)
    try:
        page.goto(f"{student_lab.url}/lab/tree/{WIDE}?reset")
        page.wait_for_function(KERNEL_IDLE, timeout=90_000, polling=250)
        page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
        page.wait_for_function(RUN_FINISHED, timeout=240_000, polling=250)
        tasks = page.evaluate(TASK_OUTPUTS)
        assert tasks and all(t["outputs"] == 1 and t["outBoxes"] == 0 for t in tasks), tasks
        assert page.evaluate(SOFT_WRAPS) == []
        page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.shutdown()")
    finally:
        page.close()
