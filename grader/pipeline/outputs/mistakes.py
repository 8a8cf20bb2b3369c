"""What the class got wrong: every auto-graded task's outcomes, counted over the submissions.

The counts come from the trusted results alone (``grading/<student>/<assignment>/result.json``,
decided where no student code ran), never from anything the student's kernel said.  Each
submission of an assignment counts once per auto-graded task, under one outcome:

- **full points**: every case passed;
- **a cause**: the trusted judge named it for this submission (``CaseResult.cause``: one of
  the check's mistake models, or a generic slip such as a sign), the rule that decides what
  the student reads; with that sentence and the equation it cites;
- **forbidden tool**: the function uses what its task forbids (the flag the verdicts raise)
  and lost points;
- **wrong, cause not recognised**: answers that are wrong in a way no model explains;
- **crashed** (raised, or ran past a case's time limit), **too slow** (past the time budget
  of a case that measures the cost of the method), **not attempted** (left as released),
  **no answer** (no function to call, an unreadable submission, a test that did not run);
- **cause not recorded**: a result written before causes were recorded by name (version 2)
  whose diagnosis the report cannot count; autograde grades such submissions again.

When a submission's cases fail in several ways, a named cause comes first, then wrong
answers, crashes, time budgets, tasks not attempted and missing answers.  The case outcomes
are read from the judge's own fixed wording (a hidden verdict holds no text of the student's),
so ``CaseResult.problem`` decides them only where no cause is named.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from grader.judge import NOT_IMPLEMENTED, OWN_WORDS
from grader.pipeline.course import Course
from grader.pipeline.results import ItemResult, SubmissionResult
from grader.sandboxed import channel

FULL = "full points"
CAUSE = "cause"
FORBIDDEN = "forbidden tool"
UNRECOGNISED = "wrong, cause not recognised"
NOT_RECORDED = "cause not recorded"
CRASHED = "crashed"
TOO_SLOW = "too slow"
NOT_ATTEMPTED = "not attempted"
NO_ANSWER = "no answer"

KINDS = (CAUSE, FORBIDDEN, UNRECOGNISED, NOT_RECORDED, CRASHED, TOO_SLOW, NOT_ATTEMPTED, NO_ANSWER)
"""The kinds of a lost point, in the order that breaks ties between equal counts."""

SENTENCES = {
    FORBIDDEN: "The function uses what its task forbids; it was graded where that does not "
    "exist (see flagged.md).",
    UNRECOGNISED: "Wrong answers that no mistake model of the task explains: worth a look "
    "(a mistake to model?).",
    NOT_RECORDED: "Diagnosed by a grader that did not record causes by name: run autograde to "
    "grade these submissions again.",
    CRASHED: "The function raised an exception or ran past a case's time limit.",
    TOO_SLOW: "Too slow for the time budget of the case that measures the cost of the method.",
    NOT_ATTEMPTED: "Left as released (NotImplementedError).",
    NO_ANSWER: "No answer to judge: no function of that name, an unreadable submission, or a "
    "test that did not run.",
}

CAUSES_RECORDED_SINCE = 3
"""The first version of the result files that names the causes (``RESULT_VERSION``)."""

FORBIDDEN_FLAG_END = ", which its task forbids"
"""How the verdicts' flag of a forbidden use ends (it starts with ``<check>: ``)."""

RAISED_WORDS = ("your function raised",)
TIME_LIMIT_WORDS = ("your function ran past the time limit",)
TOO_SLOW_WORDS = ("your method was too slow",)
NO_ANSWER_WORDS = (
    OWN_WORDS[channel.UNDEFINED],
    OWN_WORDS[channel.NOT_CALLABLE],
    OWN_WORDS[channel.MISSING_HERE],
    "no answer was recorded for this case",
    "the hidden test did not run",
    "the submission could not be read",
)
"""The judge's and the verdicts' own words for a failing case that is not a wrong answer."""


@dataclass(frozen=True)
class Outcome:
    """What happened to one task of one submission: its ``kind`` and, for a cause, the
    cause's ``name``, the ``sentence`` the student read and the ``equation`` it cites."""

    kind: str
    name: str
    sentence: str = ""
    equation: str = ""

    @property
    def lost_points(self) -> bool:
        return self.kind != FULL


@dataclass
class Tally:
    """One outcome of one task, and the students whose submissions had it."""

    outcome: Outcome
    students: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.students)


