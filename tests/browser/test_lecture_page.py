"""The lecture page (``reports/index.html``) in headless Chromium: it renders its plots and
tables, and no request leaves the page (every resource is in the file).

The class is small and synthetic: each student's answers are a mistake model's or the
reference, judged by the trusted judge and written as result files; one student resubmits,
so the page also shows what changed.
"""

from __future__ import annotations

import json

import pytest
from browser_lab import SCREENSHOTS

from grader.checks import get_check
from grader.judge import answers, judge
from grader.pipeline.course import Course
from grader.pipeline.outputs.report import write_class_report
from grader.pipeline.results import ItemResult, SubmissionResult
from grader.seeds import hidden_cases

pytestmark = pytest.mark.browser

ASSIGNMENT, GRADE_ID, CHECK = "02_two_layer_network", "forward_tests", "two_layer_forward"
STUDENTS = 12

RENDERED = """() => ({
    images: Array.from(document.images).map(img => ({
        loaded: img.complete && img.naturalWidth > 0, width: img.naturalWidth,
        data: img.src.startsWith('data:image/png;base64,'),
    })),
    rows: document.querySelectorAll('table tbody tr').length,
    headings: Array.from(document.querySelectorAll('h2')).map(h => h.textContent),
    text: document.body.innerText,
    resources: performance.getEntriesByType('resource').map(entry => entry.name),
})"""


def write_result(course: Course, student: str, answer_of) -> None:
    check = get_check(CHECK)
    cases = hidden_cases(check, "lecture-page", ASSIGNMENT, student)
    records = answers(check, check.student_function(answer_of), cases)
    verdict = judge(check, cases, records, hidden=True)
    result = SubmissionResult(
        student=student,
        assignment=ASSIGNMENT,
        notebook=f"{ASSIGNMENT}.ipynb",
        status="graded",
        problems=[],
        flags=[],
        items=[ItemResult(GRADE_ID, CHECK, check.points, verdict.points, verdict)],
        max_points=check.points,
        submission_sha256=f"{student}:{answer_of.__name__}",
    )
    path = course.result_path(student, ASSIGNMENT)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result.to_json()), encoding="utf-8")


@pytest.fixture(scope="module")
def page_path(tmp_path_factory):
    """The page of a small class, written after one student resubmitted."""
    root = tmp_path_factory.mktemp("lecture") / "course"
    (root / "source").mkdir(parents=True)
    course = Course(root)
    check = get_check(CHECK)
    choices = [check.reference] + [m.model for m in check.mistakes()]
    for i in range(STUDENTS):
        write_result(course, f"s{i:02d}", choices[i % len(choices)])
    write_class_report(course, root / "reports")
    write_result(course, "s01", check.reference)
    return write_class_report(course, root / "reports")["page"]


def test_the_lecture_page_renders_with_nothing_from_outside(browser, page_path):
    requests, failed, errors = [], [], []
    page = browser.new_page()
    page.on("request", lambda request: requests.append(request.url))
    page.on("requestfailed", lambda request: failed.append(request.url))
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(page_path.as_uri(), wait_until="load")
        rendered = page.evaluate(RENDERED)
        page.screenshot(path=str(SCREENSHOTS / "lecture-page.png"), full_page=True)
    finally:
        page.close()
    outside = [url for url in requests if url != page_path.as_uri() and not url.startswith("data:")]
    assert not outside, f"requests left the page: {outside}"
    assert not failed and not errors, (failed, errors)
    assert [r for r in rendered["resources"] if not r.startswith("data:")] == []
    assert len(rendered["images"]) == 2, "the points plot and the assignment's mistakes plot"
    assert all(img["loaded"] and img["data"] and img["width"] > 800 for img in rendered["images"])
    assert rendered["headings"] == [
        "Points per question",
        "Mistakes per task",
        "Submissions to look at",
        "How the numbers were made",
    ]
    text = rendered["text"]
    for mistake in get_check(CHECK).mistakes():
        assert mistake.name in text and mistake.equation in text
    assert "Since the previous grading" in text and "Fewer" in text
