"""``Tensor``: the imperative, PyTorch-like front end on the same rules as the transforms.

Operations on tensors that require gradients record a graph as they run; ``backward()``
sweeps it in reverse (Section 8.2.2) and adds the gradient to ``.grad`` of every leaf
tensor created with ``requires_grad=True``.  As in PyTorch, leaf gradients accumulate
across calls until ``zero_grad()``; unlike micrograd, interior adjoints are never stored
between sweeps, so a second ``backward()`` adds exactly the same gradient again.
"""

from __future__ import annotations

import itertools
from operator import attrgetter
from typing import Any

import numpy as np

from autodiff.core import Primitive, value_of
from autodiff.reverse import Node, backward

_ids = itertools.count()
_by_id = attrgetter("_id")

TENSOR_LEVEL = 0


class Tensor(Node):
    """An array that records the operations applied to it, for ``backward()``.

    ``Tensor(data, requires_grad=True)`` makes a leaf whose gradient is wanted.  The result
    of an operation involving such a tensor requires gradients too.  ``.grad`` is a NumPy
    array of the tensor's shape (``None`` until a backward sweep reaches it).
    """

    __slots__ = ("grad", "requires_grad", "_retain", "_id")

    def __init__(self, data: Any, requires_grad: bool = False) -> None:
        data = value_of(data) if isinstance(data, Tensor) else data
        array = np.array(data, dtype=np.float64)
        super().__init__(array, TENSOR_LEVEL)
        self._id = next(_ids)
        self.grad: np.ndarray | None = None
        self.requires_grad = requires_grad
        self._retain = False

    def _dispatch(self, prim: Primitive, args: tuple, kwargs: dict) -> Tensor:
        values = list(args)
        argnums = []
        parents = []
        for i, arg in enumerate(args):
            if isinstance(arg, Tensor):
                values[i] = arg._value
                if arg.requires_grad:
                    argnums.append(i)
                    parents.append(arg)
        out = object.__new__(Tensor)
        out._value = prim(*values, **kwargs)
        out._level = TENSOR_LEVEL
        out._prim = prim
        out._args = tuple(values)
        out._kwargs = kwargs
        out._argnums = tuple(argnums)
        out._parents = tuple(parents)
        out._id = next(_ids)
        out.grad = None
        out.requires_grad = bool(parents)
        out._retain = False
        return out

    @property
    def data(self) -> np.ndarray:
        """The tensor's values as a NumPy array."""
        return self._value

    @property
    def is_leaf(self) -> bool:
        """True for tensors created by the user rather than by an operation."""
        return not self._parents

    def numpy(self) -> np.ndarray:
        """The values as a NumPy array (no graph)."""
        return np.array(self._value)

    def item(self) -> float:
        """The value of a one-element tensor as a Python float."""
        if np.size(self._value) != 1:
            raise ValueError(
                f"item() needs a tensor with one element, this one has shape "
                f"{np.shape(self._value)}"
            )
        return float(np.reshape(self._value, ()))

    def detach(self) -> Tensor:
        """A new leaf with the same values that does not require gradients."""
        return Tensor(self._value)

    def retain_grad(self) -> Tensor:
        """Also store ``.grad`` on this non-leaf tensor at the next ``backward()``."""
        self._retain = True
        return self

    def zero_grad(self) -> None:
        """Forget the accumulated gradient (``.grad`` becomes ``None``)."""
        self.grad = None

    def backward(self, gradient: Any = None) -> None:
        """Add d(self)/d(leaf) to ``leaf.grad`` for every leaf that requires gradients.

        ``gradient`` is the cotangent to start from; it may be omitted only for a tensor
        with one element (the usual scalar loss).
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward() on a tensor that does not require gradients: create the inputs "
                "with Tensor(data, requires_grad=True)"
            )
        if gradient is None:
            if np.size(self._value) != 1:
                raise RuntimeError(
                    f"backward() without a gradient needs a one-element tensor, this one has "
                    f"shape {np.shape(self._value)}; pass gradient= of that shape, or reduce "
                    f"it first (e.g. .sum())"
                )
            gradient = np.ones_like(self._value)
        gradient = np.asarray(value_of(gradient), dtype=np.float64)
        if gradient.shape != np.shape(self._value):
            raise ValueError(
                f"gradient has shape {gradient.shape}, but the tensor has shape "
                f"{np.shape(self._value)}"
            )
        order = toposort(self)
        retained = {id(t): t for t in order if (not t._parents and t.requires_grad) or t._retain}
        adjoints = backward([(self, gradient)], order, keep=retained)
        for node_id, adjoint in adjoints.items():
            tensor = retained.get(node_id)
            if tensor is None:
                continue
            adjoint = np.broadcast_to(adjoint, np.shape(tensor._value))
            tensor.grad = adjoint.copy() if tensor.grad is None else tensor.grad + adjoint

    def __repr__(self) -> str:
        body = np.array2string(
            np.asarray(self._value), separator=", ", prefix="Tensor(", precision=4
        )
        if self._parents:
            return f"Tensor({body}, grad_fn=<{self._prim.name}>)"
        return f"Tensor({body}, requires_grad=True)" if self.requires_grad else f"Tensor({body})"


def toposort(root: Tensor) -> list[Tensor]:
    """Every tensor ``root`` depends on, children before parents.

    Iterative, so a chain of a million operations needs no deep recursion.  Tensors are
    numbered when created, and a tensor is always created after its parents, so sorting the
    reachable ones by decreasing number gives a reverse topological order.
    """
    seen = {id(root): root}
    stack = [root]
    while stack:
        for parent in stack.pop()._parents:
            if id(parent) not in seen:
                seen[id(parent)] = parent
                stack.append(parent)
    return sorted(seen.values(), key=_by_id, reverse=True)
