"""Reverse mode: record the evaluation trace as a graph of nodes, then sweep it backwards.

Each ``Node`` holds one primal variable of the trace (8.50)-(8.56), the primitive that
produced it, that primitive's arguments and the nodes among them (its parents).  The
backward sweep visits nodes children-first and adds each child's contribution to its
parents' adjoints, which is (8.69) with the local derivatives supplied as VJP rules.
"""

from __future__ import annotations

from collections.abc import Container, Iterable
from typing import Any

from autodiff.core import Primitive, Traceable, Tracer, shape_of, value_of
from autodiff.numpy.primitives import unbroadcast


class Node(Tracer):
    """A primal variable recorded by reverse mode at trace level ``_level``.

    Nodes made by primitives are appended to their trace's tape in the order they are made;
    since every node is made after its parents, the reversed tape is an order in which the
    backward sweep can run, with no graph search.  Nodes do not refer to the tape (only the
    transform holding it does), so a finished trace is freed at once, without waiting for
    the cycle collector.
    """

    __slots__ = ("_level", "_prim", "_args", "_kwargs", "_parents")

    def __init__(self, value: Any, level: int) -> None:
        """A leaf: an input of the trace, with no parents."""
        self._value = value
        self._level = level
        self._prim = None
        self._args = ()
        self._kwargs = {}
        self._parents = ()

    def _dispatch(self, prim: Primitive, args: tuple, kwargs: dict) -> Any:
        level = self._level
        tape = _TAPES.get(level)
        if tape is None:  # the transform has returned: this trace records nothing more
            return prim(*[value_of_level(a, level) for a in args], **kwargs)
        if len(args) == 1 and not kwargs:  # one argument, which is this node
            value = self._value
            node = object.__new__(Node)
            node._value = prim(value) if isinstance(value, Traceable) else prim.impl(value)
            node._level = level
            node._prim = prim
            node._args = (value,)
            node._kwargs = kwargs
            node._parents = ((0, self),)
            tape.append(node)
            return node
        values = []
        parents = []
        nested = False
        i = 0
        for arg in args:
            if isinstance(arg, Node) and arg._level == level:
                parents.append((i, arg))
                arg = arg._value
            if isinstance(arg, Traceable):
                nested = True
            values.append(arg)
            i += 1
        node = object.__new__(Node)
        if nested:
            node._value = prim(*values, **kwargs)
        else:
            node._value = prim.impl(*values, **kwargs) if kwargs else prim.impl(*values)
        node._level = level
        node._prim = prim
        node._args = values
        node._kwargs = kwargs
        node._parents = parents
        tape.append(node)
        return node

    def __repr__(self) -> str:
        return f"Node(level={self._level}, value={value_of(self)!r})"


_TAPES: dict[int, list[Node]] = {}


def open_tape(level: int) -> list[Node]:
    """Start recording the nodes of trace ``level``."""
    tape = _TAPES[level] = []
    return tape


def close_tape(level: int) -> None:
    """Stop recording trace ``level`` (its tape stays with whoever holds it)."""
    _TAPES.pop(level, None)


def value_of_level(x: Any, level: int) -> Any:
    """``x`` without its wrapper of trace ``level``, if it has one."""
    return x._value if isinstance(x, Node) and x._level == level else x


def backward(
    seeds: list[tuple[Node, Any]], order: Iterable[Node], keep: Container[int] = ()
) -> dict[int, Any]:
    """Propagate adjoints from ``(output node, cotangent)`` pairs back through ``order``
    (every node the outputs depend on, children before parents).

    Returns the adjoints of the leaves reached, and of the interior nodes whose ids are in
    ``keep``, keyed by ``id(node)``.  Adjoints of interior nodes live only during the
    sweep, so running it again on the same graph gives the same result, and a node used
    twice receives both contributions.
    """
    adjoints: dict[int, Any] = {}
    kept: dict[int, Any] = {}
    for node, ct in seeds:
        key = id(node)
        adjoints[key] = ct if key not in adjoints else adjoints[key] + ct
    pop, get = adjoints.pop, adjoints.get
    for node in order:
        g = pop(id(node), None)
        if g is None:
            continue
        if keep and id(node) in keep:
            kept[id(node)] = g
        prim, args, kwargs, ans = node._prim, node._args, node._kwargs, node._value
        for argnum, parent in node._parents:
            try:
                rule = prim.vjps[argnum]
            except KeyError:
                raise NotImplementedError(
                    f"reverse mode has no rule for argument {argnum} of {prim.name}"
                ) from None
            contribution = rule(g, ans, *args, **kwargs) if kwargs else rule(g, ans, *args)
            if prim.broadcasts:
                contribution = unbroadcast(contribution, shape_of(args[argnum]))
            key = id(parent)
            previous = get(key)
            adjoints[key] = contribution if previous is None else previous + contribution
    adjoints.update(kept)
    return adjoints
