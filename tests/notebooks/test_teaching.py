"""What the masters may and may not show, and where: no reference implementation of a task
is imported by the notebook that asks for it; no answer comes before its question (the
answers of written exercises, the tables and corrected slips that a task produces); worked
cells that use a student's function wait for it; every notebook ends with the summary."""

from __future__ import annotations

import ast
import re

import pytest
from notebook_files import MASTERS, nbgrader_meta, read

GRADE_CALL = re.compile(r"""\bgrade\(\s*["']([a-z0-9_]+)["']""")

REFERENCES: dict[str, tuple[str, ...]] = {
    "canonical_link_gradient": (
        "autodiff.algorithms.outputs.single_layer_gradient",
        "autodiff.algorithms.outputs.output_deltas",
    ),
    "dag_forward": ("autodiff.algorithms.dag_backprop.forward",),
    "dag_backprop": ("autodiff.algorithms.dag_backprop.backprop",),
    "layered_backprop": ("autodiff.algorithms.layered.layered_backprop",),
    "two_layer_forward": ("autodiff.algorithms.network.TwoLayerNet.forward",),
    "two_layer_backprop": ("autodiff.algorithms.two_layer",),
    "skip_layer_backprop": ("autodiff.algorithms.two_layer",),
    "forward_difference_gradient": ("autodiff.numerical.forward_difference",),
    "central_difference_gradient": ("autodiff.numerical.central_difference",),
    "central_difference_jacobian": ("autodiff.numerical.numerical_jacobian",),
    "loglog_slope": ("autodiff.algorithms.finite_differences.growth_exponent",),
    "module_chain_gradient": ("autodiff.algorithms.jacobian.chain_jacobians",),
    "softmax_network_jacobian": ("autodiff.algorithms.jacobian.two_layer_jacobian",),
    "jacobian_forward_propagation": ("autodiff.algorithms.jacobian.two_layer_jacobian_forward",),
    **{
        name: ("autodiff.algorithms.hessian", "autodiff.algorithms.hessian_approx")
        for name in (
            "output_error_derivatives",
            "hessian_second_layer_block",
            "hessian_first_layer_block",
            "hessian_mixed_block",
            "exact_hessian_assembled",
            "exact_hessian_skip_layer",
            "diagonal_hessian_approximation",
            "output_gradients_backprop",
            "outer_product_hessian_linear",
            "outer_product_hessian_sigmoid",
            "outer_product_hessian_softmax",
            "sequential_inverse_hessian",
            "hessian_vector_product",
        )
    },
    "soft_relu_dy_dw1": (
        "autodiff.algorithms.swell.book_dy_dw1",
        "autodiff.algorithms.swell.check_exercise_8_13",
    ),
    "tangent_trace_8_49": ("autodiff.algorithms.traces",),
    "dual_number_jvp": ("autodiff.algorithms.traces",),
    "forward_jacobian_vector_product": ("autodiff.algorithms.traces",),
    "adjoint_trace_8_49": ("autodiff.algorithms.traces",),
    "reverse_mode_engine": ("autodiff.algorithms.traces", "autodiff.scalar"),
}
"""For each check: the code of ``autodiff`` that computes what its task asks for (a module
stands for everything in it)."""

ANSWERS_AFTER = {
    "06_symbolic_and_forward_mode": [
        # the value of Exercise 8.17 and the tangent table come after the exercise and the task
        (r"2 \+ 2 ?e\^2|2\+2e\^2|16\.77", "exercise_8_17_tangent_written"),
        (r"TANGENT_EQUATIONS", "tangent_trace_tests"),
        (r"logistic_map\(x, n\)\n", "logistic_map_written"),
    ],
    "07_reverse_mode": [
        (r"2 \+ 2 ?e\^2|16\.77", "ex_8_17_three_routes"),
        (r"ADJOINT_EQUATIONS|v̄3 v1 \+ v̄4 cos|\\bar v_3 v_1 \+ \\bar v_4", "book_adjoints_tests"),
        (
            r"slip in the printed \(8\.75\)|\(8\.75\) corrected|corrected \(8\.75\)",
            "ex_8_16_adjoint_equations",
        ),
    ],
}
"""Per notebook: a pattern, and the graded cell (a written exercise or a task's test cell)
that every cell matching it must follow."""


