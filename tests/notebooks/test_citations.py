"""Every equation, figure, exercise and section of Chapter 8 that a master notebook cites
exists in the chapter, and every single equation it cites is cited next to the quantity
that equation is about.

``EQUATIONS`` is the chapter's table of equations: for each number, what the equation says
and words or symbols, one of which the text around a citation must contain (the line of
the citation and the lines before and after it; a range such as (8.50)-(8.56), or a list
such as (8.5), (8.6), is checked for existence and order only). ``ANCHORS`` are phrases
that fix the number that may follow them, for the citations that are easy to get wrong:
the sum-of-squares error, the definition of the deltas, the finite-difference formulas.
"""

from __future__ import annotations

import re

import pytest
from notebook_files import MASTERS, read

EQUATIONS: dict[int, tuple[str, tuple[str, ...]]] = {
    1: ("E(w) = sum_n E_n(w)", ("sum", "data point", "batch", "e_n", "summed", "mean")),
    2: ("y_k = sum_i w_ki x_i", ("linear", "y_k", "y = w", "output", "x @ w.t")),
    3: ("E_n = 1/2 sum_k (y_nk - t_nk)^2", ("sum-of-squares", "error")),
    4: (
        "dE_n/dw_ji = (y_nj - t_nj) x_ni",
        (
            "gradient",
            "signal",
            "derivative",
            "x_{ni}",
            "x_ni",
            "linear",
            "(y - t)",
            "data point",
            "shape",
        ),
    ),
    5: ("a_j = sum_i w_ji z_i", ("a_j", "pre-activation", "sum", "forward", "w_{ji}", "send")),
    6: ("z_j = h(a_j)", ("activation", "h(", "z_j", "z_i", "forward", "unit")),
    7: ("dE_n/dw_ji = dE_n/da_j da_j/dw_ji", ("chain rule", "\\partial a_j / \\partial w")),
    8: ("delta_j = dE_n/da_j", ("delta", "error", "definition", "quantities")),
    9: ("da_j/dw_ji = z_i", ("z_i", "a_j", "w_{ji}", "w_ji", "activation")),
    10: ("dE_n/dw_ji = delta_j z_i", ("delta", "z_i", "z_{ni}", "weight", "derivative", "send")),
    11: (
        "delta_k = y_k - t_k",
        ("y_k - t_k", "y - t", "y_{nk} - t_{nk}", "output", "delta", "signal", "canonical"),
    ),
    12: (
        "delta_j = sum_k dE_n/da_k da_k/da_j",
        ("chain rule", "sum", "a_k", "children", "through", "partial derivative"),
    ),
    13: (
        "delta_j = h'(a_j) sum_k w_kj delta_k",
        ("h'", "backprop", "delta", "hidden", "backward", "back", "adjoint", "sum", "_{kj}"),
    ),
    14: ("dE/dw_ji = sum_n dE_n/dw_ji", ("sum", "batch", "data point", "summed", "add")),
    15: ("h(a) = tanh(a)", ("tanh",)),
    16: ("h'(a) = 1 - h(a)^2", ("1 - ", "derivative", "tanh", "h'", "slope", "h''")),
    17: ("E_n = 1/2 sum_k (y_k - t_k)^2", ("sum-of-squares", "error", "e_n")),
    18: (
        "a_j = sum_i w_ji^(1) x_i",
        ("first", "hidden", "a_j", "forward", "w1", "w^{(1)}", "layer", "pre-activation", "input"),
    ),
    19: ("z_j = tanh(a_j)", ("tanh", "hidden", "z_j")),
    20: ("y_k = sum_j w_kj^(2) z_j", ("output", "y_k", "w2", "w^{(2)}", "linear", "second")),
    21: ("delta_k = y_k - t_k", ("output", "delta", "y - t", "y_k - t_k", "signal")),
    22: (
        "delta_j = (1 - z_j^2) sum_k w_kj delta_k",
        ("hidden", "delta", "1 - z", "back", "h'(a_j)"),
    ),
    23: (
        "dE_n/dw_ji^(1) = delta_j x_i, dE_n/dw_kj^(2) = delta_k z_j",
        ("derivative", "gradient", "delta", "weight"),
    ),
    24: (
        "forward difference",
        ("forward", "one-sided", "\\mathcal{o}(\\epsilon)", "finite-difference"),
    ),
    25: ("central difference", ("central", "\\epsilon^2", "2\\epsilon", "finite-difference")),
    26: ("J_ki = dy_k/dx_i", ("jacobian", "j_{ki}", "j_ki", "dy_k/dx_i", "partial y_k")),
    27: (
        "dE/dw = sum_kj dE/dy_k dy_k/dz_j dz_j/dw",
        ("module", "chain", "de/dw", "\\partial e / \\partial w"),
    ),
    28: ("Delta y_k ~ sum_i J_ki Delta x_i", ("delta", "error", "perturb", "propagat", "input")),
    29: (
        "J_ki = sum_j w_ji dy_k/da_j",
        ("jacobian", "j_ki", "j_{ki}", "w_ji", "w_{ji}", "input", "w1", "w^{(1)}"),
    ),
    30: ("dy_k/da_j = h'(a_j) sum_l w_lj dy_k/da_l", ("recursion", "h'", "back", "hidden")),
    31: ("dy_k/da_l = delta_kl (linear)", ("linear", "identity", "delta_kl", "delta_{kl}", "i_kl")),
    32: ("delta_kl, the identity", ("identity", "delta_kl", "delta_{kl}")),
    33: ("dy_k/da_l = delta_kl sigma'(a_l)", ("sigmoid", "sigma", "(1.0 - y)", "(1 - y)")),
    34: (
        "dy_k/da_l = delta_kl y_k - y_k y_l",
        ("softmax", "y_k y_l", "y y^t", "outer(y, y)", "(i_{kk'} - y"),
    ),
    35: (
        "central differences for the Jacobian",
        ("central", "jacobian", "numerical", "check", "\\epsilon^2", "perturbs"),
    ),
    36: ("d2E/dw_ji dw_lk", ("second derivative", "hessian")),
    37: ("H_ij = d2E/dw_i dw_j", ("hessian", "h_{ij}", "second", "symmetric", "matrix")),
    38: ("E = 1/2 sum_n (y_n - t_n)^2, one output", ("sum-of-squares", "error", "output")),
    39: (
        "H = sum_n grad y grad y^T + sum_n (y_n - t_n) grad grad y_n",
        ("hessian", "\\nabla", "grad y", "second term", "outer", "residual", "differentiate"),
    ),
    40: (
        "H ~ sum_n grad a_n grad a_n^T",
        ("outer", "levenberg", "approximation", "\\nabla", "hessian", "drop", "sample"),
    ),
    41: (
        "H ~ sum_n y_n (1 - y_n) grad a_n grad a_n^T",
        ("sigmoid", "y(1", "y (1", "y_n(1", "cross-entropy", "outer-product", "analogue"),
    ),
    42: ("f(x) = u(x) v(x)", ("product", "u v", "u(x)")),
    43: ("f'(x) = u'(x) v(x) + u(x) v'(x)", ("product rule", "derivative")),
    44: ("z = h(w_1 x + b_1)", ("hidden", "z =", "z = h", "w1", "w_1", "a_1")),
    45: ("y = h(w_2 z + b_2)", ("output", "y =", "w2", "w_2", "a_2")),
    46: ("zeta(a) = ln(1 + exp(a))", ("soft relu", "soft-relu", "softplus", "zeta", "ln(1", "log")),
    47: (
        "y(x) = h(w_2 h(w_1 x + b_1) + b_2)",
        ("network", "y(x)", "y =", "y (8.47)", "\\partial y", "derivative", "soft", "function"),
    ),
    48: (
        "dy/dw_1 in closed form",
        ("derivative", "dy/dw1", "w_1", "w1", "formula", "exercise 8.13", "printed"),
    ),
    49: (
        "f(x1, x2) = x1 x2 + exp(x1 x2) - sin(x2)",
        (
            "f(x",
            "example",
            "function",
            "x_1 x_2",
            "trace",
            "\\partial f",
            "adjoint",
            "f1 =",
            "f_849",
        ),
    ),
    **{
        n: ("a primal equation v_i = ...", ("v_", "v1", "v3", "v5", "v6", "v7", "primal", "trace"))
        for n in range(50, 57)
    },
    57: (
        "v_dot_i = sum_(j in pa(i)) v_dot_j dv_i/dv_j",
        ("tangent", "dot", "pa(", "forward", "primal"),
    ),
    **{
        n: ("a tangent equation", ("tangent", "dot", "v̇", "_dot", "forward", "exp v_3"))
        for n in range(58, 65)
    },
    65: ("f_2 = (x1 x2 - sin x2) exp(x1 x2)", ("f_2", "f2", "second output", "two outputs")),
    66: ("the K x D Jacobian", ("jacobian", "column", "k \\times d")),
    67: ("J r", ("j r", "\\mathbf j \\mathbf r", "vector product", "seeded", "one pass")),
    68: ("v_bar_i = df/dv_i", ("adjoint", "bar", "v̄")),
    69: (
        "v_bar_i = sum_(j in ch(i)) v_bar_j dv_j/dv_i",
        ("adjoint", "child", "ch(", "backward", "sum", "arrow", "grad"),
    ),
    **{
        n: ("an adjoint equation", ("adjoint", "bar", "v̄", "backward", "slip", "grad"))
        for n in range(70, 77)
    },
}
"""Chapter 8's equations (8.1)-(8.76): what each says, and the words one of which a citation
of it must have next to it."""

