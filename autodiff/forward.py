"""Forward mode: carry a tangent alongside every primal value.

A ``Dual`` pairs a primal variable v_i with its tangent v̇_i (8.57).  Each primitive
computes its output and the output's tangent from its arguments' tangents with the JVP
rules, which is the tangent trace (8.58)-(8.64) run alongside the primal trace.  Inputs
with no tangent carry none (a symbolic zero), so they cost nothing.

The tangent may be a whole batch of tangents (``autodiff.batching.Batched``): the rules
then push every direction of the batch through at once, which is how ``jacfwd`` and
``hessian`` cost a few sweeps instead of one per input.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from autodiff.broadcasting import broadcast_like
from autodiff.core import Primitive, Traceable, Tracer

_new = object.__new__


class Dual(Tracer):
    """A primal value and its tangent at trace level ``_level``."""

    __slots__ = ("_tangent", "_level")

    def __init__(self, value: Any, tangent: Any, level: int) -> None:
        self._value = value
        self._tangent = tangent
        self._level = level

    def _dispatch(self, prim: Primitive, args: tuple, kwargs: dict) -> Dual:
        level = self._level
        n = len(args)
        if n == 1:  # one argument, which is this dual
            x = self._value
            if isinstance(x, Traceable):
                ans = prim(x, **kwargs)
            else:
                ans = prim.impl(x, **kwargs) if kwargs else prim.impl(x)
            tangent = jvp_rule(prim, 0)(self._tangent, ans, x, **kwargs)
        elif n == 2:
            x, y = args
            tx = ty = None
            if isinstance(x, Dual) and x._level == level:
                tx, x = x._tangent, x._value
            if isinstance(y, Dual) and y._level == level:
                ty, y = y._tangent, y._value
            if isinstance(x, Traceable) or isinstance(y, Traceable):
                ans = prim(x, y, **kwargs)
            else:
                ans = prim.impl(x, y, **kwargs) if kwargs else prim.impl(x, y)
            tangent = None
            if tx is not None:
                tangent = jvp_rule(prim, 0)(tx, ans, x, y, **kwargs)
                if prim.broadcasts:
                    tangent = broadcast_like(tangent, ans)
            if ty is not None:
                contribution = jvp_rule(prim, 1)(ty, ans, x, y, **kwargs)
                if prim.broadcasts:
                    contribution = broadcast_like(contribution, ans)
                tangent = contribution if tangent is None else tangent + contribution
        else:
            primals = []
            tangents = []
            nested = False
            for i, arg in enumerate(args):
                if isinstance(arg, Dual) and arg._level == level:
                    tangents.append((i, arg._tangent))
                    arg = arg._value
                if isinstance(arg, Traceable):
                    nested = True
                primals.append(arg)
            if nested:
                ans = prim(*primals, **kwargs)
            else:
                ans = prim.impl(*primals, **kwargs) if kwargs else prim.impl(*primals)
            tangent = None
            for argnum, t in tangents:
                contribution = jvp_rule(prim, argnum)(t, ans, *primals, **kwargs)
                if prim.broadcasts:
                    contribution = broadcast_like(contribution, ans)
                tangent = contribution if tangent is None else tangent + contribution
        out = _new(Dual)
        out._value = ans
        out._tangent = tangent
        out._level = level
        return out

    def __repr__(self) -> str:
        return f"Dual(level={self._level}, value={self._value!r})"


def jvp_rule(prim: Primitive, argnum: int) -> Callable:
    """The JVP rule of ``prim`` for argument ``argnum`` (an error naming both if it has none)."""
    rule = prim.jvps.get(argnum)
    if rule is None:
        raise NotImplementedError(f"forward mode has no rule for argument {argnum} of {prim.name}")
    return rule
