"""Checks for the assignment on evaluating gradients (Sections 8.1-8.1.2, Exercises 8.1-8.2).

Conventions shared by the checks: rows are data points (``X`` is ``(N, D)``, ``T`` is
``(N, K)``), errors are summed over the batch (8.1), and weights keep the index order of the
equations (``W[j, i] = w_ji``).

The network of Algorithm 8.1 is plain data: ``P`` nodes in topological order, first the
``D`` inputs (the columns of ``X``), then the ``H`` hidden units, then the ``K`` linear
outputs.  ``W`` is ``(P, P)`` with ``W[j, i] = w_ji`` for a connection from node ``i`` to
node ``j`` (so ``i < j``) and zero where there is none; ``activations`` names the hidden
units' activation functions, one per unit.  A case stores the names as one space-separated
string (cases hold arrays and strings only); the student's function receives a list.

The layered backpropagation ends with a case that measures the cost of the method (Section
8.1.4), as the two-layer network's does: W = 82,410 weights, where backpropagation takes
milliseconds and W evaluations of the error minutes.  Algorithm 8.1 on a network given
unit by unit has none: there an honest implementation may loop over units and connections
in Python, and no time budget lets such a loop pass while failing finite differences
written with NumPy (see ``tests/grader/test_cost_cases.py``).

One module per section of the assignment, importing the package registers every check:

- ``activations``: the hidden units' activation functions that the other modules share;
- ``single_layer``: the linear model (8.2)-(8.4) and the canonical output-function / error
  pairs (Section 8.1.1);
- ``dag``: Algorithm 8.1 on a network given as plain data, (8.5), (8.6) and (8.10)-(8.14);
- ``layered``: backpropagation in matrix form (Exercise 8.2).
"""

from __future__ import annotations

# the checks register in the order of the assignment
# isort: off
from grader.checks.gradients.single_layer import CanonicalLinkGradient, LinearModelGradient
from grader.checks.gradients.dag import (
    DagBackprop,
    DagForward,
    dag_as_network,
    dag_forward_reference,
)
from grader.checks.gradients.layered import (
    LAYERED_COST_POINTS,
    LAYERED_COST_SECONDS,
    LAYERED_COST_SIZES,
    MAX_LAYERS,
    LayeredBackprop,
)
# isort: on

# the other names, importable from here as before the split: the private ones are
# helpers that grader/checks/jacobian.py imports
from grader.checks.gradients.activations import _ANP_ACTIVATIONS as _ANP_ACTIVATIONS
from grader.checks.gradients.activations import _NP_ACTIVATIONS as _NP_ACTIVATIONS
from grader.checks.gradients.activations import HIDDEN_ACTIVATIONS
from grader.checks.gradients.activations import _activation_names as _activation_names

__all__ = [
    "HIDDEN_ACTIVATIONS",
    "LAYERED_COST_POINTS",
    "LAYERED_COST_SECONDS",
    "LAYERED_COST_SIZES",
    "MAX_LAYERS",
    "CanonicalLinkGradient",
    "DagBackprop",
    "DagForward",
    "LayeredBackprop",
    "LinearModelGradient",
    "dag_as_network",
    "dag_forward_reference",
]
