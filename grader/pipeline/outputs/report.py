"""The class report: how each question went, which submissions need a look, the grade table.

``write_report`` writes ``per_question.csv`` (statistics of each graded cell's points:
``questions``), ``per_question.png`` (per question, the share of submissions that scored
nothing, part or all of its points, and the mean fraction of points), and ``flagged.csv`` /
``flagged.md`` (the submissions' problems, which their students also see, and the flags
meant for the instructor only).  ``write_class_report`` (``grader report``) adds what the
class got wrong (``mistakes.csv``, ``mistakes.md``, a plot ``mistakes_<assignment>.png``
per assignment, and the history ``mistakes_history.json`` that says which mistakes went
down after resubmissions: ``mistakes``, ``mistakes_tables``, ``mistakes_plot``,
``mistakes_history``) and ``index.html``, the page for the lecture (``lecture_page``).
``print_grade_table`` prints students against assignments.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import TextIO

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from grader.pipeline.course import Course
from grader.pipeline.outputs.export import (
    SubmissionGrades,
    class_grades,
    csv_text,
    number,
    shown_name,
)
from grader.pipeline.outputs.lecture_page import write_lecture_page
from grader.pipeline.outputs.markdown_text import literal
from grader.pipeline.outputs.mistakes import class_mistakes, trusted_results
from grader.pipeline.outputs.mistakes_history import HISTORY, update_history
from grader.pipeline.outputs.mistakes_plot import plot_mistakes
from grader.pipeline.outputs.mistakes_tables import mistakes_markdown, write_mistakes_csv
from grader.pipeline.outputs.questions import Question, questions

QUESTION_COLUMNS = (
    "assignment",
    "grade_id",
    "check",
    "kind",
    "max_points",
    "n",
    "waiting",
    "mean",
    "median",
    "std",
    "min",
    "max",
    "fraction_full",
    "fraction_zero",
)
FLAG_COLUMNS = ("student", "assignment", "kind", "message")
MARKS = {
    "!": "flagged for the instructor (see flagged.md)",
    "?": "the submission had problems (shown in its feedback)",
    "*": "written answers still to be graded by hand",
    "L": "submitted after the due date (nbgrader's; grades.csv says by how much)",
    "-": "not submitted",
}
TABLE_WIDTH = 100  # wider tables get short column labels and a key


def write_report(course: Course, out: Path) -> dict[str, Path]:
    """Write the per-question report and the flagged list to the folder ``out``; return
    their files by name (``per_question``, ``plot``, ``flagged_csv``, ``flagged_md``)."""
    grades = class_grades(course)
    if not grades:
        raise ValueError(f"no graded submission in {course.root / 'grading'}: run autograde first")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    found = questions(grades)
    paths = {
        "per_question": out / "per_question.csv",
        "plot": out / "per_question.png",
        "flagged_csv": out / "flagged.csv",
        "flagged_md": out / "flagged.md",
    }
    _write_questions(found, paths["per_question"])
    plot_questions(found, paths["plot"])
    _write_flagged(
        flagged_rows(grades, grader_errors(course)), paths["flagged_csv"], paths["flagged_md"]
    )
    return paths


def write_class_report(course: Course, out: Path) -> dict[str, Path]:
    """Write the whole class report to the folder ``out`` (``grader report``): that of
    ``write_report``, then what the class got wrong, its history and the lecture page;
    return every file by name (``write_report``'s, ``mistakes_csv``, ``mistakes_md``,
    ``mistakes_history``, ``mistakes_plot_<assignment>`` for each assignment, ``page``)."""
    paths = write_report(course, Path(out))
    grades = class_grades(course)
    look_at = flagged_rows(grades, grader_errors(course))
    return {**paths, **_write_mistakes(course, Path(out), questions(grades), look_at)}


def _write_mistakes(
    course: Course, out: Path, found: list[Question], look_at: list[tuple[str, str, str, str]]
) -> dict[str, Path]:
    """What the class got wrong, its history and the lecture page, from the trusted results
    (the page embeds ``per_question.png``, which ``write_report`` wrote)."""
    results = trusted_results(course)
    tasks = class_mistakes(results)
    comparisons = update_history(out / HISTORY, tasks, results)
    paths = {
        "mistakes_csv": write_mistakes_csv(tasks, out / "mistakes.csv"),
        "mistakes_md": out / "mistakes.md",
        "mistakes_history": out / HISTORY,
    }
    paths["mistakes_md"].write_text(mistakes_markdown(tasks, comparisons), encoding="utf-8")
    plots = {}
    for assignment in sorted({t.assignment for t in tasks}):
        theirs = [t for t in tasks if t.assignment == assignment]
        plots[assignment] = plot_mistakes(theirs, out / f"mistakes_{assignment}.png")
        paths[f"mistakes_plot_{assignment}"] = plots[assignment]
    paths["page"] = write_lecture_page(
        out / "index.html",
        str(course.root),
        found,
        out / "per_question.png",
        tasks,
        plots,
        comparisons,
        look_at,
    )
    return paths


def grader_errors(course: Course) -> list[tuple[str, str, str]]:
    """(student, assignment, message) of every submission the grader failed to handle at
    its last attempt (``grading/<student>/<assignment>/grader_error.json``)."""
    found = []
    for path in sorted((course.root / "grading").glob("*/*/grader_error.json")):
        try:
            message = str(json.loads(path.read_text(encoding="utf-8")).get("error", ""))
        except (OSError, ValueError, AttributeError):
            message = "the grader failed on this submission"
        found.append((path.parent.parent.name, path.parent.name, message))
    return found


def _write_questions(found: list[Question], path: Path) -> None:
    """Population statistics (std with ddof 0) of each question's scores."""
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(QUESTION_COLUMNS)
        for q in found:
            s = q.scores
            if s.size:
                zero, _, full = q.counts()
                stats = [np.mean(s), np.median(s), np.std(s), np.min(s), np.max(s)]
                values = [number(v) for v in [*stats, full / s.size, zero / s.size]]
            else:
                values = [""] * 7
            texts = [csv_text(text) for text in (q.assignment, q.grade_id, q.check, q.kind)]
            head = [*texts, number(q.max_points)]
            writer.writerow([*head, s.size, q.waiting, *values])


