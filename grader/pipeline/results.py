"""The typed data every stage of grading passes on, and its JSON form.

intake (``Job``) -> sandbox (``SandboxTask`` in, ``Execution`` out) -> judging
(``SubmissionResult``) -> outputs.  A ``SandboxTask`` and an ``Execution`` are plain data
(notebooks as JSON text, case inputs already encoded for the channel), so the sandbox stage
can run in another process or on another machine; a ``SubmissionResult`` is what
``grading/<student>/<assignment>/result.json`` holds.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import nbformat

from grader.judge import CaseResult, Verdict

RESULT_VERSION = 3
"""Version 3 records the cause a diagnosis names (``CaseResult.cause`` and
``cause_equation``); a result of version 2 reads with those fields empty, and autograde
grades its submission again."""


@dataclass
class Job:
    """One submission to grade: ``path`` is None when nothing usable was submitted."""

    student: str
    assignment: str
    notebook: str  # the file name the assignment expects
    path: Path | None
    problems: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.student}/{self.assignment}"


@dataclass
class GradingRun:
    """One grading run of a submission's functions: the checks whose tasks forbid the same
    things, the statements they need and their case inputs (channel-encoded), by key.

    The cases of a check that measure the cost of its method (a time budget of their own)
    travel under the check's ``channel.cost_key``, with a window: the seconds the trusted
    side allows from sending them (when the check's graded call asks for them, after its
    other cases) to the arrival of their last records."""

    forbidden: tuple[str, ...]
    checks: list[str]
    steps: list[dict[str, str]]
    cases: dict[str, Any]  # key -> {"caller": ..., "cases": [...]} (channel-encoded)
    cost_windows: dict[str, float] = field(default_factory=dict)  # cost key -> seconds

    @property
    def measures_cost(self) -> bool:
        """Whether the run measures the cost of a method (some cases come on request)."""
        return bool(self.cost_windows)

    def only(self, keys: list[str]) -> GradingRun:
        """The same run, with the cases of ``keys`` alone."""
        cases = {key: self.cases[key] for key in keys}
        windows = {key: self.cost_windows[key] for key in keys if key in self.cost_windows}
        return GradingRun(self.forbidden, self.checks, self.steps, cases, windows)


@dataclass
class SandboxTask:
    """All the sandbox stage needs for one submission, as data."""

    student: str
    assignment: str
    notebook_name: str
    submission: str  # the repaired submission (notebook JSON)
    master: str  # the master without its solutions (notebook JSON)
    course_config: str  # the course's nbgrader_config.py
    template_gradebook: bytes  # the course's gradebook without students
    course_imports: tuple[str, ...]  # modules the course's notebooks import
    grading_runs: list[GradingRun]


@dataclass
class Execution:
    """What the sandbox stage produced for one submission: untrusted data, already read
    with size limits."""

    student: str
    assignment: str
    problems: list[str] = field(default_factory=list)
    notebook: str | None = None  # the notebook as nbgrader executed it (JSON)
    records: dict[str, list[list[dict]]] = field(default_factory=dict)  # check -> per call
    seconds: float = 0.0
    grading_run_seconds: float = 0.0
    kernel_starts: dict[str, int] = field(default_factory=dict)  # forked / launched
    worker: str = ""  # which worker graded it (a Dask worker's address, or local-N)

    @cached_property
    def executed(self) -> nbformat.NotebookNode | None:
        """``notebook`` parsed once for every reader (it may be tens of megabytes), without
        nbformat's schema validation, which costs far more than the parse: written where
        student code ran, it is read defensively wherever it is read.  None when it is not
        the JSON of a notebook."""
        if self.notebook is None:
            return None
        try:
            return nbformat.convert(nbformat.reader.reads(self.notebook), 4)
        except Exception:  # noqa: BLE001 - written where student code ran: anything can be wrong
            return None


@dataclass
class ItemResult:
    """One graded cell: a test cell's trusted points and verdict, or a written answer
    (``check`` empty; ``points`` None while a person has not graded it)."""

    grade_id: str
    check: str
    max_points: float
    points: float | None
    verdict: Verdict | None = None
    note: str = ""

    @property
    def written(self) -> bool:
        return not self.check


@dataclass
class SubmissionResult:
    """The trusted result of one submission."""

    student: str
    assignment: str
    notebook: str
    status: str  # "graded" | "unreadable"
    problems: list[str]  # shown to the student
    flags: list[str]  # for the instructor only
    items: list[ItemResult]
    max_points: float
    seconds: float = 0.0
    grading_run_seconds: float = 0.0
    kernel_starts: dict[str, int] = field(default_factory=dict)
    worker: str = ""
    submission_sha256: str = ""
    version: int = RESULT_VERSION

    @property
    def auto_points(self) -> float:
        return round(sum(i.points for i in self.items if i.points is not None), 2)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["auto_points"] = self.auto_points
        for item, entry in zip(self.items, data["items"]):
            entry["verdict"] = item.verdict.to_dict() if item.verdict else None
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SubmissionResult:
        known = set(cls.__dataclass_fields__)
        values = {k: v for k, v in data.items() if k in known}
        values["items"] = [
            ItemResult(
                **{
                    **{k: v for k, v in item.items() if k in ItemResult.__dataclass_fields__},
                    "verdict": verdict_from_dict(item.get("verdict")),
                }
            )
            for item in data.get("items", [])
        ]
        return cls(**values)


def verdict_from_dict(data: dict[str, Any] | None) -> Verdict | None:
    if data is None:
        return None
    results = [CaseResult(**result) for result in data.get("results", [])]
    return Verdict(
        data["check"],
        data.get("title", ""),
        data.get("equation", ""),
        float(data["points"]),
        float(data["max_points"]),
        results,
    )
