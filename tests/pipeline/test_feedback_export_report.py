"""Feedback pages, grade export, class report and grade table, on a small fake course.

The course has two masters written with ``grader.authoring``; its gradebook is built by
nbgrader (release) and filled by the pipeline's gradebook writer from synthetic results
whose verdicts are real judgements of small functions; a person's scores and comments are
then entered through nbgrader's Gradebook API, as the Formgrader would.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import statistics
import warnings
from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbgrader.api import Gradebook
from nbgrader.utils import notebook_hash

from grader import authoring
from grader.checks import get_check
from grader.judge import answers, judge
from grader.pipeline.course import Course
from grader.pipeline.outputs import gradebook
from grader.pipeline.outputs import report as class_report
from grader.pipeline.outputs.export import ItemGrade, SubmissionGrades, export_grades
from grader.pipeline.outputs.feedback import feedback_path, submission_page, write_feedback
from grader.pipeline.outputs.report import print_grade_table, write_report
from grader.pipeline.results import SubmissionResult
from grader.release import generate_release
from grader.seeds import hidden_cases

ROOT = Path(__file__).resolve().parents[2]
CHECK = "linear_model_gradient"
HIDDEN_SENTINEL = "hidden-test-sentinel-7f3a"
VISIBLE_SENTINEL = "visible-test-sentinel-c21e"
MODEL_ANSWER = "model-answer-sentinel-90bd"
HOSTILE = "<script>alert('x')</script>"
FLAG = f"{CHECK}: gradient uses autodiff.grad, which its task forbids"
PROBLEM = "graded cell 'a1_written' was changed from markdown to code"
COMMENT = "Good start; see <b>(8.1)</b>"
SECRET = "0123abcd" * 8


def correct(W, X, T):
    return (X @ W.T - T).T @ X


def first_point_only(W, X, T):
    return correct(W, X[:1], T[:1])


def hostile(W, X, T):
    raise ValueError(HOSTILE)


def noisy(W, X, T):
    warnings.warn("float32 detected", stacklevel=1)
    return correct(W, X, T)


def verdict_of(function) -> dict:
    check = get_check(CHECK)
    cases = hidden_cases(check, "")
    return judge(check, cases, answers(check, function, cases)).to_dict()


def master(name: str, written: bool) -> list:
    cells = [
        authoring.markdown(f"# Assignment {name}"),
        authoring.solution(
            """def gradient(W, X, T):
                ### BEGIN SOLUTION
                return (X @ W.T - T).T @ X
                ### END SOLUTION""",
            f"{name}_solution",
        ),
        authoring.tests(
            f"""from grader import grade, self_check
            self_check("{CHECK}", gradient)  # {VISIBLE_SENTINEL}
            ### BEGIN HIDDEN TESTS
            assert "{HIDDEN_SENTINEL}"
            grade("{CHECK}", gradient)
            ### END HIDDEN TESTS""",
            f"{name}_tests",
            points=2,
        ),
    ]
    if written:
        cells.append(authoring.written(f"{MODEL_ANSWER}: a sum over points.", f"{name}_written", 1))
    return cells


