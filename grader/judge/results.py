"""What judging returns and passes around: ``CaseResult`` (one case), ``Verdict`` (a
check's points and its cases' results), ``Answered`` (a case whose answer had the expected
structure, for the diagnosis), and ``plain_case``, a case as the kernel receives it (plain
data, after a round trip through JSON).  No student code runs here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from grader.framework import Case
from grader.sandboxed import channel


@dataclass
class CaseResult:
    """The outcome of one case."""

    case: str
    passed: bool
    problem: str = ""  # what is wrong, in one sentence
    details: list[str] = field(default_factory=list)  # expected vs received, errors
    diagnosis: str = ""  # the mistake that explains it, with the equation
    warnings: list[str] = field(default_factory=list)
    cause: str = ""  # the name of the mistake the diagnosis names (empty: none named)
    cause_equation: str = ""  # the equation that diagnosis cites


@dataclass
class Verdict:
    """The result of a check: points and the per-case results."""

    check: str
    title: str
    equation: str
    points: float
    max_points: float
    results: list[CaseResult]

    @property
    def passed(self) -> int:
        return sum(r.passed for r in self.results)

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "title": self.title,
            "equation": self.equation,
            "points": self.points,
            "max_points": self.max_points,
            "results": [vars(r) for r in self.results],
        }


@dataclass
class Answered:
    """A case whose answer had the expected structure: what the diagnosis looks at."""

    case: Case
    expected: list
    received: list
    result: CaseResult


def sent_case(case: Case) -> Any:
    """``case`` as the channel sends it to the kernel (encoded, ready for JSON)."""
    plain = {"name": case.name, "args": list(case.args), "kwargs": dict(case.kwargs)}
    if case.seconds:
        plain["seconds"] = case.seconds
    return channel.encode(plain)


def plain_case(case: Case) -> dict[str, Any]:
    """``case`` as the kernel receives it: plain data, after a round trip through JSON."""
    return channel.decode(sent_case(case))
