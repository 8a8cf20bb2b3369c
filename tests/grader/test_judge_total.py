"""The judge is total: for every registered check, any records the channel can deliver (any
answer, any error, any warnings, records missing or not records at all) give a verdict with
points in range, one result per case, a text and a JSON form; and a hidden verdict repeats
no text the records hold, while the grader's own words (a pass, a diagnosis) survive."""

from __future__ import annotations

import copy
import functools
import json
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from grader.checks import REGISTRY, get_check
from grader.framework import Case
from grader.judge import Verdict, _mistake_text, answers, judge
from grader.messages import verdict_text
from grader.sandboxed import channel
from grader.seeds import hidden_cases

get_check("linear_model_gradient")  # imports every check module
NAMES = sorted(REGISTRY)
SENTINEL = "Zq7-student-text-7qZ"
SECRET = "the secret of the tests"
PROPERTY = settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@functools.cache
def cases_of(name: str) -> list[Case]:
    """The hidden cases of check ``name`` for one student."""
    return hidden_cases(REGISTRY[name], SECRET, "an assignment", "a student")


@functools.cache
def graded(name: str) -> tuple[list[Case], list[dict]]:
    """The hidden cases of check ``name`` for one student, and the reference's records."""
    check, cases = REGISTRY[name], cases_of(name)
    return cases, answers(check, check.student_function(check.reference), cases)


def through_channel(value):
    """``value`` as the trusted side receives it."""
    return channel.decode(channel.encode(value))


# -- the channel's value space -----------------------------------------------------------------

NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, allow_subnormal=True),
    st.integers(),
    st.sampled_from([0.0, -0.0, 1e308, -1e308, 5e-324, math.nan, math.inf, -math.inf]),
    st.sampled_from([2**63, 2**64, -(2**63) - 1, 10**400, -(10**400)]),
)
ARRAYS = hnp.arrays(
    dtype=st.sampled_from([np.dtype(name) for name in channel.DTYPES]),
    shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4),
)
BUILTIN_ERRORS = ["ValueError", "NotImplementedError", "IndexError", "RecursionError"]
WARNING_CATEGORIES = ["RuntimeWarning", "UserWarning", "stderr", "DeprecationWarning"]
NUMPY_MESSAGES = [
    "matmul: Input operand 1 has a mismatch in its core dimension 0, with gufunc signature "
    "(n?,k),(k,m?)->(n?,m?) (size 3 is different from 2)",
    "shapes (2,3) and (4,5) not aligned: 3 (dim 1) != 4 (dim 0)",
    "operands could not be broadcast together with shapes (2,3) (3,2) ",
    "index 7 is out of bounds for axis 0 with size 3",
    "shapes (" + "1" * 300 + ") and (1234567,) not aligned",
]


TEXTS = st.one_of(st.text(max_size=12), st.text(max_size=6).map(lambda text: text + SENTINEL))
"""Texts the student's code writes, some of them with the sentinel."""

VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), NUMBERS, TEXTS, ARRAYS),
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.tuples(children, children),
        # the channel's own array tag is not a key the kernel's records can hold
        st.dictionaries(TEXTS.filter(lambda key: key != channel.ARRAY_TAG), children, max_size=3),
    ),
    max_leaves=8,
)
"""Anything the channel carries, its texts (dict keys too) from ``TEXTS``."""


def mapped(value, array, number):
    """``value`` with every array passed through ``array`` and every float through
    ``number``, its structure kept."""
    if isinstance(value, np.ndarray):
        with np.errstate(all="ignore"):
            return array(value)
    if isinstance(value, list):
        return [mapped(v, array, number) for v in value]
    if isinstance(value, float):
        return number(value)
    return value


def first_number_nan(value):
    """``value`` (a copy) with its first number turned into NaN."""
    value = copy.deepcopy(value)
    stack = [value]
    while stack:
        item = stack.pop(0)
        if isinstance(item, np.ndarray) and item.size:
            item.flat[0] = np.nan
            return value
        if isinstance(item, list):
            for i, entry in enumerate(item):
                if isinstance(entry, float):
                    item[i] = math.nan
                    return value
            stack = list(item) + stack
    return value


