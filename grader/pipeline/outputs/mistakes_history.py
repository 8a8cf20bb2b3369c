"""The class's mistakes over time: which went down after resubmissions.

``grader report`` keeps, in ``reports/mistakes_history.json``, the counts of each
assignment's outcomes (``mistakes.class_mistakes``) as they stood after each grading of a
different set of submissions: a snapshot is keyed by the submissions it counted (each
student's submitted file, by its SHA-256), so a report run again on the same submissions
replaces the last snapshot instead of adding one, and a regrade after resubmissions adds
one.  The comparison is between the current counts and the snapshot before them.  The file
holds counts only, written by the report command from the trusted results; a file that
cannot be read starts a new history.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from grader.pipeline.outputs.mistakes import FULL, TaskMistakes
from grader.pipeline.results import SubmissionResult

HISTORY = "mistakes_history.json"
HISTORY_VERSION = 1
KEPT = 20  # snapshots kept per assignment


@dataclass(frozen=True)
class Change:
    """How often one outcome of one task occurred before and now."""

    grade_id: str
    check: str
    kind: str
    name: str
    before: int
    before_of: int  # the submissions counted before
    now: int
    now_of: int

    @property
    def share_before(self) -> float:
        return self.before / self.before_of if self.before_of else 0.0

    @property
    def share_now(self) -> float:
        return self.now / self.now_of if self.now_of else 0.0

    @property
    def went_down(self) -> bool:
        return self.share_now < self.share_before


@dataclass(frozen=True)
class Comparison:
    """An assignment's outcomes now against its previous grading (``recorded``: when that
    was counted)."""

    assignment: str
    recorded: str
    changes: list[Change]  # outcomes whose share changed, the largest fall first

    @property
    def fewer_mistakes(self) -> list[Change]:
        return [c for c in self.changes if c.went_down and c.kind != FULL]

    @property
    def more_mistakes(self) -> list[Change]:
        return [c for c in self.changes if not c.went_down and c.kind != FULL]

    @property
    def full_points(self) -> list[Change]:
        return [c for c in self.changes if c.kind == FULL]


def update_history(
    path: Path, tasks: list[TaskMistakes], results: list[SubmissionResult]
) -> dict[str, Comparison]:
    """Record the current counts in the history at ``path``; return, per assignment that
    has an earlier snapshot of other submissions, the comparison with it."""
    history = _load(path)
    comparisons = {}
    for assignment in sorted({t.assignment for t in tasks}):
        current = _snapshot(
            [t for t in tasks if t.assignment == assignment],
            [r for r in results if r.assignment == assignment],
        )
        snapshots = history.setdefault(assignment, [])
        if snapshots and snapshots[-1]["submissions"] == current["submissions"]:
            snapshots[-1] = current  # the same submissions, counted again
        else:
            snapshots.append(current)
        del snapshots[:-KEPT]
        if len(snapshots) > 1:
            comparisons[assignment] = _compare(assignment, snapshots[-2], current)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".tmp")
    data = {"version": HISTORY_VERSION, "assignments": history}
    partial.write_text(json.dumps(data, indent=1), encoding="utf-8")
    partial.replace(path)
    return comparisons


def _load(path: Path) -> dict[str, list[dict[str, Any]]]:
    """The snapshots by assignment ({} for a missing or unreadable file)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        assignments = data["assignments"] if data.get("version") == HISTORY_VERSION else {}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}
    if not isinstance(assignments, dict):
        return {}
    return {
        name: [s for s in snapshots if _valid(s)]
        for name, snapshots in assignments.items()
        if isinstance(snapshots, list)
    }


def _valid(snapshot: Any) -> bool:
    return (
        isinstance(snapshot, dict)
        and isinstance(snapshot.get("submissions"), str)
        and isinstance(snapshot.get("tasks"), dict)
    )


def _snapshot(tasks: list[TaskMistakes], results: list[SubmissionResult]) -> dict[str, Any]:
    """One assignment's counts, keyed by the submissions they count."""
    submitted = sorted((r.student, r.submission_sha256) for r in results)
    key = hashlib.sha256(json.dumps(submitted).encode()).hexdigest()
    return {
        "recorded": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "submissions": key,
        "tasks": {
            task.grade_id: {
                "check": task.check,
                "submissions": task.submissions,
                "outcomes": [
                    {"kind": t.outcome.kind, "name": t.outcome.name, "count": t.count}
                    for t in task.tallies
                ],
            }
            for task in tasks
        },
    }


def _compare(assignment: str, before: dict[str, Any], now: dict[str, Any]) -> Comparison:
    """The outcomes whose share of the submissions changed between two snapshots."""
    changes = []
    for grade_id, task in now["tasks"].items():
        earlier = before["tasks"].get(grade_id)
        if not isinstance(earlier, dict):
            continue
        counts_before, counts_now = _counts(earlier), _counts(task)
        for kind, name in sorted(set(counts_before) | set(counts_now)):
            change = Change(
                grade_id,
                str(task.get("check", "")),
                kind,
                name,
                counts_before.get((kind, name), 0),
                _number(earlier.get("submissions")),
                counts_now.get((kind, name), 0),
                _number(task.get("submissions")),
            )
            if change.share_now != change.share_before:
                changes.append(change)
    changes.sort(key=lambda c: c.share_now - c.share_before)
    return Comparison(assignment, str(before.get("recorded", "")), changes)


def _counts(task: dict[str, Any]) -> dict[tuple[str, str], int]:
    counts = {}
    for entry in task.get("outcomes", []):
        if isinstance(entry, dict) and isinstance(entry.get("count"), int):
            counts[(str(entry.get("kind", "")), str(entry.get("name", "")))] = entry["count"]
    return counts


def _number(value: Any) -> int:
    return value if isinstance(value, int) else 0
