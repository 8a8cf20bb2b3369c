"""What the reverse-mode checks share: the engine's test functions with the domains they are
evaluated on, and ``_FlawedVar``, a small reverse-mode engine (8.68)-(8.69) with switchable
flaws (adjoints overwritten instead of summed, a wrong visiting order, the local derivative
dropped, a sign flipped): the engine's mistake models run on it, and those of the nested
Hessian-vector product run dual numbers over it.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from grader.sandboxed.inputs import CHAIN_LENGTH, ENGINE_FUNCTIONS

# -- test functions of the reverse-mode engine ----------------------------------------------
# Written with operators and the methods exp/log/sin/cos/tanh only, so that the same code runs
# on the student's Var, on the flawed model engine and on autodiff's traced values.

TEST_FUNCTIONS = ENGINE_FUNCTIONS


# where each test function may be evaluated: (low, high) per input
DOMAINS: dict[str, tuple[float, float]] = {
    "(8.49)": (-1.5, 1.5),
    "a variable used five times": (-2.0, 2.0),
    "quotients, powers, log, tanh": (-1.5, 1.5),
    "differences, negation, tanh, cos, exp, square root": (-2.0, 2.0),
    "constants on the left, an unused input": (-2.0, 2.0),
    f"a chain of {3 * CHAIN_LENGTH} operations": (0.2, 2.5),
}


# -- a model engine with the typical flaws ---------------------------------------------------


@dataclass(frozen=True)
class _Flaws:
    """How a flawed engine differs from a correct one."""

    accumulate: bool = True  # False: parent.grad = ... instead of +=
    order: str = "reverse topological"  # or "topological" (not reversed), "breadth-first"
    local: bool = True  # False: passes the child's adjoint back without ∂child/∂parent
    flip_minus: bool = False  # True: +1 for b in a - b
    flip_divide: bool = False  # True: +a/b^2 for b in a / b


class _FlawedVar:
    """What a student's ``Var`` computes when it has the flaws in ``flaws``."""

    __slots__ = ("flaws", "grad", "parents", "value")

    def __init__(self, value: float, parents: tuple = (), flaws: _Flaws = _Flaws()) -> None:
        self.value = float(value)
        self.grad = 0.0
        self.parents = parents
        self.flaws = flaws

    def _lift(self, other) -> _FlawedVar:
        return other if isinstance(other, _FlawedVar) else _FlawedVar(other, (), self.flaws)

    def _make(self, value: float, *pairs) -> _FlawedVar:
        return _FlawedVar(value, pairs, self.flaws)

    def __add__(self, other):
        other = self._lift(other)
        return self._make(self.value + other.value, (self, 1.0), (other, 1.0))

    def __radd__(self, other):
        return self._lift(other) + self

    def __neg__(self):
        return self._make(-self.value, (self, -1.0))

    def __sub__(self, other):
        other = self._lift(other)
        sign = 1.0 if self.flaws.flip_minus else -1.0
        return self._make(self.value - other.value, (self, 1.0), (other, sign))

    def __rsub__(self, other):
        return self._lift(other) - self

    def __mul__(self, other):
        other = self._lift(other)
        return self._make(self.value * other.value, (self, other.value), (other, self.value))

    def __rmul__(self, other):
        return self._lift(other) * self

    def __truediv__(self, other):
        other = self._lift(other)
        q = self.value / other.value
        sign = 1.0 if self.flaws.flip_divide else -1.0
        return self._make(q, (self, 1.0 / other.value), (other, sign * q / other.value))

    def __rtruediv__(self, other):
        return self._lift(other) / self

    def __pow__(self, c: float):
        return self._make(self.value**c, (self, c * self.value ** (c - 1.0)))

    def exp(self):
        y = math.exp(self.value)
        return self._make(y, (self, y))

    def log(self):
        return self._make(math.log(self.value), (self, 1.0 / self.value))

    def sin(self):
        return self._make(math.sin(self.value), (self, math.cos(self.value)))

    def cos(self):
        return self._make(math.cos(self.value), (self, -math.sin(self.value)))

    def tanh(self):
        y = math.tanh(self.value)
        return self._make(y, (self, 1.0 - y * y))

    def backward(self) -> None:
        self.grad = 1.0
        for node in _visit_order(self, self.flaws.order):
            for parent, local in node.parents:
                contribution = node.grad * (local if self.flaws.local else 1.0)
                if self.flaws.accumulate:
                    parent.grad += contribution
                else:
                    parent.grad = contribution


def _topological(output: _FlawedVar) -> list[_FlawedVar]:
    """Parents before children: iterative depth-first post-order, a node marked when it is
    expanded (marking it when pushed would let a child finish before its parent)."""
    order: list[_FlawedVar] = []
    expanded: set[int] = set()
    stack = [(output, False)]
    while stack:
        node, parents_done = stack.pop()
        if parents_done:
            order.append(node)
        elif id(node) not in expanded:
            expanded.add(id(node))
            stack.append((node, True))
            stack.extend((p, False) for p, _ in node.parents if id(p) not in expanded)
    return order


def _breadth_first(output: _FlawedVar) -> list[_FlawedVar]:
    """Each node once, as soon as it is first reached from the output."""
    order, seen, queue = [], {id(output)}, deque([output])
    while queue:
        node = queue.popleft()
        order.append(node)
        for parent, _ in node.parents:
            if id(parent) not in seen:
                seen.add(id(parent))
                queue.append(parent)
    return order


def _visit_order(output: _FlawedVar, order: str) -> list[_FlawedVar]:
    if order == "breadth-first":
        return _breadth_first(output)
    topological = _topological(output)
    return topological if order == "topological" else topological[::-1]