FIGURES = range(1, 6)
EXERCISES = range(1, 19)
SECTIONS = {
    "8",
    "8.1",
    "8.1.1",
    "8.1.2",
    "8.1.3",
    "8.1.4",
    "8.1.5",
    "8.1.6",
    "8.2",
    "8.2.1",
    "8.2.2",
}

ANCHORS: list[tuple[re.Pattern, set[int]]] = [
    (re.compile(r"sum-of-squares(?: error)?(?: function)?\s+\(8\.(\d+)\)", re.I), {3, 17, 38}),
    (re.compile(r"\berror(?:\s+\$E[^$]*\$)?\s+\(8\.(\d+)\)", re.I), {1, 3, 17, 38}),
    (
        re.compile(
            r"\\delta_j\s*(?:=|\\equiv)\s*\\partial E_n\s*/\s*\\partial a_j\$?\s*\(8\.(\d+)\)"
        ),
        {8},
    ),
    (re.compile(r"central differences?\s+\(8\.(\d+)\)", re.I), {25, 35}),
    (re.compile(r"forward differences?\s+\(8\.(\d+)\)", re.I), {24}),
    (re.compile(r"soft ReLU[^()]{0,40}\(8\.(\d+)\)", re.I), {46}),
]
"""Phrases followed by a citation that must be one of the given numbers."""

