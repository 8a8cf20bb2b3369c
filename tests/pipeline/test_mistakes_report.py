"""What the class got wrong, counted: on a synthetic class made from the mistake models, and
on the demo class graded by the pipeline.

The synthetic class has 300 students and two assignments of one task each; every student's
answers are those of one scripted behaviour (a mistake model of the task's check, the
reference, a shifted reference no model explains, a function that raises, one left as
released, a forbidden tool, no function at all), in known numbers, judged by the trusted
judge on the student's own hidden cases and written as the result files the pipeline
writes.  The counts must be the numbers put in.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import shutil
from collections import Counter
from contextlib import redirect_stdout

import numpy as np
import pytest
from matplotlib.image import imread

from grader.checks import get_check
from grader.cli import main
from grader.demo.classroom import build_demo_class
from grader.judge import answers, judge
from grader.pipeline.autograde import autograde
from grader.pipeline.course import Course
from grader.pipeline.outputs.mistakes import (
    CAUSE,
    CRASHED,
    FORBIDDEN,
    FULL,
    NO_ANSWER,
    NOT_ATTEMPTED,
    NOT_RECORDED,
    TOO_SLOW,
    UNRECOGNISED,
    class_mistakes,
    outcome_of,
    trusted_results,
)
from grader.pipeline.outputs.mistakes_history import HISTORY
from grader.pipeline.outputs.report import write_class_report
from grader.pipeline.results import ItemResult, SubmissionResult
from grader.pipeline.sandbox import bubblewrap
from grader.pipeline.sandbox.limits import Limits
from grader.sandboxed.calls import error_record
from grader.seeds import hidden_cases

SECRET = "9d1c" * 16
STUDENTS = 300
TWO_LAYER, JACOBIAN = "02_two_layer_network", "04_jacobian"
TASKS = {
    TWO_LAYER: ("forward_tests", "two_layer_forward", "forward"),
    JACOBIAN: ("module_chain_gradient_tests", "module_chain_gradient", "module_chain_gradient"),
}
"""assignment -> (grade id, check, function name) of its one task."""

PLAN = {
    TWO_LAYER: {
        "hidden units linear": 96,
        "tanh on the outputs": 57,
        "weights untransposed": 30,
        FULL: 60,
        UNRECOGNISED: 18,
        CRASHED: 15,
        NOT_ATTEMPTED: 12,
        FORBIDDEN: 9,
        NO_ANSWER: 3,
    },
    JACOBIAN: {
        "middle module skipped": 45,
        "diagonal terms only": 111,
        "middle Jacobian transposed": 24,
        "dE/dw has the wrong sign everywhere": 15,
        FULL: 75,
        UNRECOGNISED: 6,
        CRASHED: 9,
        NOT_ATTEMPTED: 6,
        FORBIDDEN: 3,
        NO_ANSWER: 6,
    },
}
"""How many students of each assignment behave how: a mistake model's name, a generic slip
(the sign, named by the judge in its own words) or a kind."""


def behaviours(assignment: str) -> list[str]:
    """One behaviour per student, in a fixed shuffled order."""
    plan = PLAN[assignment]
    assert sum(plan.values()) == STUDENTS
    listed = [b for b, count in plan.items() for _ in range(count)]
    order = np.random.default_rng(len(assignment)).permutation(len(listed))
    return [listed[i] for i in order]


def shifted(value):
    """An answer no mistake model or generic slip explains: the right one plus 0.123."""
    if isinstance(value, tuple):
        return tuple(shifted(v) for v in value)
    return np.asarray(value) + 0.123


def raising(error: type[Exception]):
    def function(*args, **kwargs):
        raise error("scripted")

    return function


def scripted_result(assignment: str, student: str, behaviour: str) -> SubmissionResult:
    """The trusted result of a student who behaves as ``behaviour``, judged as the pipeline
    judges: hidden verdicts on the student's own hidden cases."""
    grade_id, name, function = TASKS[assignment]
    check = get_check(name)
    cases = hidden_cases(check, SECRET, assignment, student)
    models = {m.name: m.model for m in check.mistakes()}
    answer_of = {
        FULL: check.reference,
        UNRECOGNISED: lambda case: shifted(check.reference(case)),
        "dE/dw has the wrong sign everywhere": lambda case: -np.asarray(check.reference(case)),
    }
    flags = []
    if behaviour in models or behaviour in answer_of:
        model = models.get(behaviour) or answer_of[behaviour]
        records = answers(check, check.student_function(model), cases)
    elif behaviour == NO_ANSWER:
        records = []
    else:
        error = {CRASHED: ValueError, NOT_ATTEMPTED: NotImplementedError}.get(
            behaviour, AttributeError
        )
        records = answers(check, raising(error), cases)
    if behaviour == FORBIDDEN:
        flags.append(f"{name}: {function} uses autodiff.grad, which its task forbids")
    verdict = judge(check, cases, records, hidden=True)
    return SubmissionResult(
        student=student,
        assignment=assignment,
        notebook=f"{assignment}.ipynb",
        status="graded",
        problems=[],
        flags=flags,
        items=[ItemResult(grade_id, name, check.points, verdict.points, verdict)],
        max_points=check.points,
        submission_sha256=hashlib.sha256(f"{student}:{behaviour}".encode()).hexdigest(),
    )