def recast(dtype):
    """The answer with its arrays in another dtype the channel carries."""
    return lambda value: mapped(value, lambda a: a.astype(dtype), float)


def reshaped(reshape):
    """The answer with its arrays reshaped (or as nested lists)."""
    return lambda value: mapped(value, reshape, float)


TRANSFORMS = [
    lambda value: value,
    first_number_nan,
    lambda value: mapped(value, np.negative, lambda x: -x),
    lambda value: mapped(value, lambda a: a * np.inf, lambda x: x * math.inf),
    *[recast(dtype) for dtype in ("bool", "int8", "int64", "float16", "float32")],
    *[
        reshaped(reshape)
        for reshape in (
            lambda a: a.T,
            lambda a: a.reshape(-1),
            lambda a: a[None],
            lambda a: a.reshape(-1)[:0],
            lambda a: a.tolist() if a.size <= 1000 else a[:2].tolist(),  # cheap to send
        )
    ],
]
"""Answers made from the right one: itself, its first number NaN, negated, infinite, in
another dtype, in another shape."""


@functools.cache
def arrays_of_shape(shape: tuple) -> st.SearchStrategy:
    return hnp.arrays(st.sampled_from([np.dtype(name) for name in channel.DTYPES]), shape)


@st.composite
def same_structure(draw, value):
    """``value``'s structure with other numbers: any array of each array's shape (any dtype
    the channel carries), any number for each number."""
    if isinstance(value, np.ndarray):
        return draw(arrays_of_shape(value.shape))
    if isinstance(value, list):
        return [draw(same_structure(v)) for v in value]
    if isinstance(value, float):
        return draw(NUMBERS)
    return value


def answers_like(reference) -> st.SearchStrategy:
    """Answers for a case whose right answer is ``reference``: anything at all, one made
    from the right one (``TRANSFORMS``), the right structure with any values."""
    return st.one_of(
        st.sampled_from(TRANSFORMS).map(lambda transform: transform(reference)),
        VALUES,
        same_structure(reference),
    )


MESSAGES = st.one_of(
    TEXTS, st.tuples(st.sampled_from(NUMPY_MESSAGES), TEXTS).map(lambda pair: "".join(pair))
)
ERRORS = st.one_of(
    st.fixed_dictionaries(
        {
            "kind": st.one_of(st.sampled_from(channel.ERROR_KINDS), TEXTS, VALUES),
            "type": st.one_of(st.sampled_from(BUILTIN_ERRORS), TEXTS, VALUES),
            "message": st.one_of(MESSAGES, VALUES),
        }
    ),
    VALUES,
)
"""The error of a record: every kind, and any type and message (or no dict at all)."""

WARNING = st.fixed_dictionaries(
    {"category": st.one_of(st.sampled_from(WARNING_CATEGORIES), TEXTS), "message": TEXTS}
)
WARNINGS = st.one_of(st.lists(st.one_of(WARNING, VALUES), max_size=4), VALUES)
"""The warnings of a record: well-formed ones of any category and text, or anything."""

PRECISIONS = st.one_of(st.sampled_from(["float32", "float16"]), VALUES)

RECORD_SHAPES = ["answer"] * 4 + ["error"] * 3 + ["neither", "not a record", "another case"]
"""The shapes of a record, the most informative first (hypothesis starts from the first)."""


@st.composite
def record_for(draw, reference: dict):
    """A record in place of the reference's ``reference``: of any shape the channel carries."""
    shape = draw(st.sampled_from(RECORD_SHAPES))
    if shape == "not a record":
        return draw(VALUES)
    record = {"case": reference["case"] + ("!" if shape == "another case" else "")}
    if shape in ("answer", "another case"):
        record["answer"] = draw(answers_like(reference["answer"]))
    if shape == "error":
        record["error"] = draw(ERRORS)
    record["warnings"] = draw(WARNINGS)
    record["seconds"] = draw(NUMBERS)
    if draw(st.booleans()):
        record["precision"] = draw(PRECISIONS)
    return record


