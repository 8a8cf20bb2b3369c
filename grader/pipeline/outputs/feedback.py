"""Feedback pages for the students: what each graded part scored and why.

One self-contained HTML page per submission, written where nbgrader keeps feedback,
``feedback/<student>/<assignment>/<notebook>.html``, next to the submission's
``timestamp.txt`` and ``submission_secret.txt`` when nbgrader collected them, so that
``nbgrader release_feedback`` returns it as it would return its own.  A page is built from
the trusted result and the gradebook alone: it never reads a test cell, so no hidden test
can leak into it, and the instructor-only flags are left out.  Every string is escaped (a
student's own exception messages appear in it).  ``feedback/<student>/index.html`` links a
student's pages.

nbgrader's own route to feedback (``nbgrader generate_feedback``, the Formgrader's "Generate
Feedback" button) is configured in the course's ``nbgrader_config.py`` to use
``FeedbackExporter``, which writes the same page for the same submission: neither route
renders the notebook's cells.
"""

from __future__ import annotations

import html
from pathlib import Path
from urllib.parse import quote

from nbconvert.exporters import Exporter

from grader.pipeline.course import Course
from grader.pipeline.intake.files import MAX_TIMESTAMP_BYTES, UnreadableSubmission, read_submitted
from grader.pipeline.outputs.export import ItemGrade, SubmissionGrades, class_grades, number

NBGRADER_FILES = ("timestamp.txt", "submission_secret.txt")

CSS = """
body { margin: 0; background: #f5f6f8; color: #1f2328;
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
main { max-width: 52rem; margin: 0 auto; padding: 1.5rem 1rem 3rem; }
h1 { font-size: 1.6rem; margin: 0 0 .25rem; }
h2 { font-size: 1.2rem; margin: 2rem 0 .75rem; }
h3 { font-size: 1.05rem; margin: 0; display: flex; justify-content: space-between; gap: 1rem; }
a { color: #0b5cad; }
.sub { color: #59636e; margin: 0; }
.score { margin-top: 1rem; font-size: 1.1rem; }
.score strong { font-size: 1.8rem; }
.box { background: #fff; border: 1px solid #d1d9e0; border-left: 6px solid #8c959f;
  border-radius: 6px; padding: .9rem 1.1rem; margin: 0 0 1rem; }
.full { border-left-color: #1a7f37; } .partial { border-left-color: #bf8700; }
.zero { border-left-color: #cf222e; } .waiting { border-left-color: #8250df; }
.problems { border-left-color: #cf222e; background: #fff8f8; }
.points { white-space: nowrap; font-variant-numeric: tabular-nums; }
.meta { color: #59636e; font-size: .9rem; margin: .2rem 0 .6rem; }
ol.cases { padding-left: 0; list-style: none; margin: 0; }
ol.cases li { padding: .35rem 0; border-top: 1px solid #eef1f4; }
.mark { display: inline-block; width: 1.4rem; font-weight: bold; }
.pass .mark { color: #1a7f37; } .fail .mark { color: #cf222e; }
.detail { margin: .3rem 0 0 1.4rem; }
pre { background: #f6f8fa; border-radius: 4px; padding: .5rem .7rem; margin: .3rem 0 0 1.4rem;
  overflow-x: auto; font-size: .85rem; white-space: pre-wrap; word-break: break-word; }
.cause { background: #fff8c5; border-radius: 4px; padding: .3rem .6rem; }
.problems { margin-top: 1.25rem; } .problems h2 { margin-top: 0; }
.warn { color: #59636e; font-size: .9rem; }
.note { margin: .6rem 0 0; font-weight: 600; }
.comment { margin: .6rem 0 0; padding: .5rem .7rem; background: #ddf4ff; border-radius: 4px;
  white-space: pre-wrap; }
table { border-collapse: collapse; width: 100%; background: #fff; }
td, th { text-align: left; padding: .5rem .7rem; border-bottom: 1px solid #d1d9e0; }
.points, th.points { text-align: right; }
footer { color: #59636e; font-size: .85rem; margin-top: 2rem; }
"""


def feedback_path(course: Course, student: str, assignment: str, notebook: str) -> Path:
    """Where nbgrader's ``release_feedback`` looks for a submission's feedback."""
    return course.root / "feedback" / student / assignment / f"{Path(notebook).stem}.html"


def write_feedback(
    course: Course,
    students: list[str] | None = None,
    assignments: list[str] | None = None,
) -> list[Path]:
    """Write the feedback page of every graded submission (or of the selected students
    and assignments) and each such student's index page; return the pages written."""
    selected = class_grades(course, students, assignments)
    if not selected:
        raise ValueError(f"no graded submission in {course.root / 'grading'}: run autograde first")
    written = []
    for grades in selected:
        path = feedback_path(course, grades.student, grades.assignment, grades.notebook)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(submission_page(grades), encoding="utf-8", errors="backslashreplace")
        _copy_nbgrader_files(course, grades, path.parent)
        written.append(path)
    chosen = sorted({g.student for g in selected})
    everything = class_grades(course, chosen)  # an index lists all of a student's assignments
    for student in chosen:
        written.append(_write_index(course, student, everything))
    return written


