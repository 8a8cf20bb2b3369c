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
    return Course(Path(args.course))


def cmd_release(args) -> int:
    from grader.release import build_student_edition, generate_release

    if args.student_edition:
        for path in build_student_edition(Path(args.course), Path(args.student_edition)):
            print(f"wrote {path}")
    else:
        for path in generate_release(Path(args.course)):
            print(f"released {path}")
    return EXIT_OK


def cmd_collect(args) -> int:
    from grader.pipeline.intake.lms import take_in

    course = _course(args)
    intake = take_in(
        course, Path(args.source), course.assignment(args.assignment), overwrite=args.overwrite
    )
    for student, path in intake.taken:
        print(f"took in {student}: {path.relative_to(course.root)}")
    for reason in intake.skipped:
        print(f"skipped {reason}", file=sys.stderr)
    return EXIT_TROUBLE if intake.skipped else EXIT_OK


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
    from grader.pipeline.outputs.feedback import write_feedback

    for path in write_feedback(_course(args), args.student, args.assignment):
        print(f"wrote {path}")
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
                default=str(ROOT / "course"),
                help="the nbgrader course folder (default: the repository's course/)",
            )
        return p

    p = command("release", cmd_release, "release every assignment (nbgrader generate_assignment)")
    p.add_argument(
        "--student-edition",
        metavar="DIR",
        help="also copy the released notebooks to DIR (the repository keeps them in notebooks/)",
    )
    p = command(
        "collect",
        cmd_collect,
        "take in submissions: an nbgrader submitted/ tree or an LMS export folder",
    )
    p.add_argument(
        "source", help="folder of <student>.ipynb / <student>.zip files or <student>/ folders"
    )
    p.add_argument("--assignment", required=True)
    p.add_argument("--overwrite", action="store_true", help="replace existing submissions")
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
    p = command("feedback", cmd_feedback, "write each student's HTML feedback")
    p.add_argument("--assignment", action="append")
    p.add_argument("--student", action="append")
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
