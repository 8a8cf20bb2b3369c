"""A hidden verdict repeats no number the student's answer chose: not where the wrong or NaN
entries are, not how many there are, not the digits of an error nor of the factor the answer
is off by, not how many values it returned.  Those are the student's code's to choose, so it
could write into them what it read from the hidden inputs and read them back from the
feedback.  What is left is the power of ten of an error.  A verdict with full detail (the
self-check) keeps every number."""

from __future__ import annotations

import functools
import re

import numpy as np

from grader.checks import get_check
from grader.framework import Case
from grader.judge import answers, judge
from grader.judge.compare import _compare
from grader.judge.show import _decade
from grader.messages import verdict_text
from grader.seeds import hidden_cases, visible_cases

CHECK = "linear_model_gradient"  # one output, a K x D matrix; its first case is 1 x 1
DECADE = re.compile(r"between 1e[+-]\d+ and 1e[+-]\d+")
TOLERANCE = (1e-7, 1e-9)


@functools.cache
def cases() -> list[Case]:
    return hidden_cases(get_check(CHECK), "the secret of the tests", "a1", "a student")


def correct(W, X, T):
    return (X @ W.T - T).T @ X


def changed(change):
    """The correct function with ``change`` applied to (a copy of) its answer."""

    def function(W, X, T):
        return change(np.array(correct(W, X, T), dtype=np.float64))

    return function


def at(place: str, value: float | None = None, by: float = 0.0, times: float = 1.0):
    """A change of one entry of the answer, its first or its last ``place``: set to
    ``value``, else multiplied by ``times`` and moved by ``by``."""

    def change(g: np.ndarray) -> np.ndarray:
        index = (0,) * g.ndim if place == "first" else tuple(n - 1 for n in g.shape)
        g[index] = value if value is not None else g[index] * times + by
        return g

    return change


def feedback(function, hidden: bool = True) -> str:
    check = get_check(CHECK)
    return verdict_text(judge(check, cases(), answers(check, function, cases()), hidden=hidden))


def up_to_decades(text: str) -> str:
    return DECADE.sub("between <decade>", text)


def test_answers_wrong_in_different_places_by_different_amounts_give_the_same_feedback():
    """The error in the first entry, 1.4e6 too large, or in the last, 3.7e6 too small: the
    same hidden feedback up to the powers of ten, without an index or the digits."""
    first = feedback(changed(at("first", by=1.4e6)))
    last = feedback(changed(at("last", by=-3.7e6)))
    assert up_to_decades(first) == up_to_decades(last)
    for text in (first, last):
        assert "max abs error between 1e+06 and 1e+07" in text
        assert "index" not in text and "1.4" not in text and "3.7" not in text
    assert "(largest at index (0, 0))" in feedback(changed(at("first", by=1.4e6)), hidden=False)


def test_the_size_of_an_error_is_told_by_its_power_of_ten_alone():
    """Where ``want`` is all ones, the relative error is the absolute one: two errors in the
    same power of ten at different entries read the same, to the letter."""
    want = np.ones((5, 2))
    got_a, got_b = want.copy(), want.copy()
    got_a[4, 0] += 1.4e6
    got_b[1, 1] -= 9.2e6
    for got in (got_a, got_b):
        assert _compare("g", want, got, TOLERANCE, hidden=True) == (
            "g is wrong: max abs error between 1e+06 and 1e+07, "
            "max rel error between 1e+06 and 1e+07",
            [],
        )
    full = _compare("g", want, got_a, TOLERANCE, hidden=False)[0]
    assert full == (
        "g is wrong: max abs error 1.4e+06, max rel error 1.4e+06 (largest at index (4, 0))"
    )


def test_the_powers_of_ten_told_are_bounded():
    assert _decade(1.4e6) == _decade(9.9e6) == "between 1e+06 and 1e+07"
    assert _decade(1e-3) == "between 1e-03 and 1e-02"
    assert _decade(1e-300) == _decade(0.0) == "below 1e-12"
    assert _decade(1e300) == _decade(np.inf) == _decade(np.nan) == "above 1e+12"
    assert _decade(np.nextafter(1e12, 0.0)) == "between 1e+11 and 1e+12"