def _write_index(course: Course, student: str, grades: list[SubmissionGrades]) -> Path:
    """Write ``feedback/<student>/index.html`` from the student's rows of ``grades``."""
    theirs = [g for g in grades if g.student == student]
    index = course.root / "feedback" / student / "index.html"
    index.parent.mkdir(parents=True, exist_ok=True)
    index.write_text(student_index(student, theirs), encoding="utf-8", errors="backslashreplace")
    return index


class FeedbackExporter(Exporter):
    """nbconvert exporter for nbgrader's ``GenerateFeedback``: the page of the submission
    named in ``resources["nbgrader"]``, from the trusted result, whatever the notebook holds
    (the autograded notebook has the hidden tests in it, so it is never rendered).  The
    student's index page is written again with it, so that it shows the same totals (a hand
    grade given since changes both)."""

    output_mimetype = "text/html"

    def _file_extension_default(self):
        return ".html"

    def from_notebook_node(self, nb, resources=None, **kw):
        nb_copy, resources = super().from_notebook_node(nb, resources, **kw)
        about = (resources or {}).get("nbgrader", {})
        course = Course(Path(self.parent.coursedir.root))
        student, assignment = about.get("student"), about.get("assignment")
        try:
            theirs = class_grades(course, [str(student)])
        except ValueError:  # no trusted result for this student
            theirs = []
        found = [g for g in theirs if g.assignment == str(assignment)]
        if theirs:
            _write_index(course, str(student), theirs)
        page = submission_page(found[0]) if found else not_graded_page(student, assignment)
        return page, resources


def not_graded_page(student: object, assignment: object) -> str:
    """The page of a submission the course's grader has not graded (only nbgrader's own
    autograde ran on it): no points to show, and nothing of the notebook."""
    e = _escape
    body = [
        f"<header><h1>{e(assignment)}</h1>",
        f'<p class="sub">Feedback for {e(student)}</p></header>',
        '<section class="box problems"><h2>Not graded yet</h2>',
        "<p>This submission has no result from the course's grader. The instructor runs "
        "<code>grader autograde</code>, then generates the feedback again.</p></section>",
    ]
    return _page(f"{assignment}: feedback for {student}", body)


def submission_page(grades: SubmissionGrades) -> str:
    """The feedback page of one submission, as HTML."""
    e = _escape
    waiting = grades.needs_manual
    summary = [
        f'<p class="score"><strong>{number(grades.auto_points)}</strong> / '
        f"{number(grades.max_points)} points graded automatically</p>"
    ]
    if grades.manual_points is not None or waiting:
        line = f"Total so far: {number(grades.total)} / {number(grades.max_points)} points"
        if waiting:
            line += f" ({waiting} written answer{'s' * (waiting > 1)} still to be graded by hand)"
        summary.append(f'<p class="sub">{e(line)}</p>')
    body = [
        "<header>",
        f"<h1>{e(grades.assignment)}</h1>",
        f'<p class="sub">Feedback for {e(grades.student)} &middot; {e(grades.notebook)}</p>',
        *summary,
        "</header>",
    ]
    if grades.status != "graded" or grades.problems:
        body.append(_problems(grades))
    body.append("<h2>Graded parts</h2>")
    body.extend(_item(item) for item in grades.items)
    if grades.comments:
        body.append("<h2>Comments</h2>")
        body.extend(
            f'<div class="box"><p class="meta">on cell {e(cell)}</p>'
            f'<p class="comment">{e(text)}</p></div>'
            for cell, text in sorted(grades.comments.items())
        )
    body.append(
        "<footer>The points were computed by running your functions on test cases that "
        "differ from the ones in the notebook. Written answers are graded by hand.</footer>"
    )
    return _page(f"{grades.assignment}: feedback for {grades.student}", body)


def student_index(student: str, grades: list[SubmissionGrades]) -> str:
    """The page linking a student's feedback pages, one row per assignment."""
    e = _escape
    rows = []
    for g in sorted(grades, key=lambda g: g.assignment):
        href = f"{quote(g.assignment)}/{quote(Path(g.notebook).stem)}.html"
        pending = f" ({g.needs_manual} to be graded by hand)" if g.needs_manual else ""
        rows.append(
            f'<tr><td><a href="{e(href)}">{e(g.assignment)}</a>{e(pending)}</td>'
            f'<td class="points">{number(g.total)} / {number(g.max_points)}</td></tr>'
        )
    body = [
        f"<header><h1>Feedback for {e(student)}</h1></header>",
        '<table><thead><tr><th>Assignment</th><th class="points">Points</th></tr></thead><tbody>',
        *rows,
        "</tbody></table>",
    ]
    return _page(f"Feedback for {student}", body)