def result(student, assignment, verdict, written=None, problems=(), flags=(), status="graded"):
    items = [
        {
            "grade_id": f"{assignment}_tests",
            "check": CHECK,
            "max_points": 2.0,
            "points": float(verdict["points"]),
            "verdict": verdict,
            "note": "",
        }
    ]
    if written is not None:
        items.append(
            {
                "grade_id": f"{assignment}_written",
                "check": "",
                "max_points": 1.0,
                "points": None if written == "graded by hand" else 0.0,
                "verdict": None,
                "note": written,
            }
        )
    return {
        "student": student,
        "assignment": assignment,
        "notebook": f"{assignment}.ipynb",
        "status": status,
        "problems": list(problems),
        "flags": list(flags),
        "items": items,
        "auto_points": round(sum(i["points"] or 0.0 for i in items), 2),
        "max_points": sum(i["max_points"] for i in items),
        "seconds": 1.0,
        "version": 2,
        "submission_sha256": "0" * 64,
    }


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Course:
    root = tmp_path_factory.mktemp("course")
    shutil.copy(ROOT / "course" / "nbgrader_config.py", root)
    authoring.save(root / "source" / "a1" / "a1.ipynb", master("a1", written=True))
    authoring.save(root / "source" / "a2" / "a2.ipynb", master("a2", written=False))
    generate_release(root)
    results = [
        result("alice", "a1", verdict_of(correct), "graded by hand"),
        result("alice", "a2", verdict_of(noisy)),
        result("bob", "a1", verdict_of(first_point_only), "graded by hand", [PROBLEM], [FLAG]),
        result("mallory", "a1", verdict_of(hostile), "no answer", [f"named {HOSTILE}.ipynb"]),
    ]
    db_url = "sqlite:///" + str(root / "gradebook.db")
    for entry in results:
        gradebook.write(db_url, SubmissionResult.from_json(entry), None)
        path = root / "grading" / entry["student"] / entry["assignment"] / "result.json"
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps(entry))
        submitted = root / "submitted" / entry["student"] / entry["assignment"]
        submitted.mkdir(parents=True)
        (submitted / "timestamp.txt").write_text("2024-05-01 10:00:00.000000 UTC")
        (submitted / "submission_secret.txt").write_text(SECRET)
    with Gradebook(db_url) as gb:  # what a person enters in the Formgrader
        gb.find_grade("a1_written", "a1", "a1", "alice").manual_score = 0.5
        gb.find_comment("a1_written", "a1", "a1", "alice").manual_comment = COMMENT
        gb.find_grade("a1_tests", "a1", "a1", "bob").manual_score = 1.0
        gb.db.commit()
    course = Course(root)
    course.synthetic = {(r["student"], r["assignment"]): r for r in results}
    return course


@pytest.fixture(scope="module")
def pages(course) -> dict[str, str]:
    paths = write_feedback(course)
    return {str(p.relative_to(course.root / "feedback")): p.read_text() for p in paths}


@pytest.fixture(scope="module")
def report(course, tmp_path_factory) -> dict[str, Path]:
    return write_report(course, tmp_path_factory.mktemp("report"))


def test_feedback_pages_follow_nbgrader_layout(course, pages):
    assert sorted(pages) == [
        "alice/a1/a1.html",
        "alice/a2/a2.html",
        "alice/index.html",
        "bob/a1/a1.html",
        "bob/index.html",
        "mallory/a1/a1.html",
        "mallory/index.html",
    ]
    folder = feedback_path(course, "bob", "a1", "a1.ipynb").parent
    assert (folder / "submission_secret.txt").read_text() == SECRET
    assert (folder / "timestamp.txt").exists()
    assert 'href="a1/a1.html"' in pages["alice/index.html"]
    assert 'href="a2/a2.html"' in pages["alice/index.html"]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # inside nbgrader's exchange
