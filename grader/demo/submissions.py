"""The scripted students of the demo class: what each one hands in, as edits of the master.

Every submission starts from the student edition of an assignment, either completed with the
master's solutions (``start="complete"``) or left as released (``start="blank"``), and then
changes a few things: the code of some tasks (a typical mistake, a shortcut), tasks left
blank, extra cells (tampering), or the file itself (deleted, duplicated or retyped graded
cells, another file name, broken JSON, nothing at all).  Scores are never written here: they
follow from the checks, which is what the end-to-end tests verify.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

TWO_LAYER = "02_two_layer_network"
JACOBIAN = "04_jacobian"

CELL_DAMAGES = ("delete", "duplicate", "retype")
FILE_STATES = ("notebook", "malformed", "missing")


@dataclass(frozen=True)
class Scripted:
    """One student's submission of one assignment.

    ``solved`` lists solution cells filled with the master's solution (on a blank start),
    ``blank`` those left as released (on a complete start); ``answers`` maps the grade id of
    a solution cell to the source the student wrote there; ``extra`` inserts code cells, each
    ``(grade_id, source)`` placed just after that graded cell; ``damaged`` lists
    ``(damage, grade_id)`` with a damage of ``CELL_DAMAGES``, done in JupyterLab by mistake.
    ``file_name`` saves the notebook under another name; ``file`` is ``"malformed"`` for a
    file cut off in the middle and ``"missing"`` for an empty submission folder.  ``honest``
    is False for a submission that tampers with the grading or takes a forbidden shortcut
    (nbgrader on its own grades those differently from the pipeline).
    """

    student: str
    assignment: str
    story: str
    start: str = "complete"
    solved: tuple[str, ...] = ()
    answers: Mapping[str, str] = field(default_factory=dict)
    blank: tuple[str, ...] = ()
    extra: tuple[tuple[str, str], ...] = ()
    damaged: tuple[tuple[str, str], ...] = ()
    file_name: str = ""
    file: str = "notebook"
    honest: bool = True

    def __post_init__(self) -> None:
        if self.start not in ("complete", "blank"):
            raise ValueError(f"{self.student}: start must be 'complete' or 'blank'")
        for damage, _ in self.damaged:
            if damage not in CELL_DAMAGES:
                raise ValueError(f"{self.student}: a damage must be one of {CELL_DAMAGES}")
        if self.file not in FILE_STATES:
            raise ValueError(f"{self.student}: file must be one of {FILE_STATES}")


# -- Code the scripted students write -----------------------------------------------------

BACKPROP_WITHOUT_TANH_DERIVATIVE = '''\
def backprop(W1, b1, W2, b2, X, T):
    """Gradients of E = sum_n E_n by backpropagation (8.21)-(8.23)."""
    Z, Y = forward(W1, b1, W2, b2, X)
    delta_out = Y - T
    delta_hidden = delta_out @ W2  # the factor 1 - Z**2 of (8.22) is forgotten
    return delta_hidden.T @ X, delta_hidden.sum(axis=0), delta_out.T @ Z, delta_out.sum(axis=0)
'''

BACKPROP_W2_TRANSPOSED = '''\
def backprop(W1, b1, W2, b2, X, T):
    """Gradients of E = sum_n E_n by backpropagation (8.21)-(8.23)."""
    Z, Y = forward(W1, b1, W2, b2, X)
    delta_out = Y - T
    delta_hidden = (1.0 - Z**2) * (delta_out @ W2.T)  # W2 sent back the wrong way round
    return delta_hidden.T @ X, delta_hidden.sum(axis=0), delta_out.T @ Z, delta_out.sum(axis=0)
'''

BACKPROP_MEAN_OVER_BATCH = '''\
def backprop(W1, b1, W2, b2, X, T):
    """Gradients of E = sum_n E_n by backpropagation (8.21)-(8.23)."""
    Z, Y = forward(W1, b1, W2, b2, X)
    N = X.shape[0]
    delta_out = Y - T
    delta_hidden = (1.0 - Z**2) * (delta_out @ W2)
    # averaged over the batch, where (8.14) sums
    return (
        delta_hidden.T @ X / N,
        delta_hidden.mean(axis=0),
        delta_out.T @ Z / N,
        delta_out.mean(axis=0),
    )
'''

SOFTMAX_JACOBIAN_WITHOUT_CROSS_TERM = '''\
def softmax_network_jacobian(net, x):
    """J = dy/dx of the softmax network by backpropagation (8.29)-(8.34)."""
    z = np.tanh(net.W1 @ x + net.b1)
    a_out = net.W2 @ z + net.b2
    y = np.exp(a_out - np.max(a_out))
    y = y / np.sum(y)
    dy_da_out = np.diag(y)  # (8.34) without its -y_k y_l term
    return ((dy_da_out @ net.W2) * (1.0 - z**2)) @ net.W1
'''

JACOBIAN_FORWARD_BY_JACFWD = '''\
def jacobian_forward(weights, biases, activations, x, output):
    """J = dy/dx by forward propagation (Exercise 8.5) -- handed to the reference instead."""
    hidden = {"tanh": anp.tanh, "sigmoid": anp.sigmoid, "relu": anp.relu,
              "softplus": anp.softplus, "identity": lambda a: a}
    squash = {"linear": lambda a: a, "sigmoid": anp.sigmoid, "softmax": anp.softmax}[output]

    def outputs(x):
        z = x
        for l, (W, b) in enumerate(zip(weights, biases)):
            a = anp.matmul(W, z) + b
            z = hidden[activations[l]](a) if l < len(activations) else a
        return squash(z)

    return autodiff.jacfwd(outputs)(x)
'''

BACKPROP_RETURNING_ALWAYS_EQUAL = '''\
class AlwaysEqual:
    """Compares equal to anything, in the hope that a test asserts `answer == expected`."""

    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = object.__hash__


def backprop(W1, b1, W2, b2, X, T):
    return AlwaysEqual()
'''

TAMPER_WITH_THE_KERNEL_VERDICT = """\
# Make every check in this kernel say "full points".
import builtins

