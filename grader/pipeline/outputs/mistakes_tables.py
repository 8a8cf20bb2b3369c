"""The class's mistakes as tables: ``mistakes.csv``, ``mistakes.md`` and the summary that
``grader report`` prints (the counting is ``mistakes``, the changes ``mistakes_history``)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TextIO

from grader.pipeline.outputs.export import csv_text, number, shown_name
from grader.pipeline.outputs.markdown_text import literal
from grader.pipeline.outputs.mistakes import CAUSE, FULL, TaskMistakes
from grader.pipeline.outputs.mistakes_history import Change, Comparison

MISTAKE_COLUMNS = (
    "assignment",
    "grade_id",
    "check",
    "task",
    "rank",
    "kind",
    "cause",
    "sentence",
    "equation",
    "count",
    "submissions",
    "share",
    "students",
)
PRINTED = 3  # outcomes per task in the printed summary

HOW_COUNTED = (
    "Each submission counts once per auto-graded task, under one outcome. A cause counts only "
    "when the trusted judge named it for that submission (the rule that decides what the "
    "student reads), from the trusted results in grading/<student>/<assignment>/result.json, "
    "never from the student's kernel. When cases fail in several ways, a named cause comes "
    "first, then wrong answers, crashes, time budgets, tasks not attempted and missing "
    "answers; a use of what the task forbids that cost points counts as such. Flags stay in "
    "flagged.md."
)


def percent(share: float) -> str:
    """A share as a percentage with at most one decimal (``12.5%``, ``50%``)."""
    return f"{round(100 * share, 1):g}%"


def write_mistakes_csv(tasks: list[TaskMistakes], path: Path) -> Path:
    """One row per outcome of each task (the lost points ranked, then full points, whose
    rank is empty), with the students who had it, space-separated (each as ``shown_name``
    gives it); every text field as ``csv_text`` gives it."""
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(MISTAKE_COLUMNS)
        for task in tasks:
            ranks = {id(t): i for i, t in enumerate(task.lost, 1)}
            for tally in task.tallies:
                outcome = tally.outcome
                students = " ".join(map(shown_name, tally.students))
                writer.writerow(
                    [
                        *map(csv_text, (task.assignment, task.grade_id, task.check, task.title)),
                        ranks.get(id(tally), ""),
                        *map(csv_text, (outcome.kind, outcome.name, outcome.sentence)),
                        csv_text(outcome.equation),
                        tally.count,
                        task.submissions,
                        number(task.share(tally)),
                        csv_text(students),
                    ]
                )
    return path


def mistakes_markdown(tasks: list[TaskMistakes], comparisons: dict[str, Comparison]) -> str:
    """``mistakes.md``: per assignment the changes since its previous grading, then per task
    its outcomes that cost points, ranked, with their equations."""
    lines = ["# What the class got wrong", "", literal(HOW_COUNTED)]
    for assignment in sorted({t.assignment for t in tasks}):
        theirs = [t for t in tasks if t.assignment == assignment]
        count = max(t.submissions for t in theirs)
        lines += ["", f"## {literal(assignment)} ({count} submissions)"]
        if assignment in comparisons:
            lines += ["", *_changes_markdown(comparisons[assignment])]
        for task in theirs:
            lines += ["", *_task_markdown(task)]
    return "\n".join(lines) + "\n"


def _task_markdown(task: TaskMistakes) -> list[str]:
    lines = [
        f"### {literal(task.grade_id)}: {literal(task.title)} {literal(task.equation)}",
        "",
        f"`{task.check}`: {task.submissions - task.full} of {task.submissions} submissions "
        f"lost points, {task.full} had full points.",
    ]
    if not task.lost:
        return lines
    lines += [
        "",
        "| rank | what went wrong | equation | submissions | share |",
        "|---:|---|---|---:|---:|",
    ]
    for rank, tally in enumerate(task.lost, 1):
        outcome = tally.outcome
        name = f"**{literal(outcome.name)}**" if outcome.kind == CAUSE else f"*{outcome.name}*"
        lines.append(
            f"| {rank} | {name}: {literal(outcome.sentence)} | {literal(outcome.equation)} "
            f"| {tally.count} | {percent(task.share(tally))} |"
        )
    return lines


def _changes_markdown(comparison: Comparison) -> list[str]:
    lines = [f"Since the previous grading (counted {comparison.recorded}):", ""]
    groups = (
        ("fewer", comparison.fewer_mistakes),
        ("more", comparison.more_mistakes),
        ("full points", comparison.full_points),
    )
    for label, changes in groups:
        if changes:
            lines.append(f"- {label}: " + "; ".join(literal(change_text(c)) for c in changes))
    if not comparison.changes:
        lines.append("- no outcome changed its share")
    return lines


def change_text(change: Change) -> str:
    """``name in grade_id: before → now`` with counts and shares, as plain text (the name is
    left out for full points)."""
    where = change.grade_id if change.kind == FULL else f"{change.name} in {change.grade_id}"
    return (
        f"{where}: {change.before}/{change.before_of} ({percent(change.share_before)}) → "
        f"{change.now}/{change.now_of} ({percent(change.share_now)})"
    )


def print_mistakes(tasks: list[TaskMistakes], stream: TextIO, top: int = PRINTED) -> None:
    """The most frequent outcomes that cost points, per task that has any."""
    print(f"What the class got wrong (the top {top} per task; mistakes.md has all):", file=stream)
    for task in tasks:
        if not task.lost:
            continue
        print(
            f"{task.assignment} / {task.grade_id} ({task.check}): "
            f"{task.submissions - task.full} of {task.submissions} lost points",
            file=stream,
        )
        for tally in task.lost[:top]:
            outcome = tally.outcome
            share = percent(task.share(tally)).rjust(6)
            equation = f"  {outcome.equation}" if outcome.equation else ""
            print(f"  {share} {tally.count:>4}  {outcome.name}{equation}", file=stream)