def test_nbgrader_release_feedback_returns_the_page(course, pages, tmp_path):
    from nbgrader.apps import NbGraderAPI

    from grader.release import course_config

    config = course_config(course.root)
    (tmp_path / "exchange").mkdir(mode=0o777)
    config.Exchange.root = str(tmp_path / "exchange")
    config.Exchange.assignment_dir = str(tmp_path)
    NbGraderAPI(config=config).release_feedback("a1", "bob")
    released = tmp_path / "exchange" / config.CourseDirectory.course_id / "feedback"
    name = f"{notebook_hash(secret=SECRET, notebook_id='a1')}.html"
    assert (released / name).read_text() == pages["bob/a1/a1.html"]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_nbgrader_generate_feedback_writes_the_same_pages(course, pages):
    """Formgrader's "Generate Feedback" runs nbgrader's GenerateFeedback on the autograded
    notebooks, which hold the hidden tests: the course's configuration makes it write the
    project's page instead, and a page saying "not graded yet" where no trusted result
    exists, never the notebook."""
    from nbgrader.apps import NbGraderAPI

    from grader.release import course_config

    released = nbformat.read(str(course.root / "source" / "a1" / "a1.ipynb"), as_version=4)
    for student in ("bob", "carol"):  # carol: autograded by nbgrader alone, no result
        folder = course.root / "autograded" / student / "a1"
        folder.mkdir(parents=True, exist_ok=True)
        nbformat.write(released, str(folder / "a1.ipynb"))
    api = NbGraderAPI(config=course_config(course.root))
    with Gradebook("sqlite:///" + str(course.root / "gradebook.db")) as gb:
        gb.update_or_create_student("carol")
        gb.update_or_create_submission("a1", "carol")
    ours = pages["bob/a1/a1.html"]
    page = feedback_path(course, "bob", "a1", "a1.ipynb")
    for student in ("bob", "carol"):
        result = api.generate_feedback("a1", student, force=True)
        assert result["success"], result["log"]
    assert page.read_text() == ours
    unknown = feedback_path(course, "carol", "a1", "a1.ipynb").read_text()
    assert "Not graded yet" in unknown
    for text in (ours, unknown):
        for secret in (HIDDEN_SENTINEL, VISIBLE_SENTINEL, MODEL_ANSWER, "grade(", "HIDDEN"):
            assert secret not in text
    shutil.rmtree(course.root / "autograded")
    shutil.rmtree(course.root / "feedback" / "carol")


def test_feedback_shows_points_messages_and_diagnosis(course, pages):
    page = pages["bob/a1/a1.html"]
    verdict = course.synthetic[("bob", "a1")]["items"][0]["verdict"]
    failing = [r for r in verdict["results"] if not r["passed"]]
    assert failing, "the first-point-only function must fail a case"
    assert "Gradient of the linear model (8.4)" in page
    assert f"<strong>{verdict['points']:g}</strong> / 3 points graded automatically" in page
    assert "1 / 2</span>" in page and "Adjusted by hand (automatic score:" in page
    passed = len(verdict["results"]) - len(failing)
    assert f"{passed} of {len(verdict['results'])} test cases pass" in page
    assert failing[0]["problem"].replace("'", "&#x27;") in page
    assert failing[0]["details"][0] in page and page.count("expected:") == 1
    assert "Likely cause: This is the gradient of the first data point alone" in page
    assert "Reread (8.1) and (8.14)." in page
    assert PROBLEM.replace("'", "&#x27;") in page
    assert "to be graded by hand</span>" in page
    assert "1 written answer still to be graded by hand" in page
    assert page.count("Likely cause:") == 1  # the same diagnosis is not repeated per case


def test_feedback_never_shows_hidden_tests_master_cells_or_flags(pages):
    for page in pages.values():
        for secret in (HIDDEN_SENTINEL, VISIBLE_SENTINEL, MODEL_ANSWER, "self_check", "grade("):
            assert secret not in page
        assert "forbids" not in page and FLAG not in page


def test_feedback_escapes_student_strings(pages):
    page = pages["mallory/a1/a1.html"]
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "your function raised ValueError: &lt;script&gt;" in page
    assert "named &lt;script&gt;" in page
    assert "0 / 2</span>" in page and "no answer" in page


def test_feedback_shows_manual_score_comment_and_warnings(pages):
    page = pages["alice/a1/a1.html"]
    assert "0.5 / 1</span>" in page and "Written answer" in page
    assert "Total so far: 2.5 / 3 points" in page
    assert "Good start; see &lt;b&gt;(8.1)&lt;/b&gt;" in page
    noisy_page = pages["alice/a2/a2.html"]
    assert noisy_page.count("Note (not penalised): UserWarning: float32 detected") == 1