def write_result(course: Course, result: SubmissionResult) -> None:
    path = course.result_path(result.student, result.assignment)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result.to_json()), encoding="utf-8")


def expected_counts(plan: dict[str, int]) -> dict[tuple[str, str], int]:
    """The plan as (kind, name) -> count."""
    kinds = (FULL, UNRECOGNISED, CRASHED, NOT_ATTEMPTED, FORBIDDEN, NO_ANSWER)
    return {((b, b) if b in kinds else (CAUSE, b)): n for b, n in plan.items()}


def counts_of(task) -> dict[tuple[str, str], int]:
    return {(t.outcome.kind, t.outcome.name): t.count for t in task.tallies}


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> Course:
    """The synthetic class's course folder: result files only."""
    root = tmp_path_factory.mktemp("synthetic") / "course"
    (root / "source").mkdir(parents=True)
    course = Course(root)
    for assignment in PLAN:
        for i, behaviour in enumerate(behaviours(assignment)):
            write_result(course, scripted_result(assignment, f"s{i:03d}", behaviour))
    return course


@pytest.fixture
def synthetic_copy(synthetic, tmp_path) -> Course:
    """A copy of the synthetic class that a test may change."""
    root = tmp_path / "course"
    shutil.copytree(synthetic.root, root)
    return Course(root)


def test_the_counts_are_the_numbers_put_in(synthetic):
    tasks = class_mistakes(trusted_results(synthetic))
    assert [(t.assignment, t.grade_id) for t in tasks] == [(a, TASKS[a][0]) for a in PLAN]
    for task in tasks:
        assert task.submissions == STUDENTS
        assert counts_of(task) == expected_counts(PLAN[task.assignment])
        assert task.full == PLAN[task.assignment][FULL]
        counts = [t.count for t in task.lost]
        assert counts == sorted(counts, reverse=True), "outcomes are ranked"
        models = {m.name: m for m in get_check(task.check).mistakes()}
        for tally in task.lost:
            outcome = tally.outcome
            if outcome.kind == CAUSE and outcome.name in models:
                mistake = models[outcome.name]
                assert outcome.equation == mistake.equation
                assert outcome.sentence.startswith(mistake.explanation)
            elif outcome.kind == CAUSE:  # a generic slip: the task's equation
                assert outcome.equation == task.equation
                assert outcome.sentence == f"{outcome.name}. Reread {task.equation}."
            assert task.share(tally) == tally.count / STUDENTS