@dataclass
class TaskMistakes:
    """One auto-graded task of an assignment across the class: every outcome, ranked."""

    assignment: str
    grade_id: str
    check: str
    title: str
    equation: str
    submissions: int = 0
    tallies: list[Tally] = field(default_factory=list)  # the lost points first, ranked

    def share(self, tally: Tally) -> float:
        """The fraction of the task's submissions that had ``tally``'s outcome."""
        return tally.count / self.submissions if self.submissions else 0.0

    @property
    def lost(self) -> list[Tally]:
        """The outcomes that cost points, most frequent first."""
        return [t for t in self.tallies if t.outcome.lost_points]

    @property
    def full(self) -> int:
        return sum(t.count for t in self.tallies if not t.outcome.lost_points)


def trusted_results(course: Course) -> list[SubmissionResult]:
    """Every result file of the course, sorted by assignment then student."""
    found = []
    for path in sorted((course.root / "grading").glob("*/*/result.json")):
        try:
            found.append(SubmissionResult.from_json(json.loads(path.read_text(encoding="utf-8"))))
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise ValueError(
                f"{path} is not a valid grading result ({type(error).__name__}: {error}); "
                f"grade the submission again with autograde --force"
            ) from None
    return sorted(found, key=lambda r: (r.assignment, r.student))


def class_mistakes(results: list[SubmissionResult]) -> list[TaskMistakes]:
    """One ``TaskMistakes`` per (assignment, auto-graded task), assignments sorted by name
    and tasks in the notebook's order; each task's outcomes counted once per submission."""
    tasks: dict[tuple[str, str], TaskMistakes] = {}
    tallies: dict[tuple[str, str], dict[Outcome, Tally]] = {}
    for result in sorted(results, key=lambda r: (r.assignment, r.student)):
        for item in result.items:
            if item.written or item.verdict is None:
                continue
            key = (result.assignment, item.grade_id)
            if key not in tasks:
                verdict = item.verdict
                tasks[key] = TaskMistakes(
                    result.assignment, item.grade_id, item.check, verdict.title, verdict.equation
                )
                tallies[key] = {}
            tasks[key].submissions += 1
            outcome = outcome_of(item, result.flags, result.version)
            tallies[key].setdefault(outcome, Tally(outcome)).students.append(result.student)
    for key, task in tasks.items():
        task.tallies = sorted(tallies[key].values(), key=_rank)
    return sorted(tasks.values(), key=lambda t: t.assignment)


def _rank(tally: Tally) -> tuple:
    """Lost points first, most frequent first; ties by kind, then by name."""
    kind = tally.outcome.kind
    order = KINDS.index(kind) if kind in KINDS else len(KINDS)
    return (not tally.outcome.lost_points, -tally.count, order, tally.outcome.name)


def outcome_of(item: ItemResult, flags: list[str], version: int) -> Outcome:
    """The outcome of one auto-graded task of a submission (``flags``: the submission's,
    ``version``: its result file's)."""
    results = item.verdict.results if item.verdict else []
    failing = [r for r in results if not r.passed]
    if results and not failing:
        return Outcome(FULL, FULL)
    if any(_forbids(flag, item.check) for flag in flags):
        return _named(FORBIDDEN)
    named = next((r for r in failing if r.cause), None)
    if named is not None:
        return Outcome(CAUSE, named.cause, named.diagnosis, named.cause_equation)
    kinds = {_case_kind(r.problem) for r in failing} - {None}
    if version < CAUSES_RECORDED_SINCE and any(
        r.diagnosis and _case_kind(r.problem) == UNRECOGNISED for r in failing
    ):
        return _named(NOT_RECORDED)
    for kind in (UNRECOGNISED, CRASHED, TOO_SLOW, NOT_ATTEMPTED, NO_ANSWER):
        if kind in kinds:
            return _named(kind)
    return _named(NO_ANSWER)  # no case at all


def _named(kind: str) -> Outcome:
    return Outcome(kind, kind, SENTENCES[kind])


def _forbids(flag: str, check: str) -> bool:
    return flag.startswith(f"{check}: ") and flag.endswith(FORBIDDEN_FLAG_END)


def _case_kind(problem: str) -> str | None:
    """The kind of a failing case without a named cause, from the judge's own words (None:
    not run because an earlier case ran out of time, which that case already counts)."""
    if problem == OWN_WORDS[channel.NOT_RUN]:
        return None
    if problem == NOT_IMPLEMENTED:
        return NOT_ATTEMPTED
    if problem in NO_ANSWER_WORDS:
        return NO_ANSWER
    if problem.startswith(TOO_SLOW_WORDS):
        return TOO_SLOW
    if problem.startswith(RAISED_WORDS + TIME_LIMIT_WORDS):
        return CRASHED
    return UNRECOGNISED