@st.composite
def records_for(draw, name: str):
    """Records for check ``name``'s cases, as the channel delivers them: one a case, too
    few, or something else than a list."""
    _, good = graded(name)
    records = [draw(record_for(reference)) for reference in good]
    ending = draw(st.sampled_from(["all"] * 6 + ["too few", "not a list"]))
    if ending == "too few":
        records = records[: draw(st.integers(0, len(records) - 1))]
    if ending == "not a list":
        records = draw(VALUES)
    return through_channel(records)


# -- a verdict for everything ------------------------------------------------------------------


def assert_sound(verdict: Verdict, check, cases) -> None:
    """A verdict whose points are in range, with one result per case, that reads as text
    and serialises as JSON."""
    assert isinstance(verdict, Verdict)
    assert 0 <= verdict.points <= check.points
    assert [r.case for r in verdict.results] == [case.name for case in cases]
    for visible in (False, True):
        assert isinstance(verdict_text(verdict, visible=visible), str)
    json.dumps(verdict.to_dict(), allow_nan=False)


def assert_no_student_text(verdict: Verdict) -> None:
    """Nothing a record held is in ``verdict`` nor in its text, and no values are shown."""
    assert SENTINEL not in json.dumps(verdict.to_dict(), ensure_ascii=False)
    assert SENTINEL not in verdict_text(verdict)
    for result in verdict.results:
        assert not any(d.startswith(("expected:", "received:")) for d in result.details)


@pytest.mark.parametrize("name", NAMES)
@PROPERTY
@given(data=st.data())
def test_any_records_give_a_sound_verdict_and_a_hidden_one_without_their_text(name, data):
    check = REGISTRY[name]
    cases, _ = graded(name)
    records = data.draw(records_for(name))
    assert_sound(judge(check, cases, records), check, cases)
    verdict = judge(check, cases, records, hidden=True)
    assert_sound(verdict, check, cases)
    assert_no_student_text(verdict)


def planted_records(name: str) -> list[dict]:
    """One record per case with the sentinel in every text the student's code controls:
    exception types and messages, warning categories and messages, a text answer, dict
    keys; and wrong numbers, for the errors that quote values."""
    _, good = graded(name)
    warned = [
        {"category": SENTINEL, "message": SENTINEL},
        {"category": "stderr", "message": SENTINEL},
        {"category": "RuntimeWarning", "message": SENTINEL},
    ]
    shape_error = NUMPY_MESSAGES[0] + SENTINEL
    variants = [
        {"error": {"kind": channel.RAISED, "type": SENTINEL, "message": SENTINEL}},
        {"answer": mapped(good[1]["answer"], lambda a: a + 1.0, lambda x: x + 1.0)},
        {"answer": {SENTINEL: SENTINEL, "x": [SENTINEL, 1.0]}},
        {"answer": SENTINEL},
        {"error": {"kind": channel.NOT_NUMBERS, "type": SENTINEL, "message": SENTINEL}},
        {"error": {"kind": channel.RAISED, "type": "ValueError", "message": shape_error}},
        {"error": {"kind": channel.TIMEOUT, "type": SENTINEL, "message": SENTINEL}},
    ]
    records = [
        {"case": reference["case"], "warnings": warned, "seconds": 0.1} | variant
        for reference, variant in zip(good, variants)
    ]
    return through_channel(records)


@pytest.mark.parametrize("name", NAMES)
def test_planted_student_text_never_reaches_a_hidden_verdict(name):
    check = REGISTRY[name]
    cases, _ = graded(name)
    records = planted_records(name)
    assert SENTINEL in verdict_text(judge(check, cases, records)), "the full detail shows it"
    verdict = judge(check, cases, records, hidden=True)
    assert_sound(verdict, check, cases)
    assert_no_student_text(verdict)
    notes = {note for r in verdict.results for note in r.warnings}
    assert any("wrote to standard error" in note for note in notes), notes
    assert any("a few warnings (of another class, RuntimeWarning)" in n for n in notes), notes


