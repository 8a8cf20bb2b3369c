"""How each graded cell went across the class: its scores (manual scores where given) and
the submissions still waiting for a person, for the report's table, plot and lecture page."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from grader.pipeline.outputs.export import SubmissionGrades

TOLERANCE = 1e-9


@dataclass(frozen=True)
class Question:
    """The scores of one graded cell across the class (manual scores where given)."""

    assignment: str
    grade_id: str
    check: str
    max_points: float
    scores: np.ndarray  # one per submission that has a score
    waiting: int  # submissions whose written answer nobody has graded yet

    @property
    def kind(self) -> str:
        return "auto" if self.check else "written"

    @property
    def submissions(self) -> int:
        return self.scores.size + self.waiting

    def counts(self) -> tuple[int, int, int]:
        """How many scores are zero, partial and full."""
        zero = int(np.sum(self.scores <= TOLERANCE))
        full = int(np.sum(self.scores >= self.max_points - TOLERANCE)) if self.max_points else 0
        return zero, self.scores.size - zero - full, full

    def shares(self) -> tuple[float, float, float, float]:
        """Fractions of the submissions that scored zero, part, all of the points, or
        are waiting for a person (they add up to one)."""
        total = max(self.submissions, 1)
        return (*(c / total for c in self.counts()), self.waiting / total)

    def mean_fraction(self) -> float:
        if not self.scores.size or not self.max_points:
            return float("nan")
        return float(np.mean(self.scores) / self.max_points)


def questions(grades: list[SubmissionGrades]) -> list[Question]:
    """One ``Question`` per (assignment, graded cell), in the assignments' order."""
    collected: dict[tuple[str, str], tuple[str, float, list[float], list[int]]] = {}
    for submission in sorted(grades, key=lambda g: g.assignment):
        for item in submission.items:
            _, _, scores, waiting = collected.setdefault(
                (submission.assignment, item.grade_id), (item.check, item.max_points, [], [0])
            )
            if item.points is None:
                waiting[0] += 1
            else:
                scores.append(item.points)
    return [
        Question(a, gid, check, top, np.array(scores, dtype=np.float64), waiting[0])
        for (a, gid), (check, top, scores, waiting) in collected.items()
    ]
