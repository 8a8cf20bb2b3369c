"""Every registered check: full marks for the reference, below full marks (with the mistake
named) for each mistake it claims to recognise, zero for a blank function."""

from __future__ import annotations

import numpy as np
import pytest

from grader.checks import REGISTRY, get_check
from grader.judge import answers, judge
from grader.seeds import seed

get_check("linear_model_gradient")  # imports every check module
NAMES = sorted(REGISTRY)
MISTAKES = [(name, m.name) for name in NAMES for m in REGISTRY[name].mistakes()]


def run(check, function):
    cases = check.cases(np.random.default_rng(seed("hidden", check.name)))
    return judge(check, cases, answers(check, function, cases))


@pytest.mark.parametrize("name", NAMES)
def test_reference_scores_full_marks(name):
    check = REGISTRY[name]
    verdict = run(check, check.student_function(check.reference))
    assert verdict.points == check.points, [r.problem for r in verdict.results]


@pytest.mark.parametrize("name", NAMES)
def test_blank_scores_zero_and_says_so(name):
    check = REGISTRY[name]

    def blank(*args, **kwargs):
        raise NotImplementedError()

    verdict = run(check, check.student_function(lambda case: blank()))
    assert verdict.points == 0
    assert all("not implemented" in r.problem for r in verdict.results)


@pytest.mark.parametrize(("name", "mistake"), MISTAKES)
def test_each_mistake_loses_points_and_is_named(name, mistake):
    check = REGISTRY[name]
    model = next(m for m in check.mistakes() if m.name == mistake)
    verdict = run(check, check.student_function(model.model))
    assert verdict.points < check.points
    failed = [r for r in verdict.results if not r.passed]
    assert any(model.explanation in r.diagnosis for r in failed), [r.diagnosis for r in failed]


def fingerprint(case):
    values = list(case.args) + [case.kwargs[k] for k in sorted(case.kwargs)]
    return tuple(np.asarray(v, dtype=float).tobytes() if np.ndim(v) else repr(v) for v in values)


@pytest.mark.parametrize("name", NAMES)
def test_visible_cases_differ_from_hidden(name):
    check = REGISTRY[name]
    hidden = check.cases(np.random.default_rng(seed("hidden", name)))
    visible = check.visible_cases(np.random.default_rng(seed("visible", name)))
    assert visible and hidden
    assert not {fingerprint(c) for c in visible} & {fingerprint(c) for c in hidden}