def plot_questions(found: list[Question], path: Path) -> Path:
    """Horizontal stacked bars, one per question: the share of submissions with zero,
    partial and full points (and waiting for hand grading), with a diamond at the mean
    fraction of points.  The figure grows with the number of questions."""
    n = len(found)
    figure = Figure(figsize=(9.0, 1.6 + 0.36 * n), layout="constrained")
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    y = np.arange(n, dtype=np.float64)
    shares = np.array([q.shares() for q in found], dtype=np.float64).reshape(n, 4)
    left = np.zeros(n)
    styles = (
        ("0 points", "#d1242f", ""),
        ("partial", "#e3a008", ""),
        ("full points", "#2da44e", ""),
        ("awaiting hand grading", "#c8c8d0", "//"),
    )
    for column, (label, colour, hatch) in enumerate(styles):
        if column == 3 and not shares[:, 3].any():
            continue
        ax.barh(
            y,
            shares[:, column],
            left=left,
            height=0.7,
            color=colour,
            hatch=hatch,
            label=label,
            edgecolor="white",
            linewidth=0.5,
        )
        left += shares[:, column]
    means = np.array([q.mean_fraction() for q in found])
    ax.plot(means, y, "D", color="black", markersize=5, clip_on=False, label="mean fraction")
    for yi, (q, mean) in enumerate(zip(found, means)):
        text = "-" if np.isnan(mean) else f"{mean:.0%}"
        ax.annotate(
            f"{text}  n={q.submissions}",
            (1.01, yi),
            xycoords=("axes fraction", "data"),
            va="center",
            fontsize=8,
        )
    for yi in range(1, n):
        if found[yi].assignment != found[yi - 1].assignment:
            ax.axhline(yi - 0.5, color="#59636e", linewidth=0.8)
    labels = [
        f"{q.assignment} / {q.grade_id}" + (" (written)" if q.kind == "written" else "")
        for q in found
    ]
    ax.set_yticks(y, labels, fontsize=8)
    ax.set_ylim(n - 0.5, -0.5)
    ax.set_xlim(0.0, 1.0)
    ax.xaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    ax.set_xlabel("share of submissions (diamond: mean fraction of the points)")
    figure.suptitle("Points per question", x=0.02, ha="left", fontsize=12)
    figure.legend(loc="outside lower center", ncols=5, fontsize=8, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    figure.savefig(path, dpi=120)
    return path


def flagged_entries(grades: list[SubmissionGrades]) -> list[tuple[str, str, str, str]]:
    """(student, assignment, kind, message) for every problem and flag, sorted by
    submission."""
    rows = []
    for g in sorted(grades, key=lambda g: (g.student, g.assignment)):
        rows += [(g.student, g.assignment, "flag", m) for m in g.flags]
        rows += [(g.student, g.assignment, "problem", m) for m in g.problems]
    return rows


def flagged_rows(
    grades: list[SubmissionGrades], errors: list[tuple[str, str, str]] = ()
) -> list[tuple[str, str, str, str]]:
    """(student, assignment, kind, message) of every grader error, flag and problem."""
    return [(s, a, "grader error", m) for s, a, m in errors] + flagged_entries(grades)


def _write_flagged(rows: list[tuple[str, str, str, str]], csv_path: Path, md_path: Path) -> None:
    """``flagged.csv`` and ``flagged.md`` from the (student, assignment, kind, message) rows,
    each student named as ``shown_name`` gives it."""
    with csv_path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(FLAG_COLUMNS)
        for student, *texts in rows:
            writer.writerow([csv_text(shown_name(student)), *map(csv_text, texts)])
    submissions = sorted({(s, a) for s, a, _, _ in rows})
    flags = sum(kind != "problem" for _, _, kind, _ in rows)
    lines = ["# Submissions to look at", ""]
    if not rows:
        lines.append("No submission has problems or flags.")
    else:
        lines += [
            f"{len(submissions)} submission(s): {flags} flag(s), {len(rows) - flags} "
            f"problem(s). Flags are for the instructor only; problems also appear in the "
            f"student's feedback.",
        ]
    for student, assignment in submissions:
        lines += ["", f"## {literal(shown_name(student))} / {literal(assignment)}", ""]
        lines += [
            f"- **{kind}**: {literal(message)}"
            for s, a, kind, message in rows
            if (s, a) == (student, assignment)
        ]
    md_path.write_text("\n".join(lines) + "\n", encoding="utf-8", errors="backslashreplace")


def print_grade_table(course: Course, stream: TextIO) -> None:
    """Print students as rows and assignments as columns (points/max, manual scores where
    given), a total column, and marks on submissions that need a look, with a legend."""
    grades = class_grades(course)
    if not grades:
        print(f"no graded submission in {course.root / 'grading'}", file=stream)
        return
    names = sorted({g.assignment for g in grades})
    tops = {a: next(g.max_points for g in grades if g.assignment == a) for a in names}
    by_key = {(g.student, g.assignment): g for g in grades}
    students = sorted({g.student for g in grades})
    rows = []
    for student in students:
        cells, total = [], 0.0
        for a in names:
            g = by_key.get((student, a))
            if g is None:
                cells.append("-")
                continue
            marks = "!" * g.flagged + "?" * bool(g.problems) + "*" * bool(g.needs_manual)
            marks += "L" * (g.late_seconds > 0)
            cells.append(f"{number(g.total)}/{number(g.max_points)}{marks}")
            total += g.total
        total_cell = f"{number(total)}/{number(sum(tops.values()))}"
        rows.append([shown_name(student), *cells, total_cell])
    labels = names
    widths = [max(len(r[i]) for r in rows) for i in range(len(names) + 2)]
    if sum(max(w, len(n)) for w, n in zip(widths[1:], names)) + widths[0] > TABLE_WIDTH:
        labels = [f"A{i}" for i in range(1, len(names) + 1)]
    header = ["student", *labels, "total"]
    widths = [max(w, len(h)) for w, h in zip(widths, header)]
    for row in [header, *rows]:
        line = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:])]
        print("  ".join(line).rstrip(), file=stream)
    if labels != names:
        print("", file=stream)
        for label, name in zip(labels, names):
            print(f"{label} = {name}", file=stream)
    print("", file=stream)
    for mark, meaning in MARKS.items():
        print(f"{mark}  {meaning}", file=stream)
