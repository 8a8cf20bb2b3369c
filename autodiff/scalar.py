"""``Scalar``: a scalar reverse-mode engine small enough to read in one sitting.

Every arithmetic operation makes a new ``Scalar`` that remembers its parents and the local
derivative of its value with respect to each parent, evaluated on the spot.  ``backward()``
then applies the chain rule (8.69) from the output to the inputs: each node passes
``local derivative * its adjoint`` to each parent.  Nodes are numbered as they are made, and
parents are always made before their children, so sorting the reachable nodes by number
gives the order of the backward sweep without any recursion.

Guarantees: leaf gradients add up over every path (a node used twice gets both
contributions); interior adjoints are reset on every sweep, so ``backward()`` never sees
stale values; leaf gradients accumulate across sweeps until ``zero_grad()``, as in PyTorch.
"""

from __future__ import annotations

import itertools
import math
import numbers
from collections.abc import Iterable
from operator import attrgetter

import numpy as np

from autodiff.core import ScalarLike

_ids = itertools.count()
_by_id = attrgetter("_id")
Number = int | float


class Scalar(ScalarLike):
    """A float that records how it was computed, for ``backward()``."""

    __slots__ = ("data", "grad", "_parents", "_local", "_op", "_id")

    def __init__(self, data: Number, _parents: tuple = (), _local: tuple = (), _op: str = ""):
        self.data = data
        self.grad = 0.0
        self._parents = _parents
        self._local = _local
        self._op = _op
        self._id = next(_ids)

    # -- arithmetic: the value, and the local derivative for each parent ----------------------
    def __add__(self, other: Scalar | Number) -> Scalar:
        if type(other) is Scalar:
            return Scalar(self.data + other.data, (self, other), (1.0, 1.0), "+")
        return Scalar(self.data + _number(other), (self,), (1.0,), "+")

    def __mul__(self, other: Scalar | Number) -> Scalar:
        if type(other) is Scalar:
            return Scalar(self.data * other.data, (self, other), (other.data, self.data), "*")
        other = _number(other)
        return Scalar(self.data * other, (self,), (other,), "*")

    def __pow__(self, exponent: Number) -> Scalar:
        if type(exponent) is Scalar:
            return (self.log() * exponent).exp()
        n = _number(exponent)
        local = 0.0 if n == 0 else n * self.data ** (n - 1)
        return Scalar(self.data**n, (self,), (local,), f"**{n:g}")

    def __neg__(self) -> Scalar:
        return Scalar(-self.data, (self,), (-1.0,), "neg")

    def __sub__(self, other: Scalar | Number) -> Scalar:
        if type(other) is Scalar:
            return Scalar(self.data - other.data, (self, other), (1.0, -1.0), "-")
        return Scalar(self.data - _number(other), (self,), (1.0,), "-")

    def __truediv__(self, other: Scalar | Number) -> Scalar:
        if type(other) is Scalar:
            q = self.data / other.data
            return Scalar(q, (self, other), (1.0 / other.data, -q / other.data), "/")
        other = _number(other)
        return Scalar(self.data / other, (self,), (1.0 / other,), "/")

    __radd__ = __add__
    __rmul__ = __mul__

    def __rsub__(self, other: Number) -> Scalar:
        return Scalar(_number(other) - self.data, (self,), (-1.0,), "-")

    def __rtruediv__(self, other: Number) -> Scalar:
        q = _number(other) / self.data
        return Scalar(q, (self,), (-q / self.data,), "/")

    def __rpow__(self, base: Number) -> Scalar:
        value = _number(base) ** self.data
        return Scalar(value, (self,), (value * math.log(base),), "pow")

    # -- elementary functions --------------------------------------------------------------
    def exp(self) -> Scalar:
        value = math.exp(self.data)
        return Scalar(value, (self,), (value,), "exp")

    def log(self) -> Scalar:
        return Scalar(math.log(self.data), (self,), (1.0 / self.data,), "log")

    def sin(self) -> Scalar:
        return Scalar(math.sin(self.data), (self,), (math.cos(self.data),), "sin")

    def cos(self) -> Scalar:
        return Scalar(math.cos(self.data), (self,), (-math.sin(self.data),), "cos")

    def tanh(self) -> Scalar:
        value = math.tanh(self.data)
        return Scalar(value, (self,), (1.0 - value * value,), "tanh")

    def sigmoid(self) -> Scalar:
        x = self.data
        value = 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))
        return Scalar(value, (self,), (value * (1.0 - value),), "sigmoid")

    def relu(self) -> Scalar:
        x = self.data
        return Scalar(x if x > 0 else 0.0, (self,), (1.0 if x > 0 else 0.0,), "relu")

    def softplus(self) -> Scalar:
        x = self.data
        value = max(x, 0.0) + math.log1p(math.exp(-abs(x)))
        slope = 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))
        return Scalar(value, (self,), (slope,), "softplus")

    def sqrt(self) -> Scalar:
        value = math.sqrt(self.data)
        return Scalar(value, (self,), (0.5 / value,), "sqrt")

    # -- reverse sweep -----------------------------------------------------------------------
    def backward(self) -> None:
        """Add d(self)/d(leaf) to ``leaf.grad`` for every leaf this value depends on, and
        set ``.grad`` of every interior node to d(self)/d(node)."""
        order = self.graph()
        for node in order:
            if node._parents:
                node.grad = 0.0
        self.grad += 1.0
        for node in order:
            g = node.grad
            if g:  # a zero adjoint adds nothing to any parent
                for parent, local in zip(node._parents, node._local):
                    parent.grad += local * g

    def graph(self) -> list[Scalar]:
        """Every node this value depends on, itself first, each before its parents."""
        seen = {self}
        stack = [self]
        add, push, pop = seen.add, stack.append, stack.pop
        while stack:
            for parent in pop()._parents:
                if parent not in seen:
                    add(parent)
                    push(parent)
        return sorted(seen, key=_by_id, reverse=True)

    def zero_grad(self) -> None:
        """Reset ``.grad`` of this value and of every node it depends on."""
        for node in self.graph():
            node.grad = 0.0

    # -- comparisons compare values; Python numbers convert -----------------------------------
    def __lt__(self, other: Scalar | Number) -> bool:
        return self.data < _value(other)

    def __le__(self, other: Scalar | Number) -> bool:
        return self.data <= _value(other)

    def __gt__(self, other: Scalar | Number) -> bool:
        return self.data > _value(other)

    def __ge__(self, other: Scalar | Number) -> bool:
        return self.data >= _value(other)

    def __float__(self) -> float:
        return float(self.data)

    def __repr__(self) -> str:
        return f"Scalar(data={self.data:.6g}, grad={self.grad:.6g})"


def _number(x: object) -> float:
    """A real number (Python or NumPy, or a 0-d array) as a float; anything else is an error."""
    if isinstance(x, (int, float)) and not isinstance(x, bool):
        return x
    if isinstance(x, numbers.Real) or (isinstance(x, np.ndarray) and x.ndim == 0):
        if np.issubdtype(np.asarray(x).dtype, np.number):
            return float(x)
    raise TypeError(f"Scalar arithmetic needs a Scalar or a real number, got {type(x).__name__}")


def _value(x: Scalar | Number) -> float:
    return x.data if isinstance(x, Scalar) else x


def zero_grad(params: Iterable[Scalar]) -> None:
    """Set ``.grad`` of each given scalar to zero (before the next ``backward()``)."""
    for p in params:
        p.grad = 0.0