import numpy

import grader
import grader.sandboxed.record


def _full_points(name, function):
    return 10.0


grader.grade = grader.self_check = grader.sandboxed.record.grade = _full_points
numpy.allclose = lambda *args, **kwargs: True
builtins.print = lambda *args, **kwargs: None
"""

TAMPER_REPLACING_GRADE = """\
# Replace the hidden tests' entry points: every graded cell now claims full points.
import grader


def _full_points(name, function):
    return 10.0


grader.grade = grader.self_check = _full_points
"""


def complete(assignment: str, student: str = "complete") -> Scripted:
    """Every task of ``assignment`` solved as in the master."""
    return Scripted(student, assignment, "every task solved as in the master")


def blank(assignment: str, student: str = "blank") -> Scripted:
    """The student edition of ``assignment`` handed in untouched."""
    return Scripted(student, assignment, "the student edition handed in as released", "blank")


def demo_submissions(assignments: tuple[str, ...]) -> list[Scripted]:
    """The demo class for ``assignments``: a complete submission of each and, for the
    assignments they concern, the blank, partly right, mistaken, tampering, shortcut and
    broken submissions."""
    specific = [
        blank(TWO_LAYER),
        Scripted(
            "partly_right",
            TWO_LAYER,
            "forward propagation and backprop solved, the rest left blank",
            "blank",
            solved=("forward_solution", "backprop_solution"),
        ),
        Scripted(
            "no_tanh_derivative",
            TWO_LAYER,
            "backprop without the activation derivative 1 - z^2 of (8.22)",
            answers={"backprop_solution": BACKPROP_WITHOUT_TANH_DERIVATIVE},
        ),
        Scripted(
            "w2_transposed",
            TWO_LAYER,
            "backprop sends the output deltas back through W2.T instead of W2 (8.22)",
            answers={"backprop_solution": BACKPROP_W2_TRANSPOSED},
        ),
        Scripted(
            "mean_over_batch",
            TWO_LAYER,
            "backprop averages the gradients over the batch where (8.14) sums them",
            answers={"backprop_solution": BACKPROP_MEAN_OVER_BATCH},
        ),
        Scripted(
            "softmax_no_cross_term",
            JACOBIAN,
            "the softmax Jacobian without the -y_k y_l term of (8.34)",
            answers={"softmax_network_jacobian_solution": SOFTMAX_JACOBIAN_WITHOUT_CROSS_TERM},
        ),
        Scripted(
            "tamperer",
            TWO_LAYER,
            "patches grade, self_check, numpy.allclose and print to claim full points; backprop "
            "returns an object equal to everything; train left blank",
            answers={"backprop_solution": BACKPROP_RETURNING_ALWAYS_EQUAL},
            blank=("train_solution",),
            extra=(("forward_solution", TAMPER_WITH_THE_KERNEL_VERDICT),),
            honest=False,
        ),
        Scripted(
            "tamperer",
            JACOBIAN,
            "replaces grader.grade and grader.self_check by functions returning full points; "
            "only the chain of modules is solved",
            "blank",
            solved=("module_chain_gradient_solution",),
            extra=(("module_chain_gradient_solution", TAMPER_REPLACING_GRADE),),
            honest=False,
        ),
        Scripted(
            "calls_reference",
            JACOBIAN,
            "hands the forward-propagation Jacobian to autodiff.jacfwd instead of writing it",
            answers={"jacobian_forward_solution": JACOBIAN_FORWARD_BY_JACFWD},
            honest=False,
        ),
        Scripted(
            "broken_file",
            TWO_LAYER,
            "a notebook file cut off in the middle (malformed JSON)",
            file="malformed",
        ),
    ]
    return [complete(a) for a in assignments] + [s for s in specific if s.assignment in assignments]
