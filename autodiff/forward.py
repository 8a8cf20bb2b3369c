"""Forward mode: carry a tangent alongside every primal value.

A ``Dual`` pairs a primal variable v_i with its tangent v̇_i (8.57).  Each primitive
computes its output and the output's tangent from its arguments' tangents with the JVP
rules, which is the tangent trace (8.58)-(8.64) run alongside the primal trace.  Inputs
with no tangent carry none (a symbolic zero), so they cost nothing.
"""

from __future__ import annotations

from typing import Any

from autodiff.core import Primitive, Traceable, Tracer, shape_of, value_of
from autodiff.numpy.primitives import broadcast_as


class Dual(Tracer):
    """A primal value and its tangent at trace level ``_level``."""

    __slots__ = ("_tangent", "_level")

    def __init__(self, value: Any, tangent: Any, level: int) -> None:
        self._value = value
        self._tangent = tangent
        self._level = level

    def _dispatch(self, prim: Primitive, args: tuple, kwargs: dict) -> Dual:
        level = self._level
        primals = []
        tangents = []
        nested = False
        i = 0
        for arg in args:
            if isinstance(arg, Dual) and arg._level == level:
                tangents.append((i, arg._tangent))
                arg = arg._value
            if isinstance(arg, Traceable):
                nested = True
            primals.append(arg)
            i += 1
        if nested:
            ans = prim(*primals, **kwargs)
        else:
            ans = prim.impl(*primals, **kwargs) if kwargs else prim.impl(*primals)
        out = None
        for argnum, t in tangents:
            try:
                rule = prim.jvps[argnum]
            except KeyError:
                raise NotImplementedError(
                    f"forward mode has no rule for argument {argnum} of {prim.name}"
                ) from None
            contribution = rule(t, ans, *primals, **kwargs)
            if prim.broadcasts:
                contribution = broadcast_as(contribution, shape_of(ans))
            out = contribution if out is None else out + contribution
        return Dual(ans, out, level)

    def __repr__(self) -> str:
        return f"Dual(level={self._level}, value={value_of(self)!r})"
