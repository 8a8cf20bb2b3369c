"""Every registered check: full marks for the reference, zero for a blank function, and for
each mistake it claims to recognise: fewer points on the hidden cases AND on the visible ones,
with that mistake, and no other, named in every failing case; two mistakes never get the same
diagnosis from the visible cases; a cause is named only when its model explains every answer;
generic slips and shape errors name their equation."""

from __future__ import annotations

import numpy as np
import pytest

from grader.checks import REGISTRY, get_check
from grader.judge import _matches, _mistake_text, _parts, answers, judge
from grader.seeds import seed

get_check("linear_model_gradient")  # imports every check module
NAMES = sorted(REGISTRY)
MISTAKES = [(name, m.name) for name in NAMES for m in REGISTRY[name].mistakes()]


def run(check, function, visible=False):
    rng = np.random.default_rng(seed("visible" if visible else "hidden", check.name))
    cases = check.visible_cases(rng) if visible else check.cases(rng)
    return judge(check, cases, answers(check, function, cases))


def mistake(check, name):
    return next(m for m in check.mistakes() if m.name == name)


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


@pytest.mark.parametrize("visible", [False, True], ids=["hidden", "visible"])
@pytest.mark.parametrize(("name", "mistake_name"), MISTAKES)
def test_each_mistake_loses_points_and_is_named(name, mistake_name, visible):
    """The hidden cases and the visible ones both catch the mistake, and every failing case
    that returned numbers names this mistake: the visible cases never let another modelled
    mistake take its place."""
    check = REGISTRY[name]
    model = mistake(check, mistake_name)
    verdict = run(check, check.student_function(model.model), visible)
    assert verdict.points < check.points, "the cases do not catch this mistake"
    failed = [r for r in verdict.results if not r.passed and r.details]
    assert failed
    text = _mistake_text(model)
    assert all(r.diagnosis == text for r in failed), [r.diagnosis for r in failed]


@pytest.mark.parametrize("name", NAMES)
def test_two_mistakes_never_get_the_same_diagnosis(name):
    check = REGISTRY[name]
    diagnoses = {}
    for model in check.mistakes():
        verdict = run(check, check.student_function(model.model), visible=True)
        found = {r.diagnosis for r in verdict.results if not r.passed and r.details}
        assert len(found) == 1, (model.name, found)
        diagnoses[model.name] = found.pop()
    assert len(set(diagnoses.values())) == len(diagnoses), diagnoses


@pytest.mark.parametrize("name", [n for n in NAMES if len(REGISTRY[n].mistakes()) >= 2])
def test_a_cause_is_named_only_when_it_explains_every_answer(name):
    """Half the cases answered with one mistake, half with another: a diagnosis, if any,
    is a mistake whose model gives every answer received."""
    check = REGISTRY[name]
    first, second = check.mistakes()[:2]
    cases = check.visible_cases(np.random.default_rng(seed("visible", name)))
    records = []
    for i, case in enumerate(cases):
        model = first if i % 2 == 0 else second
        records += answers(check, check.student_function(model.model), [case])
    verdict = judge(check, cases, records)
    texts = {_mistake_text(m): m for m in check.mistakes()}
    named = {texts[r.diagnosis] for r in verdict.results if r.diagnosis in texts}
    for model in named:
        theirs = answers(check, check.student_function(model.model), cases)
        for case, received, modelled in zip(cases, records, theirs):
            if "answer" not in received:  # a model that does not apply to this case raised
                assert "answer" not in modelled, (model.name, case.name)
                continue
            got = _parts(check, check.normalize(received["answer"], case))
            want = _parts(check, check.normalize(modelled["answer"], case))
            assert _matches(got, want, 1e-6, 1e-8), (model.name, case.name)


def test_a_batch_mean_is_not_called_a_factor_two():
    """A mean over two data points halves the gradient: the diagnosis is the mean, wherever
    a check models it, never "a factor 2 missing"."""
    for name in NAMES:
        check = REGISTRY[name]
        models = {m.name: m for m in check.mistakes()}
        if "mean instead of sum" not in models:
            continue
        verdict = run(check, check.student_function(models["mean instead of sum"].model), True)
        for result in verdict.results:
            assert "factor 2" not in result.diagnosis, (name, result.diagnosis)


def test_a_generic_slip_names_its_equation():
    check = REGISTRY["linear_model_gradient"]
    verdict = run(check, check.student_function(lambda case: -check.reference(case)), True)
    failed = [r for r in verdict.results if not r.passed]
    assert failed and all("wrong sign" in r.diagnosis for r in failed)
    assert all(r.diagnosis.endswith(f"Reread {check.equation}.") for r in failed)


def test_a_shape_error_in_the_students_code_names_the_shapes():
    check = REGISTRY["two_layer_forward"]

    def forward(W1, b1, W2, b2, X):
        Z = np.tanh(X @ W1 + b1)  # W1 not transposed: a shape error when M != D
        return Z, Z @ W2.T + b2

    verdict = run(check, forward, visible=True)
    hinted = [r for r in verdict.results if "matrix product" in r.diagnosis]
    assert hinted, [r.problem for r in verdict.results]
    for result in hinted:
        assert "W1 (" in result.diagnosis and "X (" in result.diagnosis
        assert "Reread (8.18)-(8.20)." in result.diagnosis


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