def test_nan_and_infinite_entries_are_named_without_their_number_or_place():
    one_nan = feedback(changed(at("first", value=np.nan)))
    infinite_last = feedback(changed(at("last", value=-np.inf)))
    assert one_nan == infinite_last
    assert "dE/dW has NaN or infinite entries" in one_nan and "index" not in one_nan
    full = feedback(changed(at("first", value=np.nan)), hidden=False)
    assert "dE/dW has 1 entry that is NaN or infinite at index (0, 0)" in full


def test_a_sign_flipped_in_one_entry_is_named_without_the_entry():
    first = feedback(changed(at("first", times=-1.0)))
    last = feedback(changed(at("last", times=-1.0)))
    assert up_to_decades(first) == up_to_decades(last)
    assert "has the wrong sign in some entries" in first
    assert "index" not in first and "indices" not in first
    assert "has the wrong sign at index (0, 0)" in feedback(
        changed(at("first", times=-1.0)), hidden=False
    )


def test_a_whole_factor_is_told_by_its_power_of_ten_alone():
    by_three = feedback(changed(lambda g: g / 3))
    by_seven = feedback(changed(lambda g: g / 7))
    assert up_to_decades(by_three) == up_to_decades(by_seven)
    assert "divided by a whole number between 1e+00 and 1e+01" in by_seven
    assert "divided by 7" in feedback(changed(lambda g: g / 7), hidden=False)


def test_an_answer_of_the_wrong_structure_is_not_counted_back():
    """A tuple of three or of five arrays where two are expected: the check's own message
    counts them; the hidden verdict says what it expects."""
    check = get_check("two_layer_forward")
    shown = visible_cases(check)

    def returning(count):
        return lambda W1, b1, W2, b2, X: tuple(np.zeros(1) for _ in range(count))

    texts = [
        verdict_text(judge(check, shown, answers(check, returning(n), shown), hidden=True))
        for n in (3, 5)
    ]
    assert texts[0] == texts[1]
    assert "the answer has the wrong structure: expected a tuple of 2 arrays (Z, Y)" in texts[0]
    full = verdict_text(judge(check, shown, answers(check, returning(3), shown)))
    assert "got a list of 3 values" in full  # the channel sends a tuple as a list


def test_a_withheld_case_in_a_hidden_verdict_names_no_wrong_entry():
    check = get_check("adjoint_trace_8_49")
    shown = visible_cases(check)
    assert shown[0].withhold_values

    def wrong_at(index):
        def function(x1, x2):
            adjoints = np.array(check.reference(Case("", (x1, x2), {})), dtype=np.float64)
            adjoints[index] += 1.0
            return adjoints

        return function

    problems = [
        judge(check, shown, answers(check, wrong_at(i), shown), hidden=True).results[0].problem
        for i in (1, 5)
    ]
    assert problems[0] == problems[1]
    assert "not shown" in problems[0] and "ind" not in problems[0], problems[0]
    full = judge(check, shown, answers(check, wrong_at(1), shown)).results[0].problem
    assert "is wrong at index 1 (1 of 7 entries;" in full


def test_a_hidden_verdict_does_not_count_warnings_exactly():
    """How many warnings a function emits is its own to choose: a hidden verdict says one,
    a few or many, never the number."""
    from grader.judge.errors import _counted_warnings

    def emitted(n):
        return _counted_warnings([{"category": "RuntimeWarning", "message": "x"}] * n)

    assert emitted(7645) == emitted(8220) and "many warnings (RuntimeWarning)" in emitted(12)[0]
    assert "a few warnings" in emitted(3)[0] and "one warning" in emitted(1)[0]
    assert not any(str(n) in emitted(n)[0] for n in (3, 12, 7645))
