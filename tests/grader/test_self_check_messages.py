"""What the student's self-check says (``grader.notebook``, ``grader.messages``): one message
per task, wrapped as prose; a task not passed yet says so on standard error, where
nbgrader's Validate reads it; what a task forbids is named as the student's code called
it, in one sentence with the task's reason; the summary names tasks as the notebook does;
the generic diagnosis names slips of an input and signs; large arrays are summarised; the
case at the point of a written exercise (Exercise 8.17) names its wrong entries and no number."""

from __future__ import annotations

import re

import numpy as np
import pytest

import autodiff
import autodiff.numpy as anp
from autodiff import grad as differentiate
from grader import notebook
from grader.checks import get_check
from grader.judge import answers, judge, plain_case
from grader.messages import WIDTH, verdict_text
from grader.notebook import TasksNotDone, grade, self_check, summary
from grader.seeds import visible_cases


@pytest.fixture(autouse=True)
def fresh_session():
    """Each test is a kernel of its own: no earlier self-check, grade or cell run."""
    saved = dict(notebook._progress), dict(notebook._hidden_points), list(notebook._runs)
    notebook._progress.clear(), notebook._hidden_points.clear(), notebook._runs.clear()
    yield
    for kept, now in zip(saved, (notebook._progress, notebook._hidden_points, notebook._runs)):
        now.clear()
        now.update(kept) if isinstance(now, dict) else now.extend(kept)


def loss(W, X, T):
    return 0.5 * anp.sum((anp.matmul(X, anp.transpose(W)) - T) ** 2)


def by_hand(W, X, T):
    return (X @ W.T - T).T @ X


def with_grad(W, X, T):
    return autodiff.grad(loss)(W, X, T)


def with_an_alias(W, X, T):
    return differentiate(loss)(W, X, T)


def helper(W, X, T):
    gradient = autodiff.value_and_grad(loss)
    return gradient(W, X, T)[1]


def through_a_helper(W, X, T):
    return helper(W, X, T)


made_by_grad = autodiff.grad(loss)


def sequential_inverse(B, alpha):
    scale = np.linalg.norm(B)  # kept where this task is graded: never reported
    return np.linalg.inv(alpha * np.eye(B.shape[1]) + B.T @ B) + 0 * scale


def stub(*args, **kwargs):
    raise NotImplementedError()


def run(capsys, name, function, **kwargs):
    value = self_check(name, function, **kwargs)
    out, err = capsys.readouterr()
    return value, out, err


# -- what a task forbids -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("function", "named"),
    [
        (with_grad, "`autodiff.grad`"),
        (with_an_alias, "`differentiate (autodiff.grad)`"),
        (through_a_helper, "`autodiff.value_and_grad`"),
        (made_by_grad, None),
    ],
    ids=["as-written", "alias", "in-a-helper", "the-function-itself"],
)
def test_a_forbidden_call_is_named_as_the_student_wrote_it(capsys, function, named):
    value, out, err = run(capsys, "linear_model_gradient", function, task="Task 1")
    assert value is None
    assert "Task 1: all 4 cases pass." in out
    sentence = " ".join(err.split())
    assert sentence.count(".") == sentence.count("autodiff.") + 1, "one sentence"
    assert sentence.endswith("your function would score 0.")
    said = f"calls {named}," if named else "Your function is made by `autodiff.grad`,"
    assert said in sentence
    assert "which this task forbids because it asks you to compute this yourself" in sentence
    for internal in ("transforms", "reverse", "<", "_f", "leaf", "tape"):
        assert internal not in sentence, internal
    assert summary_of("linear_model_gradient").startswith("4 of 4 cases pass; it calls")


def test_a_forbidden_numpy_function_is_named_with_the_reason_of_its_task(capsys):
    _, out, err = run(capsys, "sequential_inverse_hessian", sequential_inverse, task="Task 12")
    sentence = " ".join(err.split())
    assert sentence == (
        "`sequential_inverse` calls `np.linalg.inv`, which this task forbids because it asks "
        "for the inverse by rank-one updates, with no matrix inversion or linear solver; "
        "graded where it does not exist, your function would score 0."
    )
    assert "norm" not in err and "_linalg" not in err