# -- the grader's own words survive a hidden verdict ------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_a_hidden_verdict_passes_the_reference(name):
    check = REGISTRY[name]
    cases, good = graded(name)
    verdict = judge(check, cases, good, hidden=True)
    assert verdict.points == check.points, [r.problem for r in verdict.results]


@pytest.mark.parametrize("name", [n for n in NAMES if REGISTRY[n].mistakes()])
def test_a_hidden_verdict_names_a_modelled_mistake_as_the_full_one_does(name):
    check = REGISTRY[name]
    cases, _ = graded(name)
    mistake = check.mistakes()[0]
    records = answers(check, check.student_function(mistake.model), cases)
    full, hidden = judge(check, cases, records), judge(check, cases, records, hidden=True)
    assert hidden.points == full.points < check.points
    answered = ["error" not in record for record in records]  # a raising case's hint differs
    pairs = [(h, f) for h, f, a in zip(hidden.results, full.results, answered) if a]
    assert [h.diagnosis for h, _ in pairs] == [f.diagnosis for _, f in pairs]
    assert _mistake_text(mistake) in {r.diagnosis for r in hidden.results}
    assert all(not r.details for r in hidden.results)


# -- the inputs that crashed the judge, and the texts of each kind of error --------------------

LINEAR = "linear_model_gradient"


def judged(records_of, hidden=False, name=LINEAR):
    """The verdict on the records ``records_of(reference records)`` returns."""
    check = REGISTRY[name]
    cases, good = graded(name)
    return judge(check, cases, through_channel(records_of(copy.deepcopy(good))), hidden=hidden)


def with_answer(make):
    """Records whose first answer is ``make(the right one)``, the others right."""
    return lambda good: [{**good[0], "answer": make(good[0]["answer"])}, *good[1:]]


def with_error(kind, type_name="", message=""):
    error = {"kind": kind, "type": type_name, "message": message}
    return lambda good: [{**good[0], "error": error}, *good[1:]]


@pytest.mark.parametrize(
    "make",
    [
        lambda right: np.full_like(right, np.nan),
        lambda right: 10**400,
        lambda right: [[10**400]],
        lambda right: np.full_like(right, np.inf),
        lambda right: [[-(2**64)]],
        lambda right: right.astype(np.int8),
        lambda right: right.astype(bool),
    ],
    ids=["all NaN", "huge int", "huge int in a list", "all inf", "below int64", "int8", "bool"],
)
def test_hostile_answers_score_zero_with_a_problem(make):
    """The first three crashed the judge (a NaN ratio rounded, ints too large for a float)."""
    verdict = judged(with_answer(make))
    assert not verdict.results[0].passed and verdict.results[0].problem


@pytest.mark.parametrize(
    "records_of",
    [
        lambda good: [{**good[0], "case": [good[0]["case"], 1]}, *good[1:]],
        lambda good: [{**good[0], "precision": np.array([1.0, 2.0])}, *good[1:]],
        lambda good: [{**good[0], "warnings": 5}, *good[1:]],
        lambda good: [{**good[0], "warnings": [{"category": np.ones(2)}]}, *good[1:]],
        with_error(np.ones(2), "ValueError", "m"),
        lambda good: 5,
    ],
    ids=[
        "case a list",
        "precision an array",
        "warnings a number",
        "category an array",
        "kind an array",
        "records a number",
    ],
)
def test_records_that_crashed_the_judge_give_a_verdict(records_of):
    for hidden in (False, True):
        assert_sound(judged(records_of, hidden), REGISTRY[LINEAR], graded(LINEAR)[0])


@pytest.mark.parametrize("name", ["logistic_map_derivative", "reverse_mode_engine"])
def test_a_number_too_large_for_a_float_in_a_checks_own_reading_scores_zero(name):
    verdict = judged(lambda good: [{**good[0], "answer": [10**400, 1.0]}, *good[1:]], name=name)
    assert not verdict.results[0].passed and verdict.results[0].problem