def test_the_report_writes_the_mistakes_their_plot_and_the_page(synthetic_copy):
    course = synthetic_copy
    paths = write_class_report(course, course.root / "reports")
    for name in ("per_question", "plot", "flagged_csv", "flagged_md"):
        assert paths[name].is_file(), f"the report's earlier output {name} is kept"
    with paths["mistakes_csv"].open(encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    for assignment, plan in PLAN.items():
        theirs = [r for r in rows if r["assignment"] == assignment]
        found = {(r["kind"], r["cause"]): int(r["count"]) for r in theirs}
        assert found == expected_counts(plan)
        lost = [r for r in theirs if r["kind"] != FULL]
        assert [int(r["rank"]) for r in lost] == list(range(1, len(lost) + 1))
        for r in theirs:
            assert float(r["share"]) == pytest.approx(int(r["count"]) / STUDENTS, abs=1e-4)
            assert len(r["students"].split()) == int(r["count"])
    text = paths["mistakes_md"].read_text(encoding="utf-8")
    page = paths["page"].read_text(encoding="utf-8")
    for assignment in PLAN:
        check = get_check(TASKS[assignment][1])
        for mistake in check.mistakes():
            assert f"**{mistake.name}**" in text and mistake.equation in text
            assert mistake.name in page and mistake.equation in page
        plot = paths[f"mistakes_plot_{assignment}"]
        height, width, _ = imread(plot).shape
        assert width >= 1200 and height >= 500, "printed at 150 dpi on an A4-wide figure"
    assert UNRECOGNISED in text and "Since the previous grading" not in text
    assert page.count('<img src="data:image/png;base64,') == 3
    assert "http://" not in page and "https://" not in page
    assert "default-src 'none'" in page


def test_the_report_says_which_mistakes_went_down_after_resubmissions(synthetic_copy):
    course = synthetic_copy
    out = course.root / "reports"
    write_class_report(course, out)
    write_class_report(course, out)  # the same submissions: no new snapshot, no comparison
    history = json.loads((out / HISTORY).read_text(encoding="utf-8"))
    assert {a: len(s) for a, s in history["assignments"].items()} == {a: 1 for a in PLAN}
    assert "Since the previous grading" not in (out / "mistakes.md").read_text(encoding="utf-8")
    resubmitted = [i for i, b in enumerate(behaviours(TWO_LAYER)) if b == "hidden units linear"][
        :66
    ]
    for i in resubmitted:
        write_result(course, scripted_result(TWO_LAYER, f"s{i:03d}", FULL))
    write_class_report(course, out)
    paths = write_class_report(course, out)  # run twice: compares with the same earlier snapshot
    history = json.loads((out / HISTORY).read_text(encoding="utf-8"))
    assert {a: len(s) for a, s in history["assignments"].items()} == {TWO_LAYER: 2, JACOBIAN: 1}
    text = paths["mistakes_md"].read_text(encoding="utf-8")
    assert "Since the previous grading" in text
    fewer = next(line for line in text.splitlines() if line.startswith("- fewer: "))
    assert "hidden units linear in forward\\_tests: 96/300 (32%) → 30/300 (10%)" in fewer
    full = next(line for line in text.splitlines() if line.startswith("- full points: "))
    assert "forward\\_tests: 60/300 (20%) → 126/300 (42%)" in full
    assert "- more: " not in text
    page = paths["page"].read_text(encoding="utf-8")
    assert "Since the previous grading" in page and "96/300 (32%) → 30/300 (10%)" in page


def test_a_cause_counts_only_where_the_judge_named_it():
    """Answers that follow a mistake model on some cases only are wrong, cause not
    recognised; a flag of another task's forbidden use does not count for this task."""
    grade_id, name, _ = TASKS[TWO_LAYER]
    check = get_check(name)
    cases = hidden_cases(check, SECRET, TWO_LAYER, "s000")
    model = check.mistakes()[0].model
    off = check.student_function(lambda case: shifted(check.reference(case)))
    functions = [check.student_function(model) if i % 2 else off for i in range(len(cases))]
    records = [answers(check, f, [case])[0] for f, case in zip(functions, cases)]
    verdict = judge(check, cases, records, hidden=True)
    assert not any(r.cause for r in verdict.results)
    flags = ["module_chain_gradient: forward uses autodiff.grad, which its task forbids"]
    item = ItemResult(grade_id, name, check.points, verdict.points, verdict)
    assert outcome_of(item, flags, 3).kind == UNRECOGNISED


def test_each_case_outcome_is_read_from_the_judges_own_words():
    """Every kind of failure the judge reports, as the kernel records it, counts as its
    kind (the judge's wording is pinned here)."""
    check = get_check("two_layer_backprop")
    cases = hidden_cases(check, SECRET, TWO_LAYER, "s000")
    assert cases[-1].seconds, "the last case measures the cost"

    def outcome(records) -> str:
        verdict = judge(check, cases, records, hidden=True)
        item = ItemResult("backprop_tests", check.name, check.points, verdict.points, verdict)
        return outcome_of(item, [], 3).kind

    right = answers(check, check.student_function(check.reference), cases[:-1])
    errors = {
        CRASHED: [error_record(c.name, "raised", "ValueError", "x") for c in cases],
        NOT_ATTEMPTED: [error_record(c.name, "raised", "NotImplementedError") for c in cases],
        NO_ANSWER: [error_record(c.name, "undefined") for c in cases],
        UNRECOGNISED: [error_record(c.name, "not_numbers", "", "a str") for c in cases],
        TOO_SLOW: [*right, error_record(cases[-1].name, "timeout")],
    }
    for kind, records in errors.items():
        assert outcome(records) == kind
    assert outcome([]) == NO_ANSWER
    limit = [error_record(cases[0].name, "timeout")]
    limit += [error_record(c.name, "not_run") for c in cases[1:]]
    assert outcome(limit) == CRASHED


def test_results_of_the_previous_version_stay_readable(synthetic):
    """A result of version 2 has no cause fields: it reads, and a diagnosis it holds counts
    as a cause not recorded, never as another outcome; its other outcomes count as before."""
    order = behaviours(TWO_LAYER)
    for behaviour, expected in (("tanh on the outputs", NOT_RECORDED), (CRASHED, CRASHED)):
        student = f"s{order.index(behaviour):03d}"
        data = json.loads(synthetic.result_path(student, TWO_LAYER).read_text(encoding="utf-8"))
        data["version"] = 2
        for result in data["items"][0]["verdict"]["results"]:
            del result["cause"], result["cause_equation"]
        old = SubmissionResult.from_json(data)
        assert outcome_of(old.items[0], old.flags, old.version).kind == expected


def test_grader_report_prints_the_mistakes_and_where_they_are(synthetic_copy):
    stream = io.StringIO()
    with redirect_stdout(stream):
        assert main(["report", "--course", str(synthetic_copy.root)]) == 0
    printed = stream.getvalue()
    assert "What the class got wrong" in printed
    assert "diagonal terms only" in printed
    reports = synthetic_copy.root / "reports"
    assert f"mistakes_md: {reports / 'mistakes.md'}" in printed
    assert f"page: {reports / 'index.html'}" in printed


# -- the demo class ------------------------------------------------------------------------

DEMO = {
    (TWO_LAYER, "backprop_tests"): {
        (FULL, FULL): 2,
        (CAUSE, "missing activation derivative"): 1,
        (CAUSE, "transposed second-layer weights"): 1,
        (CAUSE, "mean instead of sum"): 1,
        (UNRECOGNISED, UNRECOGNISED): 1,
        (NOT_ATTEMPTED, NOT_ATTEMPTED): 1,
        (NO_ANSWER, NO_ANSWER): 1,
    },
    (JACOBIAN, "softmax_network_jacobian_tests"): {
        (FULL, FULL): 2,
        (CAUSE, "missing -y_k y_l"): 1,
        (NOT_ATTEMPTED, NOT_ATTEMPTED): 1,
    },
    (JACOBIAN, "jacobian_forward_tests"): {
        (FULL, FULL): 2,
        (FORBIDDEN, FORBIDDEN): 1,
        (NOT_ATTEMPTED, NOT_ATTEMPTED): 1,
    },
}
"""What the demo's scripted students did to these tasks (``grader.demo.submissions``):
the tamperer's object that equals everything is no numbers, the broken file no answer,
the call of ``autodiff.jacfwd`` a forbidden tool."""


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Course:
    """The demo class, graded by the pipeline (in the sandbox where the machine allows)."""
    course = build_demo_class(tmp_path_factory.mktemp("demo"))
    try:
        bubblewrap.check()
        sandboxed = True
    except bubblewrap.SandboxUnavailable:
        sandboxed = False
    limits = Limits(cell_seconds=20, job_seconds=240)
    autograde(course, jobs=2, limits=limits, sandboxed=sandboxed)
    return course


def test_the_demo_class_mistakes(demo):
    paths = write_class_report(demo, demo.root / "reports")
    tasks = {(t.assignment, t.grade_id): t for t in class_mistakes(trusted_results(demo))}
    for key, counts in DEMO.items():
        assert counts_of(tasks[key]) == counts, key
    text = paths["mistakes_md"].read_text(encoding="utf-8")
    assert "**missing activation derivative**" in text and "(8.16) and (8.22)" in text
    assert paths["page"].is_file() and paths[f"mistakes_plot_{TWO_LAYER}"].is_file()
    tamperer = Counter(
        t.outcome.kind
        for t in tasks[(TWO_LAYER, "backprop_tests")].tallies
        if "tamperer" in t.students
    )
    assert tamperer == {UNRECOGNISED: 1}, "the kernel's claim of full points counts for nothing"