def test_an_honest_function_is_not_warned_about(capsys):
    _, out, err = run(capsys, "linear_model_gradient", by_hand)
    assert err == "" and "All 4 cases pass." in out
    assert summary_of("linear_model_gradient") == "passed"


# -- one message per self-check ----------------------------------------------------------------


def test_a_task_not_attempted_says_so_once_on_standard_error(capsys):
    value, out, err = run(capsys, "linear_model_gradient", stub, task="Task 1")
    assert value is None, "no Out box: the message is said once"
    assert out == ""
    assert " ".join(err.split()) == (
        "Task 1 is not attempted yet: implement `stub` above, then run this cell again."
    )


def test_a_failing_task_prints_its_verdict_and_ends_on_standard_error(capsys):
    def half(W, X, T):
        return 0.5 * by_hand(W, X, T)

    value, out, err = run(capsys, "linear_model_gradient", half, task="Task 1")
    assert value is None
    assert out.startswith("Task 1 self-check: Gradient of the linear model, (8.4)\n")
    assert "[FAIL]" in out and "likely cause" in out
    assert err.strip() == "Task 1 is not passed yet: 0 of 4 cases pass."


def test_a_master_cell_keeps_its_hidden_points_and_writes_nothing_to_stderr(capsys):
    """nbgrader scores a cell that writes to standard error 0: the cell of a master that
    ran ``grade`` keeps the hidden points as its value."""

    def half(W, X, T):
        return 0.5 * by_hand(W, X, T)

    points = grade("linear_model_gradient", half)
    value, out, err = run(capsys, "linear_model_gradient", half)
    assert value == points and err == ""
    assert "is not passed yet" in out


def test_every_line_fits_and_no_word_is_broken(capsys):
    def forward(W1, b1, W2, b2, X):
        Z = np.tanh(X @ W1 + b1)  # W1 untransposed: wrong in the square case, raises else
        return Z, Z @ W2.T + b2

    _, out, err = run(capsys, "two_layer_forward", forward, task="Task 1")
    prose = [line for line in out.splitlines() if not line.lstrip().startswith("[[")]
    prose = [line for line in prose if not re.match(r"\s+\[", line) or "case" in line]
    assert all(len(line) <= WIDTH for line in prose + err.splitlines()), out
    unwrapped = verdict_text(_verdict("two_layer_forward", forward), visible=True, task="Task 1")
    assert out.split() == (unwrapped + "\n" + err).split()[: len(out.split())]


# -- a solution cell that failed to run --------------------------------------------------------


class Ran:
    """What IPython's post_run_cell hook receives."""

    def __init__(self, source: str, before: BaseException | None = None, during=None):
        self.info = type("Info", (), {"raw_cell": source})()
        self.error_before_exec, self.error_in_exec = before, during


def test_a_solution_cell_with_a_syntax_error_is_named(capsys):
    notebook._record_run(Ran("def stub(*args, **kwargs):\n    raise NotImplementedError()\n"))
    error = SyntaxError("'(' was never closed", ("<cell>", 2, 12, "    return (X", 2, 13))
    notebook._record_run(Ran("def stub(*args, **kwargs):\n    return (X\n", before=error))
    _, out, err = run(capsys, "linear_model_gradient", stub, task="Task 1")
    text = " ".join(err.split())
    assert out == "" and "not attempted" not in text
    assert text.startswith("Task 1: the cell that defines `stub` failed to run (SyntaxError:")
    assert "line 2" in text
    assert summary_of("linear_model_gradient") == "its solution cell failed to run"


def test_an_earlier_version_is_checked_with_a_note(capsys):
    notebook._record_run(Ran("def by_hand(W, X, T):\n    return (X\n", before=SyntaxError("x")))
    _, out, err = run(capsys, "linear_model_gradient", by_hand)
    assert "All 4 cases pass." in out
    assert "failed when it last ran (SyntaxError: x)" in " ".join(out.split())


def test_a_solution_cell_run_again_without_error_is_forgotten(capsys):
    notebook._record_run(
        Ran("def stub(*args, **kwargs):\n    return (X\n", before=SyntaxError("x"))
    )
    notebook._record_run(Ran("def stub(*args, **kwargs):\n    raise NotImplementedError()\n"))
    _, _, err = run(capsys, "linear_model_gradient", stub)
    assert "not attempted yet" in err


# -- the summary -------------------------------------------------------------------------------


