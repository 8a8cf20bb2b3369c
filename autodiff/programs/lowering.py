"""Lowering a recorded program to a Python function of plain NumPy calls.

From the outputs back to the inputs, the variables a program needs
(``autodiff.programs.staging.needed``: what no output depends on is left out), in an order
they can be computed in.  ``lower`` writes them
as one statement per operation, in the fast spellings of ``autodiff.programs.source``,
after the rewrites of ``autodiff.programs.passes``, and returns the function ``exec`` makes
of them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from autodiff.programs import passes, unrolled
from autodiff.programs.source import Source
from autodiff.programs.staging import Method, Var, needed, record


@dataclass
class Lowered:
    """A program as Python: its ``source``, the ``constants`` it refers to by name, and
    ``fn``, the function ``exec`` made of them (one argument per input)."""

    source: str
    constants: dict[str, Any]
    fn: Callable

    def same_as(self, other: Lowered) -> bool:
        """Whether two recordings gave the same program: the same source and constants."""
        if self.source != other.source or self.constants.keys() != other.constants.keys():
            return False
        return all(_same(self.constants[k], other.constants[k]) for k in self.constants)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True)
    return a is b or a == b


def lower(inputs: list[Var | None], out_leaves: list[Any], out_def: Any, name: str) -> Lowered:
    """The function ``name(*inputs)`` returning ``out_leaves`` in the container ``out_def``
    (``None`` among ``inputs``: an argument the program does not read): unrolled to scalar
    Python if every array is small enough (``autodiff.programs.unrolled``), else NumPy.  A
    constant array among the outputs is kept as a copy and returned as a copy of that, so
    that a caller may change what it gets in place."""
    out_leaves = [
        record(Method("copy"), (x.copy(),)) if isinstance(x, np.ndarray) else x for x in out_leaves
    ]
    order, out_leaves = passes.optimize(needed(out_leaves), out_leaves)
    src = Source(fast=True)
    params = [src.name(v, f"a{i}") if v is not None else f"_{i}" for i, v in enumerate(inputs)]
    unrolled_body = unrolled.unrolled_source(order, inputs, out_leaves, src.constant)
    passes.reuse_buffers(order, out_leaves)
    lines = [f"def {name}({', '.join(params)}):"]
    for count, var in enumerate(v for v in order if v.fn is not None):
        text = src.expression(var)
        lines.append(f"    {src.name(var, f'v{count}')} = {text}")
    outputs = src.tree(out_def, [src.expression(x) for x in out_leaves])
    lines.append(f"    return {outputs}")
    numpy_fn = _function("\n".join(lines) + "\n", name, src.namespace)
    if unrolled_body is None:
        return Lowered("\n".join(lines) + "\n", src.namespace, numpy_fn)
    statements, returned = unrolled_body
    source = "\n".join(
        [
            f"def {name}({', '.join(params)}):",
            "    try:",
            *[f"        {line}" for line in statements],
            f"        return {src.tree(out_def, returned)}",
            "    except (ArithmeticError, ValueError):  # where NumPy gives inf or nan",
            f"        return numpy_program({', '.join(params)})",
        ]
    )
    constants = {**src.namespace, **unrolled.namespace()}
    return Lowered(
        source + "\n", constants, _function(source, name, {**constants, "numpy_program": numpy_fn})
    )


def _function(source: str, name: str, namespace: dict[str, Any]) -> Callable:
    namespace = dict(namespace)
    exec(compile(source + "\n", f"<autodiff.compile {name}>", "exec"), namespace)
    return namespace[name]
