"""Answers in single precision: a float32 answer accurate to float32 keeps its points, with a
note; a float64 answer that is only as accurate as float32 loses them, and the message says
that precision is the cause."""

from __future__ import annotations

import numpy as np

from grader.checks import get_check
from grader.judge import answers, judge
from grader.seeds import hidden_cases

CHECK = get_check("two_layer_forward")


def forward32(W1, b1, W2, b2, X):
    Z = np.tanh(X.astype(np.float32) @ W1.T.astype(np.float32) + b1.astype(np.float32))
    return Z, Z @ W2.T.astype(np.float32) + b2.astype(np.float32)


def mixed(W1, b1, W2, b2, X):
    Z, Y = forward32(W1, b1, W2, b2, X)
    return Z.astype(np.float64), Y.astype(np.float64)


def run(function):
    cases = hidden_cases(CHECK, "precision")
    return judge(CHECK, cases, answers(CHECK, function, cases))


def test_a_float32_answer_keeps_its_points_with_a_note():
    verdict = run(forward32)
    assert verdict.points == CHECK.points
    assert all(any("float32" in w for w in r.warnings) for r in verdict.results)


def test_float32_inside_a_float64_answer_is_named_as_the_cause():
    verdict = run(mixed)
    failing = [r for r in verdict.results if not r.passed]
    assert failing and verdict.points < CHECK.points
    assert all("single precision" in r.diagnosis and "float32" in r.diagnosis for r in failing)
