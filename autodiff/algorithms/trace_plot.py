"""Drawing an evaluation trace as a graph, as in Figures 8.4 and 8.5 (matplotlib only).

Each primal variable ``v_i`` is a circle, placed in the column of its depth (the longest
path from an input), so information flows left to right; an arrow runs from each parent to
each child (the sets ``pa(i)`` of (8.57) and ``ch(i)`` of (8.69)), and each output points to
its name ``f`` (or ``f1, f2, ..``).  Below a node stands its defining operation and,
optionally, its entry in a primal, tangent or adjoint table.

The artists carry ids that name what they draw: ``node:v3``, ``edge:v1->v3``, ``output:f``,
``value:v3``, so a figure can be inspected without looking at pixels.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.patches import Circle, FancyArrowPatch

from autodiff.algorithms.traces import (
    EvaluationTrace,
    TraceTable,
    book_example,
    book_example_two_outputs,
    record_trace,
)

__all__ = ["figure_8_4", "figure_8_5", "plot_trace"]

_COLUMN = 2.4  # horizontal distance between depths
_ROW = 1.6  # vertical distance between nodes of one depth
_RADIUS = 0.36
_SYMBOLS = {"primal": "v", "tangent": r"\dot{v}", "adjoint": r"\bar{v}"}


def _layout(trace: EvaluationTrace) -> dict[int, tuple[float, float]]:
    """Node centres: column by depth, nodes of one column centred vertically by index."""
    columns: dict[int, list[int]] = {}
    for i, depth in enumerate(trace.depths(), start=1):
        columns.setdefault(depth, []).append(i)
    centres = {}
    for depth, nodes in columns.items():
        for row, i in enumerate(nodes):
            centres[i] = (depth * _COLUMN, ((len(nodes) - 1) / 2 - row) * _ROW)
    return centres


def _boundary(centre: tuple[float, float], towards: tuple[float, float]) -> tuple[float, float]:
    """The point on a node's circle in the direction of ``towards``."""
    dx, dy = towards[0] - centre[0], towards[1] - centre[1]
    length = (dx * dx + dy * dy) ** 0.5
    return centre[0] + _RADIUS * dx / length, centre[1] + _RADIUS * dy / length


def _clearance(
    start: tuple[float, float], end: tuple[float, float], bend: float, others: list
) -> float:
    """Smallest distance from the arrow (matplotlib's ``arc3`` curve, a quadratic Bezier
    whose control point is the midpoint moved by ``bend`` times the perpendicular) to the
    centres of ``others``."""
    (x1, y1), (x2, y2) = start, end
    cx, cy = (x1 + x2) / 2 + bend * (y2 - y1), (y1 + y2) / 2 - bend * (x2 - x1)
    distance = float("inf")
    for k in range(1, 20):
        t = k / 20
        px = (1 - t) ** 2 * x1 + 2 * t * (1 - t) * cx + t * t * x2
        py = (1 - t) ** 2 * y1 + 2 * t * (1 - t) * cy + t * t * y2
        for ox, oy in others:
            distance = min(distance, ((px - ox) ** 2 + (py - oy) ** 2) ** 0.5)
    return distance


def _arrow(
    ax: Axes, start: tuple[float, float], end: tuple[float, float], gid: str, others: list
) -> None:
    """An arrow between two nodes, bent just enough to pass clear of the other nodes."""
    bends = (0.0, -0.2, 0.2, -0.35, 0.35, -0.5, 0.5)
    clear = [b for b in bends if _clearance(start, end, b, others) > 1.6 * _RADIUS]
    bend = clear[0] if clear else max(bends, key=lambda b: _clearance(start, end, b, others))
    arrow = FancyArrowPatch(
        _boundary(start, end),
        _boundary(end, start),
        arrowstyle="-|>",
        mutation_scale=14,
        connectionstyle=f"arc3,rad={bend}",
        linewidth=1.2,
        color="0.2",
        gid=gid,
    )
    ax.add_patch(arrow)