def test_feedback_selection(course, pages):
    paths = write_feedback(course, students=["alice"], assignments=["a2"])
    assert [p.relative_to(course.root / "feedback").as_posix() for p in paths] == [
        "alice/a2/a2.html",
        "alice/index.html",
    ]
    assert "a1/a1.html" in paths[1].read_text()  # the index still lists every assignment
    with pytest.raises(ValueError, match="student 'carol'"):
        write_feedback(course, students=["carol"])


def test_export_grades(course, tmp_path):
    path = export_grades(course, tmp_path / "grades.csv")
    rows = list(csv.DictReader(path.open()))
    assert [(r["student"], r["assignment"]) for r in rows] == sorted(course.synthetic)
    totals = gradebook.totals("sqlite:///" + str(course.root / "gradebook.db"))
    manual = {("alice", "a1"): 0.5, ("bob", "a1"): 1.0}
    waiting = {("alice", "a1"): 0, ("bob", "a1"): 1, ("mallory", "a1"): 0}
    for row in rows:
        key = (row["student"], row["assignment"])
        entry = course.synthetic[key]
        assert float(row["auto_points"]) == pytest.approx(entry["auto_points"])
        if key in manual:
            assert float(row["manual_points"]) == manual[key]
        else:
            assert row["manual_points"] == ""
        assert float(row["total"]) == pytest.approx(totals[key])
        assert float(row["max_points"]) == entry["max_points"]
        assert row["status"] == "graded"
        assert int(row["needs_manual"]) == waiting.get(key, 0)
        assert int(row["problems"]) == len(entry["problems"])
        assert row["flagged"] == ("yes" if key == ("bob", "a1") else "no")


def test_report_per_question_statistics(course, report):
    table = csv.DictReader(report["per_question"].open())
    rows = {(r["assignment"], r["grade_id"]): r for r in table}
    assert sorted(rows) == [("a1", "a1_tests"), ("a1", "a1_written"), ("a2", "a2_tests")]
    points = {s: course.synthetic[(s, "a1")]["items"][0]["points"] for s in ("alice", "mallory")}
    scores = [points["alice"], 1.0, points["mallory"]]  # bob's score was set by hand
    code = rows[("a1", "a1_tests")]
    assert code["kind"] == "auto" and code["check"] == CHECK and int(code["n"]) == 3
    assert float(code["mean"]) == pytest.approx(statistics.fmean(scores), abs=1e-4)
    assert float(code["median"]) == pytest.approx(statistics.median(scores), abs=1e-4)
    assert float(code["std"]) == pytest.approx(statistics.pstdev(scores), abs=1e-4)
    assert float(code["min"]) == min(scores) and float(code["max"]) == max(scores)
    assert float(code["fraction_full"]) == pytest.approx(scores.count(2.0) / 3, abs=1e-4)
    assert float(code["fraction_zero"]) == pytest.approx(scores.count(0.0) / 3, abs=1e-4)
    written = rows[("a1", "a1_written")]
    assert written["kind"] == "written" and written["check"] == ""
    assert (int(written["n"]), int(written["waiting"])) == (2, 1)  # alice 0.5, mallory 0
    assert float(written["mean"]) == pytest.approx(0.25)
    assert float(written["fraction_zero"]) == pytest.approx(0.5)


def test_report_plot_is_a_png(report):
    plot = report["plot"]
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    import matplotlib.image

    image = matplotlib.image.imread(plot)
    assert image.shape[0] > 200 and image.shape[1] > 600
    assert np.ptp(image[..., :3]) > 0.5  # not blank


def test_report_flagged_lists(report):
    assert sorted(report) == ["flagged_csv", "flagged_md", "per_question", "plot"]
    rows = list(csv.reader(report["flagged_csv"].open()))
    assert rows == [
        ["student", "assignment", "kind", "message"],
        ["bob", "a1", "flag", FLAG],
        ["bob", "a1", "problem", PROBLEM],
        ["mallory", "a1", "problem", f"named {HOSTILE}.ipynb"],
    ]
    markdown = report["flagged_md"].read_text()
    assert "## bob / a1" in markdown and "## mallory / a1" in markdown
    assert "<script>" not in markdown and "&lt;script&gt;" in markdown
    assert "alice" not in markdown