def summary_of(name: str) -> str:
    return notebook._progress[name][2]


def test_the_summary_names_tasks_as_the_notebook_does(capsys):
    run(capsys, "linear_model_gradient", stub, task="Task 1")
    run(capsys, "canonical_link_gradient", stub)  # no task given: the check's title
    with pytest.raises(TasksNotDone) as raised:
        summary()
    lines = str(raised.value).splitlines()
    assert lines == [
        "2 of 2 tasks are not done yet:",
        "  - Task 1: not attempted yet",
        "  - Gradient of a single-layer model with a canonical link: not attempted yet",
    ]


# -- the generic diagnosis ---------------------------------------------------------------------


def _verdict(name, function, cases=None):
    check = get_check(name)
    cases = visible_cases(check) if cases is None else cases
    return judge(check, cases, answers(check, function, cases))


def _causes(verdict):
    return {r.diagnosis for r in verdict.results if not r.passed and r.diagnosis}


def test_an_untransposed_weight_is_named_in_the_square_case():
    def forward(W1, b1, W2, b2, X):
        Z = np.tanh(X @ W1 + b1)
        return Z, Z @ W2.T + b2

    verdict = _verdict("two_layer_forward", forward)
    square = [r for r in verdict.results if not r.passed and "raised" not in r.problem]
    assert square, "a visible case has D = M"
    for result in square:
        assert result.cause == "W1 transposed"
        assert "with W1 transposed" in result.diagnosis
        assert result.diagnosis.endswith("Reread (8.18)-(8.20).")


def _update(B, alpha, step, start):
    H_inv = start * np.eye(B.shape[1]) / alpha
    for b in B:
        H_inv = step(H_inv, b)
    return H_inv


def test_a_sign_slip_in_the_sequential_inverse_is_named():
    def negative_start(B, alpha):
        return _update(
            B, alpha, lambda H, b: H - np.outer(H @ b, H @ b) / (1 + b @ H @ b), start=-1.0
        )

    verdict = _verdict("sequential_inverse_hessian", negative_start)
    assert {r.cause for r in verdict.results if not r.passed} == {"sign of argument 2 flipped"}
    assert all("look for a sign slip" in d for d in _causes(verdict))


def test_a_sign_slip_in_some_cases_only_is_said_where_it_shows():
    def reversed_update(B, alpha):  # the right inverse negated after one update, not after two
        return _update(
            B, alpha, lambda H, b: np.outer(H @ b, H @ b) / (1 + b @ H @ b) - H, start=1.0
        )

    verdict = _verdict("sequential_inverse_hessian", reversed_update)
    first = verdict.results[0]  # one vector b: the negated inverse
    assert first.diagnosis.startswith("In this case H^-1 has the wrong sign everywhere")
    assert first.cause == "", "a fact about one case is no cause for the class report"


def test_signs_flipped_off_the_diagonal_are_named():
    check = get_check("outer_product_hessian_linear")

    def off_diagonal(case):
        H = np.asarray(check.reference(case))
        return 2 * np.diag(np.diag(H)) - H

    verdict = _verdict(check.name, check.student_function(off_diagonal))
    assert _causes(verdict) == {
        "H has the wrong sign off the diagonal (the diagonal is right). "
        "Reread (8.40), Exercise 8.8."
    }


def test_a_hidden_verdict_names_the_same_slips_in_the_graders_words():
    def forward(W1, b1, W2, b2, X):
        Z = np.tanh(X @ W1 + b1)
        return Z, Z @ W2.T + b2

    check = get_check("two_layer_forward")
    cases = visible_cases(check)
    hidden = judge(check, cases, answers(check, forward, cases), hidden=True)
    assert {r.cause for r in hidden.results if r.cause} == {"W1 transposed"}
    assert all(not r.details for r in hidden.results)


# -- large arrays ------------------------------------------------------------------------------


def test_an_array_of_three_axes_is_shown_by_the_matrix_with_the_largest_error():
    check = get_check("output_gradients_backprop")
    cases = visible_cases(check)[:1]

    def shifted(case):
        right = np.asarray(check.reference(case))
        wrong = right.copy()
        wrong[2, 1, 4] += 1.0
        return wrong

    verdict = _verdict(check.name, check.student_function(shifted), cases)
    details = verdict.results[0].details
    shape = np.shape(check.reference(cases[0]))
    assert len(shape) == 3
    largest = f"the matrix [2, :, :] of shape {shape}, the one with the largest error"
    assert details[0] == f"expected: {largest}"
    assert f"received: {largest}" in details
    rows = [line for line in details if line.startswith("  ")]
    assert len(rows) == 2 * shape[1], "one line per row of each matrix"
    assert all(len(line) <= 100 and "..." in line for line in rows)


