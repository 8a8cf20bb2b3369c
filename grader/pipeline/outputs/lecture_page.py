"""``reports/index.html``: one page to prepare the next lecture from.

It shows the points per question, the class's most frequent mistakes per task with the
equations to go over again (and which went down since the previous grading), the
submissions to look at, and how the numbers were made.  The page is self-contained: its
style is inline, its plots are embedded as data, it has no script, and its content security
policy forbids loading anything, so it opens the same from a disk, an e-mail or JupyterLab's
HTML viewer, and never reaches the network.  Every text is escaped.
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from grader.pipeline.outputs.export import number, shown_name
from grader.pipeline.outputs.mistakes import CAUSE, UNRECOGNISED, TaskMistakes
from grader.pipeline.outputs.mistakes_history import Comparison
from grader.pipeline.outputs.mistakes_tables import HOW_COUNTED, change_text, percent
from grader.pipeline.outputs.questions import Question

TOP = 5  # outcomes per task in the page's tables
POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"

CSS = """
body { margin: 0; background: #f5f6f8; color: #1f2328;
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
main { max-width: 60rem; margin: 0 auto; padding: 1.5rem 1rem 3rem; }
h1 { font-size: 1.6rem; margin: 0 0 .25rem; }
h2 { font-size: 1.3rem; margin: 2.2rem 0 .75rem; border-bottom: 1px solid #d1d9e0; }
h3 { font-size: 1.1rem; margin: 1.6rem 0 .5rem; }
h4 { font-size: 1rem; margin: 1.2rem 0 .3rem; }
a { color: #0b5cad; }
.sub, .meta { color: #59636e; margin: 0; }
nav { margin: 1rem 0; } nav a { margin-right: 1rem; }
.box { background: #fff; border: 1px solid #d1d9e0; border-radius: 6px;
  padding: .8rem 1rem; margin: 0 0 1rem; }
.changes { border-left: 6px solid #1a7f37; }
table { border-collapse: collapse; width: 100%; background: #fff; margin: .4rem 0 1rem; }
td, th { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid #d1d9e0;
  vertical-align: top; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.eq { font-family: ui-monospace, "SFMono-Regular", Menlo, monospace; white-space: nowrap; }
.kind { color: #59636e; font-style: italic; }
.bar { display: inline-block; height: .7rem; background: #1f4e9c; vertical-align: middle;
  margin-right: .4rem; }
.bar.other { background: #8c959f; }
img { max-width: 100%; background: #fff; border: 1px solid #d1d9e0; border-radius: 6px; }
.all-right { color: #1a7f37; }
footer { color: #59636e; font-size: .85rem; margin-top: 2rem; }
@media print { body { background: #fff; } nav { display: none; }
  h2 { break-before: page; } table, img { break-inside: avoid; } }
"""


def write_lecture_page(
    path: Path,
    course_folder: str,
    questions: Sequence[Question],
    question_plot: Path,
    tasks: list[TaskMistakes],
    plots: dict[str, Path],
    comparisons: dict[str, Comparison],
    look_at: list[tuple[str, str, str, str]],
) -> Path:
    """Write the page to ``path``: ``plots`` are the mistakes plots by assignment,
    ``look_at`` the (student, assignment, kind, message) rows of flagged submissions."""
    e = html.escape
    now = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    submissions = {(s, t.assignment) for t in tasks for tally in t.tallies for s in tally.students}
    body = [
        "<h1>What the class got wrong</h1>",
        f'<p class="sub">{len(submissions)} graded submissions of {len(plots)} assignment(s) '
        f"in <code>{e(course_folder)}</code>; made {e(now)} by <code>grader report</code>.</p>",
        '<nav><a href="#points">Points per question</a><a href="#mistakes">Mistakes per task</a>'
        '<a href="#look">Submissions to look at</a><a href="#method">How the numbers were made'
        "</a></nav>",
        _points_section(questions, question_plot),
        _mistakes_section(tasks, plots, comparisons),
        _look_at_section(look_at, tasks),
        _method_section(),
    ]
    page = "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f'<meta http-equiv="Content-Security-Policy" content="{POLICY}">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            "<title>What the class got wrong</title>",
            f"<style>{CSS}</style></head>",
            "<body><main>",
            *body,
            "</main></body></html>",
        ]
    )
    path.write_text(page + "\n", encoding="utf-8", errors="backslashreplace")
    return path


def _image(path: Path, alt: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}">'


def _points_section(questions: Sequence[Question], plot: Path) -> str:
    e = html.escape
    rows = []
    for q in questions:
        zero, _, full = q.counts()
        mean = q.mean_fraction()
        rows.append(
            f"<tr><td>{e(q.assignment)}</td><td>{e(q.grade_id)}</td><td>{e(q.kind)}</td>"
            f'<td class="n">{number(q.max_points)}</td><td class="n">{q.submissions}</td>'
            f'<td class="n">{"-" if math.isnan(mean) else percent(mean)}</td>'
            f'<td class="n">{full}</td><td class="n">{zero}</td><td class="n">{q.waiting}</td>'
            "</tr>"
        )
    return "\n".join(
        [
            '<h2 id="points">Points per question</h2>',
            _image(plot, "Points per question: the share of zero, partial and full points"),
            "<table><thead><tr><th>assignment</th><th>question</th><th>kind</th>"
            '<th class="n">points</th><th class="n">submissions</th>'
            '<th class="n">mean</th><th class="n">full</th><th class="n">zero</th>'
            '<th class="n" title="written answers awaiting hand grading">waiting</th>'
            "</tr></thead><tbody>",
            *rows,
            "</tbody></table>",
        ]
    )


def _mistakes_section(
    tasks: list[TaskMistakes], plots: dict[str, Path], comparisons: dict[str, Comparison]
) -> str:
    parts = [
        '<h2 id="mistakes">Mistakes per task</h2>',
        "<p>Each submission counts once per task, under the cause the trusted judge named "
        'for it or what else happened (<a href="#method">how the numbers were made</a>).</p>',
    ]
    for assignment, plot in plots.items():
        theirs = [t for t in tasks if t.assignment == assignment]
        parts.append(f"<h3>{html.escape(assignment)}</h3>")
        if assignment in comparisons:
            parts.append(_changes_box(comparisons[assignment]))
        parts.append(_image(plot, f"{assignment}: the most frequent mistakes per task"))
        parts += [_task_table(task) for task in theirs]
    return "\n".join(parts)


def _changes_box(comparison: Comparison) -> str:
    e = html.escape
    groups = (
        ("Fewer", comparison.fewer_mistakes),
        ("More", comparison.more_mistakes),
        ("Full points", comparison.full_points),
    )
    items = [
        f"<li><strong>{label}</strong>: {e('; '.join(change_text(c) for c in changes))}</li>"
        for label, changes in groups
        if changes
    ] or ["<li>No outcome changed its share.</li>"]
    return (
        f'<div class="box changes"><strong>Since the previous grading</strong> '
        f"(counted {e(comparison.recorded)}):<ul>{''.join(items)}</ul></div>"
    )


def _task_table(task: TaskMistakes) -> str:
    e = html.escape
    head = (
        f'<h4>{e(task.grade_id)}: {e(task.title)} <span class="eq">{e(task.equation)}</span>'
        f'</h4><p class="meta"><code>{e(task.check)}</code>: {task.full} of '
        f"{task.submissions} submissions had full points.</p>"
    )
    if not task.lost:
        return head + '<p class="all-right">Every submission had full points.</p>'
    rows = []
    for rank, tally in enumerate(task.lost[:TOP], 1):
        outcome, share = tally.outcome, task.share(tally)
        cause = outcome.kind == CAUSE
        name = (
            f"<strong>{e(outcome.name)}</strong>"
            if cause
            else f'<span class="kind">{e(outcome.name)}</span>'
        )
        bar = (
            f'<span class="bar{"" if cause else " other"}" style="width:{4 * share:.2f}rem"></span>'
        )
        rows.append(
            f'<tr><td class="n">{rank}</td><td>{name}: {e(outcome.sentence)}</td>'
            f'<td class="eq">{e(outcome.equation)}</td><td class="n">{tally.count}</td>'
            f'<td class="n">{bar}{percent(share)}</td></tr>'
        )
    more = len(task.lost) - TOP
    tail = f'<p class="meta">and {more} more in mistakes.csv</p>' if more > 0 else ""
    return (
        head
        + '<table><thead><tr><th class="n">rank</th><th>what went wrong</th><th>equation</th>'
        + '<th class="n">submissions</th><th class="n">share</th></tr></thead><tbody>'
        + "".join(rows)
        + "</tbody></table>"
        + tail
    )


def _look_at_section(look_at: list[tuple[str, str, str, str]], tasks: list[TaskMistakes]) -> str:
    """The flagged submissions, and those whose wrong answers no mistake model explains."""
    e = html.escape
    rows = list(look_at)
    for task in tasks:
        for tally in task.lost:
            if tally.outcome.kind == UNRECOGNISED:
                message = f"{task.grade_id} ({task.check}): {tally.outcome.sentence}"
                rows += [(s, task.assignment, UNRECOGNISED, message) for s in tally.students]
    rows.sort(key=lambda row: (row[0], row[1]))
    if not rows:
        return '<h2 id="look">Submissions to look at</h2><p>None.</p>'
    lines = [
        f"<tr><td>{e(shown_name(s))}</td><td>{e(a)}</td><td>{e(kind)}</td>"
        f"<td>{e(message)}</td></tr>"
        for s, a, kind, message in rows
    ]
    return "\n".join(
        [
            '<h2 id="look">Submissions to look at</h2>',
            f"<p>{len({(s, a) for s, a, _, _ in rows})} submission(s). Flags are for the "
            "instructor only; problems also appear in the student's feedback; wrong answers "
            "that no mistake model explains may show a mistake worth modelling.</p>",
            "<table><thead><tr><th>student</th><th>assignment</th><th>kind</th><th>why</th>"
            "</tr></thead><tbody>",
            *lines,
            "</tbody></table>",
        ]
    )


def _method_section() -> str:
    items = [
        "<li><strong>Where the numbers come from.</strong> The trusted results, "
        "<code>grading/&lt;student&gt;/&lt;assignment&gt;/result.json</code>, written by "
        "<code>grader autograde</code> where no student code runs; nothing the student's "
        "kernel printed or claimed counts. Points per question add the scores a person gave "
        "in the Formgrader (nbgrader's gradebook), as nbgrader does: the manual score where "
        "one was given, else the automatic one.</li>",
        f"<li><strong>Mistakes.</strong> {html.escape(HOW_COUNTED)} Shares are of the "
        "submissions of the assignment that have a result.</li>",
        "<li><strong>Over time.</strong> Each run of <code>grader report</code> keeps the "
        "counts in <code>mistakes_history.json</code>, keyed by the submitted files they "
        "count; after resubmissions are graded, the page compares the counts with those of "
        "the previous set of submissions.</li>",
        "<li><strong>Files.</strong> <code>per_question.csv</code>, <code>mistakes.csv</code> "
        "(every outcome with the students who had it), <code>mistakes.md</code>, "
        "<code>flagged.md</code> and, once <code>grader export</code> ran, "
        "<code>grades.csv</code>, next to this page.</li>",
    ]
    return '<h2 id="method">How the numbers were made</h2><ul>' + "".join(items) + "</ul>"
