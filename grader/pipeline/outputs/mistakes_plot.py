"""The plot of an assignment's mistakes: per task, its most frequent outcomes that cost points.

Horizontal bars, one per outcome, grouped under a heading per task; each bar is the share
of the task's submissions, labelled with that share and the count.  Made to be read on
paper: A4 wide, printed at 150 dpi, every kind of outcome told apart by its hatching as
well as its colour, and the numbers written next to the bars.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from grader.pipeline.outputs.mistakes import (
    CAUSE,
    CRASHED,
    FORBIDDEN,
    NO_ANSWER,
    NOT_ATTEMPTED,
    NOT_RECORDED,
    TOO_SLOW,
    UNRECOGNISED,
    TaskMistakes,
)
from grader.pipeline.outputs.mistakes_tables import percent

TOP = 5  # outcomes per task
LABEL_WIDTH = 46  # characters per line of a bar's label
STYLES = {
    CAUSE: ("#1f4e9c", "", "a cause the judge named"),
    FORBIDDEN: ("#b42318", "xx", FORBIDDEN),
    UNRECOGNISED: ("#8c959f", "//", UNRECOGNISED),
    NOT_RECORDED: ("#8c959f", "\\\\", NOT_RECORDED),
    CRASHED: ("#d4a72c", "..", CRASHED),
    TOO_SLOW: ("#d4a72c", "--", TOO_SLOW),
    NOT_ATTEMPTED: ("#e6e8eb", "", NOT_ATTEMPTED),
    NO_ANSWER: ("#e6e8eb", "oo", NO_ANSWER),
}
"""Per kind of outcome: the bar's colour, its hatching and its legend entry."""


def plot_mistakes(tasks: list[TaskMistakes], path: Path, top: int = TOP) -> Path:
    """Write the plot of ``tasks`` (one assignment's) to ``path`` (PNG); return ``path``."""
    rows = _rows(tasks, top)
    lines = sum(label.count("\n") + 1 for label, _, _ in rows)
    figure = Figure(figsize=(8.27, 1.3 + 0.24 * lines + 0.12 * len(rows)), layout="constrained")
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    y = list(range(len(rows)))
    for yi, (_, tally_share, kind) in zip(y, rows):
        if kind is None:
            continue
        share, text = tally_share
        colour, hatch, _ = STYLES[kind]
        ax.barh(yi, share, height=0.7, color=colour, hatch=hatch, edgecolor="#24292f", lw=0.6)
        ax.annotate(
            text, (share, yi), xytext=(4, 0), textcoords="offset points", va="center", fontsize=8
        )
    ax.set_yticks(y, [label for label, _, _ in rows], fontsize=8)
    for yi, (tick, (_, _, kind)) in enumerate(zip(ax.get_yticklabels(), rows)):
        if kind is None:
            tick.set_fontweight("bold")
            if yi:
                ax.axhline(yi - 0.5, color="#59636e", linewidth=0.8)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_xlim(0.0, 1.0)
    ax.xaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    ax.set_xlabel("share of the task's submissions", fontsize=9)
    ax.grid(axis="x", color="#d0d7de", linewidth=0.6)
    ax.set_axisbelow(True)
    ax.spines[["top", "right"]].set_visible(False)
    shown = [kind for kind in STYLES if any(kind == k for _, _, k in rows)]
    if shown:
        handles = [
            Patch(
                facecolor=STYLES[k][0], hatch=STYLES[k][1], edgecolor="#24292f", label=STYLES[k][2]
            )
            for k in shown
        ]
        figure.legend(handles=handles, loc="outside lower center", ncols=3, fontsize=8)
    assignment = tasks[0].assignment if tasks else ""
    figure.suptitle(
        f"{assignment}: what the class got wrong (the top {top} per task)",
        x=0.02,
        ha="left",
        fontsize=11,
    )
    figure.savefig(path, dpi=150)
    return path


def _rows(tasks: list[TaskMistakes], top: int) -> list[tuple[str, tuple[float, str], str | None]]:
    """(label, (share, text), kind) per row: a heading row per task (kind None), then its
    ``top`` most frequent outcomes that cost points."""
    rows = []
    for task in tasks:
        lost = task.lost
        shown = f", the top {top} of {len(lost)} shown" if len(lost) > top else ""
        summary = f"{task.full} of {task.submissions} full points{shown}"
        heading = _wrap(f"{task.grade_id}: {task.title}") + f"\n{summary}"
        rows.append((heading, (0.0, ""), None))
        for tally in lost[:top]:
            outcome = tally.outcome
            label = outcome.name + (f" {outcome.equation}" if outcome.equation else "")
            share = task.share(tally)
            rows.append((_wrap(label), (share, f"{percent(share)} ({tally.count})"), outcome.kind))
    return rows


def _wrap(text: str) -> str:
    return "\n".join(textwrap.wrap(text, LABEL_WIDTH, break_on_hyphens=False)) or text