def test_grade_table(course, monkeypatch):
    stream = io.StringIO()
    print_grade_table(course, stream)
    lines = stream.getvalue().splitlines()
    assert lines[0].split() == ["student", "a1", "a2", "total"]
    alice_a2 = course.synthetic[("alice", "a2")]["auto_points"]
    mallory = course.synthetic[("mallory", "a1")]["auto_points"]
    assert lines[1].split() == ["alice", "2.5/3", f"{alice_a2:g}/2", f"{2.5 + alice_a2:g}/5"]
    assert lines[2].split() == ["bob", "1/3!?*", "-", "1/5"]
    assert lines[3].split() == ["mallory", f"{mallory:g}/3?", "-", f"{mallory:g}/5"]
    legend = "\n".join(lines[4:])
    for mark in ("!  flagged", "?  the submission had problems", "*  written", "-  not submitted"):
        assert mark in legend
    monkeypatch.setattr(class_report, "TABLE_WIDTH", 10)
    stream = io.StringIO()
    print_grade_table(course, stream)
    text = stream.getvalue()
    assert text.splitlines()[0].split() == ["student", "A1", "A2", "total"]
    assert "A1 = a1" in text and "A2 = a2" in text


def test_empty_course_is_reported(tmp_path):
    (tmp_path / "source").mkdir()
    empty = Course(tmp_path)
    with pytest.raises(ValueError, match="run autograde first"):
        write_report(empty, tmp_path / "report")
    with pytest.raises(ValueError, match="run autograde first"):
        export_grades(empty, tmp_path / "grades.csv")
    stream = io.StringIO()
    print_grade_table(empty, stream)
    assert "no graded submission" in stream.getvalue()


def test_unreadable_submission_page():
    grades = SubmissionGrades(
        student="dave",
        assignment="a1",
        notebook="a1.ipynb",
        status="unreadable",
        auto_points=0.0,
        max_points=2.0,
        items=[ItemGrade("a1_tests", CHECK, 2.0, 0.0, None, "")],
        problems=["a1.ipynb could not be read: the file is not valid JSON"],
    )
    page = submission_page(grades)
    assert "Your submission could not be read" in page
    assert "the file is not valid JSON" in page and "0 / 2</span>" in page


def test_late_submissions_are_shown_in_the_export_and_the_table(course, tmp_path):
    """nbgrader's due date and the submission's own time (which the pipeline keeps in the
    gradebook) say how late a submission is: the export and the grade table show it."""
    from datetime import datetime, timedelta

    from nbgrader.api import Gradebook

    from grader.pipeline.course import Course as CourseFolder
    from grader.pipeline.outputs.report import print_grade_table

    copy = tmp_path / "late"
    shutil.copytree(course.root, copy)
    due = datetime(2026, 11, 30, 12, 0)
    with Gradebook("sqlite:///" + str(copy / "gradebook.db")) as gb:
        gb.update_or_create_assignment("a2", duedate=due)
        gb.update_or_create_submission("a2", "alice", timestamp=due + timedelta(hours=2))
    late = CourseFolder(copy)
    rows = {
        (r["student"], r["assignment"]): r
        for r in csv.DictReader(export_grades(late, tmp_path / "grades.csv").open())
    }
    assert float(rows[("alice", "a2")]["late_seconds"]) == 7200
    assert float(rows[("alice", "a1")]["late_seconds"]) == 0
    table = io.StringIO()
    print_grade_table(late, table)
    alice = next(line for line in table.getvalue().splitlines() if line.startswith("alice"))
    assert "L" in alice and "submitted after the due date" in table.getvalue()