# -- the answers of written exercises ----------------------------------------------------------

BOOK_POINT = {  # the checks whose first visible case is the point (1, 2) of Exercise 8.17
    "adjoint_trace_8_49": lambda x1, x2: np.zeros(7),
    "tangent_trace_8_49": lambda x1, x2, d1, d2: (np.zeros(7), np.zeros(7)),
}


def _written_forms(x: float) -> list[str]:
    """The ways a message could write the number ``x``: 3 to 6 significant digits, 2 to 5
    decimals, with and without its sign (an integer, such as v̄7 = 1, is no giveaway and is
    skipped)."""
    if float(x) == round(x):
        return []
    forms = {f"{x:.{digits}g}" for digits in range(3, 7)}
    forms |= {f"{x:.{digits}f}" for digits in range(2, 6)}
    return sorted(forms | {f"{abs(x):.{digits}g}" for digits in range(3, 7)})


@pytest.mark.parametrize("name", sorted(BOOK_POINT))
def test_the_self_check_withholds_the_answers_of_exercise_8_17(capsys, name):
    """An all-zero attempt: the case at the book's point (1, 2) says which entries are wrong
    and no number (the adjoints and tangents there are what the written Exercise 8.17 asks
    for, before the task), while the cases at other points show expected against received."""
    check = get_check(name)
    book, *others = visible_cases(check)
    assert book.args[:2] == (1.0, 2.0) and book.withhold_values
    assert not any(case.withhold_values for case in others)
    expected = np.concatenate([np.ravel(part) for part in check.as_parts(check.reference(book))])
    _, out, err = run(capsys, name, BOOK_POINT[name], task="Task 1")
    text = out + err
    for value in expected:
        for form in _written_forms(float(value)):
            assert form not in text, (form, value)
    assert "16.778" not in text and "8.805" not in text

    verdict = _verdict(name, BOOK_POINT[name])
    withheld, *shown = verdict.results
    assert not withheld.passed and not withheld.details
    assert "at indices 0, 1, 2, 3, 4, 5, 6 (7 of 7 entries;" in withheld.problem
    assert "not shown" in withheld.problem and "error" not in withheld.problem
    assert not re.search(r"\d\.\d", withheld.problem), withheld.problem
    assert shown[0].details[0].startswith("expected: ") and "max abs error" in shown[0].problem


def test_a_withheld_case_names_the_wrong_entry_and_the_cause():
    """(8.75) as printed: v̄2 alone is wrong at (1, 2), said by its index, and the cause is
    named as in any other case."""
    from grader.checks.reverse_mode.adjoint_trace import _book_adjoints

    verdict = _verdict(
        "adjoint_trace_8_49", lambda x1, x2: _book_adjoints(x1, x2, printed_8_75=True)
    )
    withheld = verdict.results[0]
    assert "is wrong at index 1 (1 of 7 entries;" in withheld.problem
    assert not withheld.details and withheld.cause == "printed (8.75)"
    assert not re.search(r"\d\.\d", withheld.problem), withheld.problem


def test_a_withheld_case_shows_no_numbers_of_a_wrong_shape_and_stays_out_of_the_kernel():
    check = get_check("adjoint_trace_8_49")
    cases = visible_cases(check)
    verdict = judge(check, cases, answers(check, lambda x1, x2: np.ones(6), cases))
    assert verdict.results[0].problem.endswith("has shape (6,), expected (7,)")
    assert not verdict.results[0].details and verdict.results[1].details
    hidden = judge(check, cases, answers(check, BOOK_POINT[check.name], cases), hidden=True)
    assert "max abs error" not in hidden.results[0].problem
    assert "max abs error" in hidden.results[1].problem
    assert "withhold_values" not in plain_case(cases[0]), "the kernel never needs it"
    passed = judge(check, cases, answers(check, check.student_function(check.reference), cases))
    assert passed.points == check.points, "a withheld case is judged as any other"