CITATION = re.compile(r"\(8\.(\d+)\)(?:\s*-\s*\(8\.(\d+)\))?")


def texts():
    """(notebook, cell number, source) of every cell of every master."""
    for path in MASTERS:
        for i, cell in enumerate(read(path).cells):
            yield path.stem, i, cell.source


LIST_GAP = 12
"""Citations at most this many characters apart form a list."""


def citations():
    """(where, number, end, context) of every equation citation; ``end`` is the last number
    of a range, or ``"list"`` for a citation in a list of citations ((8.5), (8.6) and ...),
    whose context is shared and therefore not checked against one equation."""
    for stem, i, source in texts():
        lines = source.splitlines()
        for row, line in enumerate(lines):
            matches = list(CITATION.finditer(line))
            for k, match in enumerate(matches):
                first, last = int(match.group(1)), match.group(2)
                context = " ".join(lines[max(row - 1, 0) : row + 2])
                near = [
                    other
                    for other in matches[:k] + matches[k + 1 :]
                    if other.end() > match.start() - LIST_GAP
                    and other.start() < match.end() + LIST_GAP
                ]
                end = int(last) if last else ("list" if near else None)
                yield f"{stem} cell {i}", first, end, context


def test_every_cited_equation_exists_and_ranges_run_forward():
    for where, first, last, _ in citations():
        assert first in EQUATIONS, f"{where}: (8.{first}) is not an equation of Chapter 8"
        if isinstance(last, int):
            assert last in EQUATIONS and first < last, f"{where}: (8.{first})-(8.{last})"


def test_every_single_citation_sits_next_to_its_quantity():
    wrong = []
    for where, number, last, context in citations():
        if last is not None or number not in EQUATIONS:
            continue
        meaning, words = EQUATIONS[number]
        lowered = context.lower()
        if not any(word in lowered for word in words):
            wrong.append(f"{where}: (8.{number}) [{meaning}] cited in: {context[:160]!r}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("anchor", range(len(ANCHORS)))
def test_anchored_citations_cite_the_right_equation(anchor):
    pattern, allowed = ANCHORS[anchor]
    for stem, i, source in texts():
        for match in pattern.finditer(source):
            number = int(match.group(1))
            assert number in allowed, f"{stem} cell {i}: {match.group(0)!r}"


def test_figures_exercises_and_sections_exist():
    for stem, i, source in texts():
        for number in re.findall(r"Figure 8\.(\d+)", source):
            assert int(number) in FIGURES, f"{stem} cell {i}: Figure 8.{number}"
        for number in re.findall(r"Exercises? 8\.(\d+)", source):
            assert int(number) in EXERCISES, f"{stem} cell {i}: Exercise 8.{number}"
        for number in re.findall(r"Exercises 8\.\d+-8\.(\d+)", source):
            assert int(number) in EXERCISES, f"{stem} cell {i}: Exercise 8.{number}"
        for section in re.findall(r"Sections? (8(?:\.\d+)*)", source):
            assert section in SECTIONS, f"{stem} cell {i}: Section {section}"
        for algorithm in re.findall(r"Algorithm (\d+\.\d+)", source):
            assert algorithm == "8.1", f"{stem} cell {i}: Algorithm {algorithm}"


def test_the_table_covers_the_chapter():
    assert sorted(EQUATIONS) == list(range(1, 77))
