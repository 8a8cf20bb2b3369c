"""What a graded check is made of.

A ``Check`` is declarative: it generates seeded cases (plain inputs), names the sandboxed side's
caller that turns a case into the arguments of the student's function
(``grader.sandboxed.callers``), computes the reference answer with ``autodiff``, compares
with tolerances, and lists the typical mistakes it can recognise.  A ``Mistake`` is a
model of a wrong answer: a function computing what a student who made that mistake would
return, so that a wrong output can be matched against it and named, with the equation to
reread.  Running the student's function (``grader.sandboxed``, where student code runs) and
judging its outputs (``grader.judge``, where it never does) are separate steps that share
nothing but plain data (``grader.sandboxed.channel``).  What a task forbids is declared in
``grader.checks.forbidden``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Case:
    """One test input: a readable name and the arguments passed to the student's function
    (arrays and numbers only).

    ``withhold_values``: the case is judged as any other, but its messages show no number
    of the answer (neither expected nor received values, nor the sizes of the errors): only
    which entries are wrong and the diagnosis.  For a case whose answer a written exercise
    asks for (the point (1, 2) of Exercise 8.17), so that the self-check does not give it
    away.  The judge alone reads it; the kernel never needs it (not in ``plain_case``)."""

    name: str
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    seconds: float | None = None  # a time budget of its own: a case that measures the cost
    withhold_values: bool = False  # messages name the wrong entries, never their numbers


@dataclass(frozen=True)
class Mistake:
    """A typical mistake: ``model(case)`` returns what a function with this mistake returns
    on ``case``; ``explanation`` says what went wrong, ``equation`` what to reread."""

    name: str
    explanation: str
    equation: str
    model: Callable[[Case], Any]


class Check:
    """A graded task.  Subclasses set the class attributes and define ``cases`` and
    ``reference``; the rest has sensible defaults.

    Every check declares what its task takes, forbids and asks for: ``caller`` names how
    the kernel calls the student's function (``grader.sandboxed.callers.CALLERS``);
    ``forbids`` is what grading takes away from the student's code (a named tuple of
    ``grader.checks.forbidden``; empty when nothing); ``references`` the code of
    ``autodiff`` that computes what the task asks for (a module stands for everything in
    it; empty when only the check's own code does), which no master may import.
    ``outputs`` names the parts of the answer (a tuple of that length is expected when
    there are several).
    """

    name: str = ""
    title: str = ""
    equation: str = ""
    points: float = 1.0
    outputs: tuple[str, ...] = ("output",)
    rtol: float = 1e-6
    atol: float = 1e-8
    caller: str = "positional"
    forbids: tuple[str, ...] | None = None  # None: not declared (an error where it is read)
    references: tuple[str, ...] | None = None
    answer_form: str = ""  # what the function returns, said when an answer is not numbers
    cost_reason: str = ""  # what a cost case's budget allows, said when the case times out

    def cases(self, rng: np.random.Generator) -> list[Case]:
        """The hidden cases, drawn from ``rng``."""
        raise NotImplementedError

    def visible_cases(self, rng: np.random.Generator) -> list[Case]:
        """The cases of the students' self-check (by default: hidden-style cases from a
        different seed, at most three)."""
        return self.cases(rng)[:3]

    def reference(self, case: Case) -> Any:
        """The correct answer for ``case``, computed with ``autodiff``."""
        raise NotImplementedError

    def student_function(self, answer: Callable[[Case], Any]) -> Callable:
        """Something with the signature students implement that returns ``answer(case)``:
        how the tests feed the reference and each mistake model through the sandboxed side's
        caller (override together with ``caller``)."""
        return lambda *args, **kwargs: answer(Case("", args, kwargs))

    def normalize(self, answer: Any, case: Case) -> Any:
        """The received answer (plain data) in the form ``as_parts`` expects; raise
        ``AnswerShapeError`` saying what was expected when it cannot be (override where a
        task admits several forms)."""
        return answer

    def mistakes(self) -> list[Mistake]:
        """The typical mistakes this check recognises, most specific first."""
        return []

    def as_parts(self, answer: Any) -> list[Any]:
        """Split an answer into its named outputs."""
        if len(self.outputs) == 1:
            return [answer]
        if not isinstance(answer, (tuple, list)) or len(answer) != len(self.outputs):
            raise AnswerShapeError(
                f"expected a tuple of {len(self.outputs)} values "
                f"({', '.join(self.outputs)}), got {_describe(answer)}"
            )
        return list(answer)


class AnswerShapeError(ValueError):
    """An answer that does not have the structure the check expects."""


def _describe(value: Any) -> str:
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)} values"
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    return f"a value of type {type(value).__name__}"
