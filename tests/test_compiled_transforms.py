"""Every test of ``test_transforms`` again, with every transform compiled.

Inside these tests ``autodiff.grad(f)`` is ``autodiff.compile(grad(f))`` (and so for
``value_and_grad``, ``jacfwd``, ``jacrev``, ``hessian``), ``jvp``, ``vjp`` and ``hvp`` run
their call compiled, and each compiled function is called three times (recorded, recorded
again and compared, replayed) with the result of each call checked.  Nested transforms are
then compiled functions under transforms, which run as they are: the outermost one records
the whole nesting.
"""

from __future__ import annotations

import pytest
import test_transforms as base

import autodiff
from autodiff.core import Traceable
from autodiff.programs.compiled import Compiled
from autodiff.pytree import flatten

_EAGER = {name: getattr(autodiff, name) for name in ("grad", "value_and_grad", "jacfwd")}
_EAGER.update({name: getattr(autodiff, name) for name in ("jacrev", "hessian", "jvp", "vjp")})
_EAGER["hvp"] = autodiff.hvp


class ThreeCalls(Compiled):
    """A compiled function whose every call with plain arguments is made three times,
    each result compared with the first."""

    def __call__(self, *args, **kwargs):
        first = Compiled.__call__(self, *args, **kwargs)
        if any(isinstance(x, Traceable) for x in flatten((args, kwargs, first))[0]):
            return first  # under a transform, or closing over one: it ran as it is
        for _ in range(2):
            last = Compiled.__call__(self, *args, **kwargs)
            base.close_tree(last, first, rtol=1e-13)
        return last


def _compiled_transform(name):
    eager = _EAGER[name]

    def transform(f, *args, **kwargs):
        return ThreeCalls(eager(f, *args, **kwargs))

    return transform


def _compiled_jvp(f, primals, tangents):
    return ThreeCalls(lambda p, t: _EAGER["jvp"](f, p, t))(tuple(primals), tuple(tangents))


def _compiled_vjp(f, *primals):
    out = ThreeCalls(f)(*primals)
    pull = ThreeCalls(lambda p, ct: _EAGER["vjp"](f, *p)[1](ct))
    return out, lambda ct: pull(primals, ct)


def _compiled_hvp(f, x, v):
    return ThreeCalls(lambda x, v: _EAGER["hvp"](f, x, v))(x, v)


@pytest.fixture(autouse=True)
def compiled_transforms(monkeypatch):
    for name in ("grad", "value_and_grad", "jacfwd", "jacrev", "hessian"):
        monkeypatch.setattr(autodiff, name, _compiled_transform(name))
    monkeypatch.setattr(autodiff, "jvp", _compiled_jvp)
    monkeypatch.setattr(autodiff, "vjp", _compiled_vjp)
    monkeypatch.setattr(autodiff, "hvp", _compiled_hvp)


for _name, _test in vars(base).items():
    if _name.startswith("test_") and callable(_test):
        globals()[_name] = _test


def test_the_tests_above_are_all_of_test_transforms():
    names = {n for n in vars(base) if n.startswith("test_")}
    assert names and names <= set(globals())