PACKAGES = {"autodiff", "autodiff.numpy"}
"""The package itself, whose transforms the worked examples use to check results (the tasks
run where they do not exist): not a reference by being imported."""


def imported_names(source: str) -> set[str]:
    """The dotted names a cell imports: ``module`` for ``import module`` and for
    ``from package import module``, ``module.name`` for ``from module import name``."""
    try:
        tree = ast.parse(re.sub(r"^%.*$", "", source, flags=re.M))
    except SyntaxError:
        return set()
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def checks_of(path) -> set[str]:
    found = set()
    for cell in read(path).cells:
        found |= set(GRADE_CALL.findall(cell.source))
    return found


@pytest.mark.parametrize("path", MASTERS, ids=[p.stem for p in MASTERS])
def test_no_master_imports_the_reference_of_its_own_tasks(path):
    references = {ref for check in checks_of(path) for ref in REFERENCES.get(check, ())}
    for i, cell in enumerate(read(path).cells):
        if cell.cell_type != "code":
            continue
        for name in imported_names(cell.source) - PACKAGES:
            lowered = name.lower()
            for reference in references:
                ref = reference.lower()
                assert not (ref.startswith(lowered) or lowered.startswith(ref)), (
                    f"{path.stem} cell {i} imports {name}, the reference of a task of its own"
                )


@pytest.mark.parametrize("stem", sorted(ANSWERS_AFTER))
def test_no_answer_comes_before_its_question(stem):
    (path,) = [p for p in MASTERS if p.stem == stem]
    cells = read(path).cells
    position = {nbgrader_meta(c).get("grade_id"): i for i, c in enumerate(cells)}
    for pattern, question in ANSWERS_AFTER[stem]:
        assert question in position, question
        for i, cell in enumerate(cells):
            if nbgrader_meta(cell).get("solution") and cell.cell_type == "markdown":
                continue  # model answers are hidden in the student edition
            if nbgrader_meta(cell).get("solution"):
                continue  # solution regions are stubbed
            if re.search(pattern, cell.source):
                assert i > position[question], (
                    f"{stem} cell {i} matches {pattern!r} before {question} (cell "
                    f"{position[question]})"
                )


@pytest.mark.parametrize("path", MASTERS, ids=[p.stem for p in MASTERS])
def test_written_exercises_come_before_the_tasks_built_on_them(path):
    """An exercise that a task implements is answered in writing first: each written cell
    of a master comes before the first task whose text cites the same exercise."""
    cells = read(path).cells
    for i, cell in enumerate(cells):
        meta = nbgrader_meta(cell)
        if not (meta.get("grade") and meta.get("solution") and cell.cell_type == "markdown"):
            continue
        prompt = cells[i - 1].source
        exercises = set(re.findall(r"Exercise (8\.\d+)", prompt))
        for j, later in enumerate(cells[:i]):
            if nbgrader_meta(later).get("solution") and later.cell_type == "code":
                text = cells[j - 1].source
                asked = set(re.findall(r"Exercise (8\.\d+)", text)) & exercises
                implements = re.search(r"(?i)task \d+[^\n]*\(exercise", text)
                implements = implements or "your result" in text
                assert not (asked and implements), (
                    f"{path.stem}: the task at cell {j} implements Exercise {asked} before its "
                    f"written cell {i}"
                )


@pytest.mark.parametrize("path", MASTERS, ids=[p.stem for p in MASTERS])
def test_ends_with_the_summary(path):
    cells = read(path).cells
    assert cells[-1].cell_type == "code" and "summary()" in cells[-1].source
