"""The instructor's command line: ``grader <command>`` (``grader --help`` lists them).

Exit codes: 0 done; 2 wrong usage or a broken course folder; 3 done, but some submissions
had problems or were flagged (see the report); 130 interrupted (the gradebook is
consistent and the next run resumes).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from grader.pipeline.course import Course
from grader.pipeline.sandbox.limits import Limits

ROOT = Path(__file__).resolve().parent.parent
EXIT_OK, EXIT_USAGE, EXIT_TROUBLE, EXIT_INTERRUPTED = 0, 2, 3, 130


def _course(args) -> Course:
    """The course a command works on, found as nbgrader finds it: ``--course`` when given,
    else the working folder when it holds a course (its ``nbgrader_config.py`` or
    ``source/``; the configuration's ``CourseDirectory.root`` when it sets one), else the
    repository's ``course/``."""
    if args.course:
        return Course(Path(args.course))
    here = Path.cwd()
    if (here / "nbgrader_config.py").is_file():
        from traitlets.config.loader import PyFileConfigLoader

        config = PyFileConfigLoader("nbgrader_config.py", path=str(here)).load_config()
        return Course(Path(config.CourseDirectory.get("root", here)))
    if (here / "source").is_dir() or not (ROOT / "course").is_dir():
        return Course(here)
    return Course(ROOT / "course")


def cmd_release(args) -> int:
    from grader.pipeline.intake.exchange import ExchangeFailed, exchange_of, release_assignments
    from grader.release import assignments, build_student_edition, generate_release

    course = _course(args)
    if args.student_edition:
        for path in build_student_edition(course.root, Path(args.student_edition)):
            print(f"wrote {path}")
    else:
        for path in generate_release(course.root):
            print(f"released {path}")
    if args.no_exchange:
        return EXIT_OK
    names = assignments(course.root)
    try:
        release_assignments(course, names)
    except ExchangeFailed as error:
        print(f"grader: {error}", file=sys.stderr)
        return EXIT_TROUBLE
    exchange = exchange_of(course)
    print(f"released {', '.join(names)} to the exchange {exchange.root} ({exchange.course_id})")
    return EXIT_OK


def cmd_collect(args) -> int:
    if args.source is not None:
        return _collect_export(args)
    from grader.pipeline.intake.exchange import exchange_of
    from grader.pipeline.intake.inbound import collect

    course = _course(args)
    exchange = exchange_of(course)
    taken, troubled = 0, False
    for name in args.assignment or list(course.assignments):
        intake = collect(course, exchange, course.assignment(name))
        troubled = _report_intake(course, intake) or troubled
        taken += len(intake.taken)
    print(f"{taken} new submission{'s' * (taken != 1)} from {exchange.inbound}")
    return EXIT_TROUBLE if troubled else EXIT_OK


def _collect_export(args) -> int:
    from grader.pipeline.intake.lms import take_in

    if not args.assignment or len(args.assignment) > 1:
        print("grader: an LMS export needs one --assignment", file=sys.stderr)
        return EXIT_USAGE
    course = _course(args)
    assignment = course.assignment(args.assignment[0])
    intake = take_in(course, Path(args.source), assignment, overwrite=args.overwrite)
    return EXIT_TROUBLE if _report_intake(course, intake) else EXIT_OK


def _report_intake(course: Course, intake) -> bool:
    """Print what was taken in and what was skipped; True when something was skipped."""
    from grader.pipeline.intake.files import shown
    from grader.pipeline.outputs.export import shown_name

    for student, path in intake.taken:
        print(f"took in {shown_name(student)}: {shown(str(path.relative_to(course.root)))}")
    for reason in intake.skipped:
        print(f"skipped {reason}", file=sys.stderr)
    for note in intake.retimed:
        print(f"note: {note}")
    return bool(intake.skipped)


def cmd_autograde(args) -> int:
    from grader.pipeline.autograde import autograde
    from grader.pipeline.outputs.progress import Progress
    from grader.pipeline.pool import PoolUnavailable
    from grader.pipeline.sandbox.bubblewrap import SandboxUnavailable

    pool = None
    if args.scheduler:
        try:
            from grader.pipeline.cluster import dask_pool
        except ImportError:
            print(
                "grader: --scheduler needs Dask: pip install -e '.[cluster]' in this environment",
                file=sys.stderr,
            )
            return EXIT_USAGE
        pool = dask_pool(args.scheduler, args.connect_timeout)

    course = _course(args)
    limits = Limits(
        cell_seconds=args.cell_timeout,
        job_seconds=args.job_timeout,
        memory_bytes=args.memory_mb * 1024**2,
    )
    if args.no_sandbox:
        print(
            "warning: grading WITHOUT the sandbox: student code runs as you, with resource "
            "limits only",
            file=sys.stderr,
        )
    progress: list[Progress] = []

    def done(result, i, n):
        if not progress:
            progress.append(Progress("autograde", n))
        mark = " !" if result.problems or result.flags else ""
        note = (
            f"{result.student} {result.assignment} "
            f"{result.auto_points:g}/{result.max_points:g}{mark}"
        )
        progress[0].update(i, note)

    try:
        summary = autograde(
            course,
            args.assignment,
            args.student,
            args.jobs,
            args.force,
            limits,
            not args.no_sandbox,
            on_done=done,
            pool=pool,
        )
    except SandboxUnavailable as error:
        print(f"grader: {error}", file=sys.stderr)
        return EXIT_USAGE
    except PoolUnavailable as error:
        print(f"grader: {error}", file=sys.stderr)
        return EXIT_USAGE
    print(
        f"graded {len(summary.graded)} submissions, {summary.reused} already up to date",
        file=sys.stderr,
    )
    for result in summary.troubled:
        for message in result.problems + result.flags:
            print(f"  {result.student}/{result.assignment}: {message}", file=sys.stderr)
    return EXIT_TROUBLE if summary.troubled else EXIT_OK


def cmd_feedback(args) -> int:
    from grader.pipeline.intake.exchange import ExchangeFailed, release_feedback
    from grader.pipeline.intake.files import shown
    from grader.pipeline.outputs.export import shown_name
    from grader.pipeline.outputs.feedback import write_feedback

    course = _course(args)
    pages = write_feedback(course, args.student, args.assignment)
    for path in pages:
        print(f"wrote {shown(str(path))}")
    if args.no_exchange:
        return EXIT_OK
    try:
        released = release_feedback(course, pages)
    except ExchangeFailed as error:
        print(f"grader: {error}", file=sys.stderr)
        return EXIT_TROUBLE
    for student, assignment in released:
        print(f"released the feedback of {shown_name(student)} on {assignment} to the exchange")
    return EXIT_OK


def cmd_export(args) -> int:
    from grader.pipeline.outputs.export import export_grades

    course = _course(args)
    out = Path(args.out) if args.out else course.root / "reports" / "grades.csv"
    print(f"wrote {export_grades(course, out)}")
    return EXIT_OK


def cmd_report(args) -> int:
    from grader.pipeline.outputs.mistakes import class_mistakes, trusted_results
    from grader.pipeline.outputs.mistakes_tables import print_mistakes
    from grader.pipeline.outputs.report import print_grade_table, write_class_report

    course = _course(args)
    out = Path(args.out) if args.out else course.root / "reports"
    paths = write_class_report(course, out)
    print_grade_table(course, sys.stdout)
    print("")
    print_mistakes(class_mistakes(trusted_results(course)), sys.stdout)
    print("")
    for name, path in paths.items():
        print(f"{name}: {path}")
    return EXIT_OK


def cmd_demo(args) -> int:
    from grader.demo.classroom import build_demo_class
    from grader.pipeline.sandbox.bubblewrap import SandboxUnavailable, check

    out = Path(args.out).resolve()
    print(f"building the demo class in {out}", file=sys.stderr)
    course = build_demo_class(out)
    common = ["--course", str(course.root)]
    grading = ["autograde", *common, "--jobs", str(args.jobs)]
    try:
        check()
    except SandboxUnavailable as error:
        print(
            f"note: {error}\nThe demo's scripted students are graded without it.", file=sys.stderr
        )
        grading.append("--no-sandbox")
    steps = [
        grading,
        ["feedback", *common],
        ["export", *common],
        ["report", *common],
    ]
    for step in steps:
        code = main(step)
        if code not in (EXIT_OK, EXIT_TROUBLE):
            return code
    print(f"\nfeedback:  {course.root / 'feedback'}/<student>/index.html")
    print(f"grades:    {course.root / 'reports' / 'grades.csv'}")
    print(f"report:    {course.root / 'reports'}")
    print(f"mistakes:  {course.root / 'reports' / 'mistakes.md'} (per task; mistakes.csv, plots)")
    print(f"lecture:   {course.root / 'reports' / 'index.html'} (one page: points, mistakes)")
    return EXIT_OK


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="grader", description=__doc__.split("\n\n")[0])
    sub = top.add_subparsers(dest="command", required=True)

    def command(name, func, help_text):
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(func=func)
        if name != "demo":
            p.add_argument(
                "--course",
                help="the nbgrader course folder (default: the working folder when it holds "
                "a course, else the repository's course/)",
            )
        return p

    no_exchange = "leave nbgrader's exchange alone"
    p = command(
        "release",
        cmd_release,
        "release every assignment (nbgrader generate_assignment), and to the exchange "
        "(nbgrader release_assignment)",
    )
    p.add_argument(
        "--student-edition",
        metavar="DIR",
        help="also copy the released notebooks to DIR (the repository keeps them in notebooks/)",
    )
    p.add_argument("--no-exchange", action="store_true", help=no_exchange)
    p = command(
        "collect",
        cmd_collect,
        "take in submissions: from nbgrader's exchange, or from an nbgrader submitted/ tree "
        "or an LMS export folder",
    )
    p.add_argument(
        "source",
        nargs="?",
        help="folder of <student>.ipynb / <student>.zip files or <student>/ folders "
        "(default: the latest submission of each student in nbgrader's exchange)",
    )
    p.add_argument(
        "--assignment",
        action="append",
        help="the assignment (one for a folder; repeatable for the exchange, default: all)",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace existing submissions (from the exchange a newer one always replaces)",
    )
    p = command("autograde", cmd_autograde, "grade submissions in parallel sandboxes")
    p.add_argument("--assignment", action="append", help="only this assignment (repeatable)")
    p.add_argument("--student", action="append", help="only this student (repeatable)")
    p.add_argument("--jobs", type=int, default=None, help="parallel workers (default: cores)")
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="grade on the Dask scheduler at ADDRESS (tcp://host:port), or 'local' for a "
        "LocalCluster of --jobs worker processes",
    )
    p.add_argument(
        "--connect-timeout",
        type=float,
        default=15.0,
        metavar="SECONDS",
        help="how long to try to reach the --scheduler (default 15)",
    )
    p.add_argument("--force", action="store_true", help="regrade submissions already graded")
    p.add_argument(
        "--no-sandbox",
        action="store_true",
        help="run student code WITHOUT the bubblewrap sandbox (as you, limits only)",
    )
    defaults = Limits()
    p.add_argument(
        "--cell-timeout",
        type=int,
        default=defaults.cell_seconds,
        help=f"seconds per cell (default {defaults.cell_seconds})",
    )
    p.add_argument(
        "--job-timeout",
        type=int,
        default=defaults.job_seconds,
        help=f"seconds per notebook run (default {defaults.job_seconds})",
    )
    p.add_argument(
        "--memory-mb",
        type=int,
        default=defaults.memory_bytes // 1024**2,
        help=f"memory per sandboxed process, MB (default {defaults.memory_bytes // 1024**2})",
    )
    p = command(
        "feedback",
        cmd_feedback,
        "write each student's HTML feedback, and release it to the exchange for the "
        "submissions that came through it (nbgrader release_feedback)",
    )
    p.add_argument("--assignment", action="append")
    p.add_argument("--student", action="append")
    p.add_argument("--no-exchange", action="store_true", help=no_exchange)
    p = command("export", cmd_export, "export grades as CSV")
    p.add_argument("--out", help="CSV path (default: <course>/reports/grades.csv)")
    p = command("report", cmd_report, "per-question statistics, a plot and the flagged list")
    p.add_argument("--out", help="folder (default: <course>/reports)")
    p = command("demo", cmd_demo, "build the example class and run the whole pipeline on it")
    p.add_argument("--out", default="build/demo", help="where to build it (default build/demo)")
    p.add_argument("--jobs", type=int, default=2)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("\ninterrupted: the gradebook is consistent; run again to resume", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (FileNotFoundError, KeyError, ValueError) as error:
        print(f"grader: {error}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
