"""A recorded evaluation trace and its three tables (Sections 8.2.1 and 8.2.2).

``EvaluationTrace`` holds the primal variables ``v1 .. vn`` of a recording, evaluated at a
point, with its outputs; from it come the primal table (8.50)-(8.56), the tangent table of
forward mode (8.57)-(8.64) for an input direction, and the adjoint table of reverse mode
(8.68)-(8.76) for an output cotangent.  A ``TraceTable`` is one of them: its values, and its
rows with their equations, rendered as plain text, LaTeX or HTML.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

import numpy as np

from autodiff.algorithms.traces.notation import (
    HTML,
    LATEX,
    NOTATIONS,
    TEXT,
    Notation,
    NotationName,
    format_constant,
)
from autodiff.algorithms.traces.operations import Operation, apply, is_real


@dataclass(frozen=True)
class TraceStep:
    """Primal variable ``v_index``: an input (``operation is None``) or ``operation(parents)``.

    ``parents`` lists the parent indices per argument, so ``v1 * v1`` has ``(1, 1)``.
    """

    index: int
    operation: Operation | None
    parents: tuple[int, ...]
    value: float


@dataclass(frozen=True)
class EvaluationTrace:
    """A recorded trace: primal variables ``v1 .. vn`` (the first ``num_inputs`` are the
    inputs) evaluated at a point, and the indices of the output variables."""

    steps: tuple[TraceStep, ...]
    num_inputs: int
    outputs: tuple[int, ...]

    def __len__(self) -> int:
        return len(self.steps)

    def __str__(self) -> str:
        return self.primal_table().to_text()

    @property
    def point(self) -> tuple[float, ...]:
        """The input values ``x`` the trace is evaluated at."""
        return tuple(step.value for step in self.steps[: self.num_inputs])

    @property
    def values(self) -> tuple[float, ...]:
        """Primal values ``v1 .. vn``."""
        return tuple(step.value for step in self.steps)

    def parents(self, i: int) -> tuple[int, ...]:
        """``pa(i)``: the distinct parents of ``v_i``, in argument order."""
        return tuple(dict.fromkeys(self._step(i).parents))

    def children(self, i: int) -> tuple[int, ...]:
        """``ch(i)``: the distinct children of ``v_i``, in increasing order."""
        self._step(i)
        return self._children[i]

    def depths(self) -> tuple[int, ...]:
        """Longest path from an input to each variable (inputs have depth 0)."""
        depth: list[int] = []
        for step in self.steps:
            depth.append(1 + max((depth[p - 1] for p in step.parents), default=-1))
        return tuple(depth)

    def at(self, *point: float) -> EvaluationTrace:
        """The same trace evaluated at another point: the primal equations run as code.

        A branch taken while recording stays taken, whatever the new point.
        """
        if len(point) != self.num_inputs or not all(is_real(x) for x in point):
            raise ValueError(f"the trace has {self.num_inputs} inputs; pass that many real numbers")
        values = [float(x) for x in point]
        steps = [TraceStep(i, None, (), v) for i, v in enumerate(values, start=1)]
        for step in self.steps[self.num_inputs :]:
            operation = step.operation
            value = apply(operation, operation.evaluate, *(values[p - 1] for p in step.parents))
            values.append(float(value))
            steps.append(TraceStep(step.index, operation, step.parents, float(value)))
        return EvaluationTrace(tuple(steps), self.num_inputs, self.outputs)

    def primal_table(self) -> TraceTable:
        """The primal equations (8.50)-(8.56) with their values."""
        return TraceTable(self, "primal", (), self.values)

    def tangent_table(self, direction: Sequence[float]) -> TraceTable:
        """Forward mode with ``ẋ = direction``: ``v̇_i = Σ_{j∈pa(i)} v̇_j ∂v_i/∂v_j`` (8.57).

        ``direction = e_j`` gives ``∂f/∂x_j`` ((8.58)-(8.64) for ``j = 1``); any ``r`` gives
        the Jacobian-vector product ``J r`` (8.67) in the same single pass.
        """
        seed = _vector(direction, self.num_inputs, "direction", "input")
        tangents = list(seed)
        for step in self.steps[self.num_inputs :]:
            partials = self._derivatives[step.index]
            tangents.append(
                sum(tangents[p - 1] * d for p, d in zip(step.parents, partials, strict=True))
            )
        return TraceTable(self, "tangent", seed, tuple(tangents))

    def adjoint_table(self, cotangent: Sequence[float] | None = None) -> TraceTable:
        """Reverse mode: ``v̄_i = Σ_{j∈ch(i)} v̄_j ∂v_j/∂v_i`` (8.69), from the outputs back.

        ``cotangent`` weights the outputs (``v̄`` of each output starts there); it defaults to
        ``(1,)`` for one output, as in (8.70).  With several outputs there is one backward pass
        per output: pass ``(1, 0)`` for ``f1``, ``(0, 1)`` for ``f2``, or any ``u`` for ``uᵀ J``.
        """
        if cotangent is None:
            if len(self.outputs) != 1:
                raise ValueError(
                    f"f has {len(self.outputs)} outputs and reverse mode runs one backward "
                    "pass per output: pass cotangent=(1, 0, ...) to differentiate f1"
                )
            cotangent = (1.0,)
        seed = _vector(cotangent, len(self.outputs), "cotangent", "output")
        adjoints = [0.0] * len(self.steps)
        for k, output in enumerate(self.outputs):
            adjoints[output - 1] += seed[k]
        for i in range(len(self.steps), 0, -1):
            for j in self._children[i]:
                child = self.steps[j - 1]
                for p, d in zip(child.parents, self._derivatives[j], strict=True):
                    if p == i:
                        adjoints[i - 1] += adjoints[j - 1] * d
        return TraceTable(self, "adjoint", seed, tuple(adjoints))

    def _step(self, i: int) -> TraceStep:
        if not 1 <= i <= len(self.steps):
            raise ValueError(f"no variable v{i}: the trace has v1 .. v{len(self.steps)}")
        return self.steps[i - 1]

    @cached_property
    def _children(self) -> dict[int, tuple[int, ...]]:
        children: dict[int, list[int]] = {step.index: [] for step in self.steps}
        for step in self.steps:
            for p in dict.fromkeys(step.parents):
                children[p].append(step.index)
        return {i: tuple(c) for i, c in children.items()}

    @cached_property
    def _derivatives(self) -> dict[int, tuple[float, ...]]:
        """``∂v_i/∂(argument)`` for each argument of each non-input ``v_i``, at the point."""
        derivatives = {}
        for step in self.steps[self.num_inputs :]:
            parent_values = (self.steps[p - 1].value for p in step.parents)
            derivatives[step.index] = apply(
                step.operation, step.operation.derivatives, step.value, *parent_values
            )
        return derivatives


def _vector(values: Sequence[float], size: int, name: str, per: str) -> tuple[float, ...]:
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a sequence of {size} real numbers") from None
    if array.shape != (size,):
        raise ValueError(
            f"{name} has shape {array.shape}, but f has {size} {per}s: pass one number per "
            f"{per}, e.g. {(1.0,) + (0.0,) * (size - 1)}"
        )
    return tuple(float(v) for v in array)


@dataclass(frozen=True)
class _Row:
    name: str
    equation: str
    value: float


@dataclass(frozen=True, repr=False)
class TraceTable:
    """One table of a trace: ``kind`` is ``"primal"``, ``"tangent"`` or ``"adjoint"``.

    ``seed`` is the input direction ``ẋ`` (tangent) or the output cotangent (adjoint);
    ``values[i - 1]`` is ``v_i``, ``v̇_i`` or ``v̄_i``.
    """

    trace: EvaluationTrace
    kind: Literal["primal", "tangent", "adjoint"]
    seed: tuple[float, ...]
    values: tuple[float, ...]

    def value(self, i: int) -> float:
        """The entry for variable ``v_i``."""
        self.trace._step(i)
        return self.values[i - 1]

    @property
    def results(self) -> tuple[float, ...]:
        """Outputs ``f_k`` (primal), ``(J ẋ)_k`` (tangent) or ``(uᵀ J)_j`` (adjoint)."""
        if self.kind == "adjoint":
            return self.values[: self.trace.num_inputs]
        return tuple(self.values[o - 1] for o in self.trace.outputs)

    def rows(self, notation: NotationName = "text") -> tuple[tuple[str, str, float], ...]:
        """``(variable, right-hand side, value)`` for each row, in the order of the pass."""
        return tuple((r.name, r.equation, r.value) for r in self._rows(NOTATIONS[notation]))

    def summary(self, notation: NotationName = "text") -> tuple[tuple[str, str, float], ...]:
        """``(result, variable, value)`` for each result, e.g. ``("∂f/∂x1", "v̄1", 16.78)``."""
        return tuple((r.name, r.equation, r.value) for r in self._summary(NOTATIONS[notation]))

    @property
    def caption(self) -> str:
        point = ", ".join(format_constant(x) for x in self.trace.point)
        seed = ", ".join(format_constant(x) for x in self.seed)
        if self.kind == "primal":
            return f"Primal trace at x = ({point}), (8.50)-(8.56)"
        if self.kind == "tangent":
            return f"Tangent trace (forward mode, (8.57)) at x = ({point}) with ẋ = ({seed})"
        return f"Adjoint trace (reverse mode, (8.69)) at x = ({point}) with f̄ = ({seed})"

    def __str__(self) -> str:
        return self.to_text()

    def __repr__(self) -> str:
        return f"<TraceTable {self.kind}: {self.caption}>"

    def to_text(self) -> str:
        """The table as aligned plain text."""
        rows = self._rows(TEXT)
        summary = self._summary(TEXT)
        width_name = max(_width(r.name) for r in rows + summary)
        width_equation = max(_width(r.equation) for r in rows + summary)
        lines = [self.caption]
        for block in (rows, summary):
            lines.append("")
            for r in block:
                name = r.name + " " * (width_name - _width(r.name))
                equation = r.equation + " " * (width_equation - _width(r.equation))
                lines.append(f"  {name} = {equation} = {_shown(r.value)}")
        return "\n".join(lines)

    def to_latex(self) -> str:
        """The table as a LaTeX ``aligned`` block (wrap it in ``$$ .. $$`` or ``Math``)."""
        lines = [
            f"{r.name} &= {r.equation} && = {_shown(r.value)}"
            for r in self._rows(LATEX) + self._summary(LATEX)
        ]
        body = " \\\\\n".join(lines)
        return f"\\begin{{aligned}}\n{body}\n\\end{{aligned}}"

    def _repr_html_(self) -> str:
        """An HTML table, shown by JupyterLab."""
        cells = "text-align:left;padding:1px 10px"
        out = [
            "<table>",
            f"<caption>{self.caption}</caption>",
            f'<tr><th style="{cells}">variable</th><th style="{cells}">equation</th>'
            f'<th style="{cells}">value</th></tr>',
        ]
        for block, border in (
            (self._rows(HTML), ""),
            (self._summary(HTML), "border-top:1px solid;"),
        ):
            for k, r in enumerate(block):
                style = f"{cells};{border if k == 0 else ''}"
                out.append(
                    f'<tr><td style="{style}">{r.name}</td><td style="{style}">= {r.equation}'
                    f'</td><td style="{style}">{_shown(r.value)}</td></tr>'
                )
        out.append("</table>")
        return "\n".join(out)

    def _rows(self, n: Notation) -> list[_Row]:
        rows = {"primal": self._primal_rows, "tangent": self._tangent_rows}
        return rows.get(self.kind, self._adjoint_rows)(n)

    def _primal_rows(self, n: Notation) -> list[_Row]:
        """(8.50)-(8.56): ``v_i = x_i`` for the inputs, ``v_i = op(parents)`` after them."""
        rows = []
        for step in self.trace.steps:
            if step.operation is None:
                equation = n.indexed("x", step.index)
            else:
                parents = [n.indexed("v", p) for p in step.parents]
                equation = step.operation.expression(n, parents)
            rows.append(_Row(n.indexed("v", step.index), equation, step.value))
        return rows

    def _tangent_rows(self, n: Notation) -> list[_Row]:
        """(8.58)-(8.64): the inputs' tangents are ``ẋ``, then (8.57) for each ``v_i``."""
        rows = []
        for step in self.trace.steps:
            if step.operation is None:
                equation = format_constant(self.seed[step.index - 1])
            else:
                parents = [n.indexed("v", p) for p in step.parents]
                own = step.operation.expression(n, parents)
                factors = step.operation.partials(n, own, parents)
                equation = _sum(
                    [
                        f.times(n, n.indexed(n.dot("v"), p))
                        for p, f in zip(step.parents, factors, strict=True)
                    ]
                )
            rows.append(_Row(n.indexed(n.dot("v"), step.index), equation, self.value(step.index)))
        return rows

    def _adjoint_rows(self, n: Notation) -> list[_Row]:
        """(8.70)-(8.76): the outputs' adjoints start at the cotangent, then (8.69) backwards."""
        trace = self.trace
        seeds = dict.fromkeys(trace.outputs, 0.0)
        for output, weight in zip(trace.outputs, self.seed, strict=True):
            seeds[output] += weight
        rows = []
        for i in range(len(trace), 0, -1):
            terms = []
            for j in trace.children(i):
                child = trace.steps[j - 1]
                parents = [n.indexed("v", p) for p in child.parents]
                factors = child.operation.partials(n, n.indexed("v", j), parents)
                terms += [
                    f.times(n, n.indexed(n.bar("v"), j))
                    for p, f in zip(child.parents, factors, strict=True)
                    if p == i
                ]
            if i in seeds and (seeds[i] != 0.0 or not terms):
                terms.insert(0, (seeds[i] < 0, format_constant(abs(seeds[i]))))
            rows.append(_Row(n.indexed(n.bar("v"), i), _sum(terms), self.value(i)))
        return rows

    def _summary(self, n: Notation) -> list[_Row]:
        """The results: ``f = v7``, ``∂f/∂x1 = v̇7`` or ``∂f/∂x1 = v̄1`` and the like."""
        trace = self.trace
        several = len(trace.outputs) > 1
        f = [k + 1 if several else None for k in range(len(trace.outputs))]
        unit = _unit_index(self.seed)
        if self.kind == "primal":
            labels = [n.indexed("f", k) for k in f]
            return [
                _Row(label, n.indexed("v", o), self.value(o))
                for label, o in zip(labels, trace.outputs, strict=True)
            ]
        if self.kind == "tangent":
            labels = [
                n.indexed(n.dot("f"), k)
                if unit is None
                else n.derivative(n.indexed("f", k), n.indexed("x", unit + 1))
                for k in f
            ]
            return [
                _Row(label, n.indexed(n.dot("v"), o), self.value(o))
                for label, o in zip(labels, trace.outputs, strict=True)
            ]
        inputs = range(1, trace.num_inputs + 1)
        labels = [
            n.indexed(n.bar("x"), d)
            if unit is None
            else n.derivative(n.indexed("f", f[unit]), n.indexed("x", d))
            for d in inputs
        ]
        return [
            _Row(label, n.indexed(n.bar("v"), d), self.value(d))
            for label, d in zip(labels, inputs, strict=True)
        ]


def _unit_index(seed: tuple[float, ...]) -> int | None:
    """``j`` when ``seed`` is the unit vector ``e_(j+1)``, else None."""
    if sorted(seed) == [0.0] * (len(seed) - 1) + [1.0]:
        return seed.index(1.0)
    return None


def _sum(terms: list[tuple[bool, str]]) -> str:
    """Join signed terms: ``[(False, a), (True, b)]`` -> ``"a - b"``; no terms -> ``"0"``."""
    if not terms:
        return "0"
    (negative, first), rest = terms[0], terms[1:]
    text = f"-{first}" if negative else first
    for negative, term in rest:
        text += f" {'-' if negative else '+'} {term}"
    return text


def _width(text: str) -> int:
    """Displayed width: combining marks (the dot of v̇, the bar of v̄) take no column."""
    return sum(not unicodedata.combining(c) for c in text)


def _shown(value: float) -> str:
    """A value as shown in a table's value column."""
    return f"{value:.6g}"