def _problems(grades: SubmissionGrades) -> str:
    e = _escape
    lines = ['<section class="box problems"><h2>About your submission</h2>']
    if grades.status != "graded":
        lines.append("<p>Your submission could not be read, so its tasks scored nothing.</p>")
    if grades.problems:
        lines.append("<ul>" + "".join(f"<li>{e(p)}</li>" for p in grades.problems) + "</ul>")
    lines.append("</section>")
    return "\n".join(lines)


def _item(item: ItemGrade) -> str:
    e = _escape
    verdict = item.verdict or {}
    if item.written:
        title = "Written answer"
    else:
        title = f"{verdict.get('title') or item.check} {verdict.get('equation', '')}".strip()
    if item.waiting:
        points, state = "to be graded by hand", "waiting"
    else:
        points = f"{number(item.points)} / {number(item.max_points)}"
        state = "full" if item.points >= item.max_points - 1e-9 else "partial"
        state = "zero" if item.points <= 1e-9 else state
    meta = [f"cell {item.grade_id}"]
    results = verdict.get("results", [])
    if results:
        passed = sum(bool(r.get("passed")) for r in results)
        meta.append(f"{passed} of {len(results)} test cases pass")
    parts = [
        f'<article class="box {state}">',
        f'<h3><span>{e(title)}</span><span class="points">{e(points)}</span></h3>',
        f'<p class="meta">{e(" · ".join(meta))}</p>',
    ]
    if results:
        parts.append(_cases(results))
    if item.manual_points is not None and not item.written:
        automatic = number(item.auto_points or 0.0)
        parts.append(f'<p class="note">Adjusted by hand (automatic score: {automatic})</p>')
    if item.extra_credit:
        parts.append(f'<p class="note">Extra credit: {e(number(item.extra_credit))}</p>')
    # a written answer's note ("graded by hand") is stale once a person has scored it
    if item.note and not (item.written and (item.waiting or item.manual_points is not None)):
        parts.append(f'<p class="note">{e(item.note)}</p>')
    if item.comment:
        parts.append(f'<p class="comment">{e(item.comment)}</p>')
    parts.append("</article>")
    return "\n".join(parts)


def _cases(results: list[dict]) -> str:
    """Each case: pass or fail, what is wrong, expected vs received for the first failing
    case that has them; each distinct diagnosis (with the equation to reread) and warning
    once, at the first case it concerns."""
    e = _escape
    lines, shown_details = ['<ol class="cases">'], False
    seen_diagnoses: set[str] = set()
    seen_warnings: set[str] = set()
    for position, result in enumerate(results, 1):
        passed = bool(result.get("passed"))
        lines.append(
            f'<li class="{"pass" if passed else "fail"}">'
            f'<span class="mark">{"&#10003;" if passed else "&#10007;"}</span>'
            f"case {position}: {e(result.get('case', ''))}"
        )
        if result.get("problem"):
            lines.append(f'<div class="detail">{e(result["problem"])}</div>')
        if result.get("details") and not shown_details:
            lines.append("<pre>" + e("\n".join(map(str, result["details"]))) + "</pre>")
            shown_details = True
        diagnosis = str(result.get("diagnosis") or "")
        if diagnosis and diagnosis not in seen_diagnoses:
            seen_diagnoses.add(diagnosis)
            lines.append(f'<div class="detail cause">Likely cause: {e(diagnosis)}</div>')
        new = [str(w) for w in result.get("warnings", []) if str(w) not in seen_warnings]
        if new:
            seen_warnings.update(new)
            text = "; ".join(new)
            lines.append(f'<div class="detail warn">Note (not penalised): {e(text)}</div>')
        lines.append("</li>")
    lines.append("</ol>")
    return "\n".join(lines)


def _page(title: str, body: list[str]) -> str:
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            '<head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{_escape(title)}</title>",
            f"<style>{CSS}</style></head>",
            "<body><main>",
            *body,
            "</main></body></html>",
            "",
        ]
    )


def _escape(text: object) -> str:
    return html.escape(str(text), quote=True)


def _copy_nbgrader_files(course: Course, grades: SubmissionGrades, folder: Path) -> None:
    """The submission's timestamp and secret, which ``release_feedback`` needs."""
    submitted = course.submitted / grades.student / grades.assignment
    for name in NBGRADER_FILES:
        try:  # a regular file only: a link could point at any file of the course's owner
            data = read_submitted(submitted / name, MAX_TIMESTAMP_BYTES)
        except UnreadableSubmission:
            continue
        (folder / name).write_bytes(data)