def test_a_shape_error_hint_ends_on_a_hostile_message():
    """The shapes in a message were matched with a pattern that backtracks exponentially on
    a parenthesis followed by digits (2.7 s for 24 digits, doubling with each one: 2000
    digits would never end).  The hint must end; the bound is a hang's, not a speed."""
    import threading

    def hostile():
        judged(with_error(channel.RAISED, "ValueError", "shapes not aligned (" + "1" * 2000 + "x"))
        judged(with_error(channel.RAISED, "ValueError", "could not be broadcast (" + "1" * 2000))

    thread = threading.Thread(target=hostile, daemon=True)
    thread.start()
    thread.join(timeout=120)
    assert not thread.is_alive(), "the hint did not end on a hostile message"


def test_a_hidden_shape_error_hint_keeps_no_number_of_the_message():
    """The sizes in a hidden case's exception are the student code's to choose (a channel
    for the hidden inputs): the hint gives the case's own argument shapes instead."""
    message = "shapes (2,3) and (1234567,5) not aligned " + SENTINEL
    full = judged(with_error(channel.RAISED, "ValueError", message)).results[0]
    hidden = judged(with_error(channel.RAISED, "ValueError", message), hidden=True).results[0]
    assert "np.dot" in hidden.diagnosis and "The arguments of this case" in hidden.diagnosis
    assert "(2, 3)" in full.diagnosis and "(2, 3)" not in hidden.diagnosis
    assert "1234567" not in hidden.diagnosis and SENTINEL not in hidden.diagnosis
    assert SENTINEL in full.problem and SENTINEL not in hidden.problem
    assert hidden.problem == "your function raised ValueError"


@pytest.mark.parametrize("hidden", [False, True])
def test_an_exception_of_its_own_class_is_named_only_in_full_detail(hidden):
    result = judged(with_error(channel.RAISED, "MyError", "boom"), hidden).results[0]
    if hidden:
        assert result.problem == "your function raised an exception of its own class"
    else:
        assert result.problem == "your function raised MyError: boom"


@pytest.mark.parametrize("hidden", [False, True])
def test_not_implemented_reads_the_same_in_both_modes(hidden):
    result = judged(with_error(channel.RAISED, "NotImplementedError"), hidden).results[0]
    assert result.problem.startswith("not implemented yet")


@pytest.mark.parametrize(
    "kind",
    [
        channel.TIMEOUT,
        channel.NOT_RUN,
        channel.UNDEFINED,
        channel.NOT_CALLABLE,
        channel.NOT_NUMBERS,
    ],
)
def test_the_problem_of_each_kind_is_in_the_graders_words(kind):
    hidden = judged(with_error(kind, SENTINEL, SENTINEL), hidden=True).results[0]
    full = judged(with_error(kind, SENTINEL, SENTINEL)).results[0]
    assert SENTINEL not in hidden.problem and hidden.problem and not hidden.details
    assert SENTINEL in full.problem + " ".join(full.details)


BUDGETED = [n for n in NAMES if any(case.seconds for case in cases_of(n))]


def timed_out(records: list[dict], index: int) -> list[dict]:
    """``records`` with the case at ``index`` stopped at its time limit."""
    error = {"kind": channel.TIMEOUT, "type": "", "message": "stopped after the time limit"}
    return [*records[:index], {**records[index], "error": error}, *records[index + 1 :]]


@pytest.mark.parametrize("hidden", [False, True])
@pytest.mark.parametrize("name", BUDGETED)
def test_a_case_over_its_own_budget_says_what_the_budget_allows(name, hidden):
    check = REGISTRY[name]
    cases, good = graded(name)
    costly = next(i for i, case in enumerate(cases) if case.seconds)
    problem = judge(check, cases, timed_out(good, costly), hidden=hidden).results[costly].problem
    assert "too slow" in problem and f"budget of {cases[costly].seconds:g} s" in problem
    assert problem.endswith(f"which allows a method {check.cost_reason}")
    plain = judge(check, cases, timed_out(good, 0), hidden=hidden).results[0].problem
    assert "time limit" in plain and check.cost_reason not in plain