def plot_trace(
    trace: EvaluationTrace,
    table: TraceTable | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Draw the graph of ``trace`` (Figure 8.4 style) and return its Axes.

    With ``table`` (from ``trace.primal_table()``, ``tangent_table(..)`` or
    ``adjoint_table(..)``), each node is annotated with its entry, e.g. ``v̄3 = 8.39``.
    """
    if table is not None and table.trace is not trace:
        raise ValueError("table belongs to another trace; pass a table made from this trace")
    if ax is None:
        columns = max(trace.depths()) + 2
        rows = max(trace.depths().count(d) for d in set(trace.depths()))
        _, ax = plt.subplots(figsize=(1.9 * columns, 1.3 * rows + 1.2))
    centres = _layout(trace)
    definitions = [row[1] for row in trace.primal_table().rows("latex")]

    # arrows keep clear of the other nodes and of the text under them
    below = (0.3, 0.7) if table is not None else (0.3,)
    obstacles = list(centres.items())
    obstacles += [(j, (x, y - _RADIUS - d)) for j, (x, y) in centres.items() for d in below]
    for step in trace.steps:
        i = step.index
        for p in trace.parents(i):
            others = [c for j, c in obstacles if j not in (p, i)]
            _arrow(ax, centres[p], centres[i], f"edge:v{p}->v{i}", others)

    for i, (x, y) in centres.items():
        ax.add_patch(
            Circle((x, y), _RADIUS, facecolor="white", edgecolor="black", gid=f"node:v{i}")
        )
        ax.text(x, y, f"$v_{{{i}}}$", ha="center", va="center", fontsize=13)
        ax.text(
            x,
            y - _RADIUS - 0.12,
            f"${definitions[i - 1]}$",
            ha="center",
            va="top",
            fontsize=9,
            gid=f"label:v{i}",
        )
        if table is not None:
            ax.text(
                x,
                y - _RADIUS - 0.5,
                f"${_SYMBOLS[table.kind]}_{{{i}}} = {table.value(i):.4g}$",
                ha="center",
                va="top",
                fontsize=9,
                color="tab:blue",
                gid=f"value:v{i}",
            )

    several = len(trace.outputs) > 1
    for k, o in enumerate(trace.outputs, start=1):
        x, y = centres[o]
        label = x + 0.55 * _COLUMN
        _arrow(ax, (x, y), (label - 0.1, y), f"output:f{k if several else ''}", [])
        name = f"f_{{{k}}}" if several else "f"
        ax.text(label, y, f"${name}$", ha="left", va="center", fontsize=13)

    xs = [c[0] for c in centres.values()]
    ys = [c[1] for c in centres.values()]
    ax.set_xlim(min(xs) - 0.8, max(xs) + 0.75 * _COLUMN)
    ax.set_ylim(min(ys) - (1.3 if table is not None else 0.9), max(ys) + 0.7)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax


def figure_8_4(
    ax: Axes | None = None,
    values: Sequence[float] | None = None,
    kind: str = "tangent",
    point: tuple[float, float] = (1.0, 2.0),
) -> Axes:
    """Figure 8.4: the trace (8.50)-(8.56) of (8.49), ``f = v7``.

    With ``values`` (``v1 .. v7`` of a primal, tangent or adjoint pass at ``point``, as
    ``kind`` says, e.g. computed by one's own code), each node is annotated with its entry.
    """
    trace = record_trace(book_example, *point)
    ax = plot_trace(trace, _given(trace, values, kind), ax=ax)
    ax.set_title("Evaluation trace of (8.49)")
    return ax


def figure_8_5(
    ax: Axes | None = None,
    values: Sequence[float] | None = None,
    kind: str = "tangent",
    point: tuple[float, float] = (1.0, 2.0),
) -> Axes:
    """Figure 8.5: the trace of (8.49) extended by ``f2 = v5 v6`` (8.65), two outputs;
    ``values`` (``v1 .. v8``) and ``kind`` annotate the nodes as in ``figure_8_4``."""
    trace = record_trace(book_example_two_outputs, *point)
    ax = plot_trace(trace, _given(trace, values, kind), ax=ax)
    ax.set_title("Evaluation trace of (8.49) and (8.65)")
    return ax


def _given(trace: EvaluationTrace, values: Sequence[float] | None, kind: str) -> TraceTable | None:
    """A table of ``trace`` holding the given values (nothing computed here)."""
    if values is None:
        return None
    if kind not in _SYMBOLS:
        raise ValueError(f"kind must be one of {', '.join(_SYMBOLS)}, got {kind!r}")
    numbers = tuple(float(v) for v in values)
    if len(numbers) != len(trace):
        raise ValueError(
            f"the trace has {len(trace)} variables v1 .. v{len(trace)}, got {len(numbers)} values"
        )
    return TraceTable(trace, kind, (), numbers)
