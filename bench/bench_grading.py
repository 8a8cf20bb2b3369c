"""Grading throughput: the pipeline against sequential ``nbgrader autograde``.

On the demo class (``grader.pipeline.demo``): the wall time of the pipeline with ``--jobs``
parallel sandboxed workers against ``nbgrader autograde "*"`` (one process, every student
and assignment, in a copy of the course made before any grading), and whether the two give
the same grade to every grade cell of the honest submissions (readable, and neither
tampering nor calling the reference).  Then the time to grade one complete submission of the
whole course (every assignment under course/source).  Nothing is asserted: the figures are
printed as a Markdown table and written to bench/results/grading.md.

    python bench/bench_grading.py            # about 6 minutes on 2 cores
    python bench/bench_grading.py --jobs 4
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbgrader
from nbgrader.api import Gradebook

from grader.pipeline.autograde import autograde
from grader.pipeline.course import Course
from grader.pipeline.demo import DEFAULT_ASSIGNMENTS, build_demo_class
from grader.pipeline.demo_submissions import complete, demo_submissions
from grader.release import COURSE, assignments

RESULTS = Path(__file__).parent / "results"
TARGET = 1.8  # speed-up wanted from 2 workers on 2 cores


def db_url(root: Path) -> str:
    return "sqlite:///" + str(root / "gradebook.db")


def grade_cells(root: Path) -> dict[tuple[str, str], dict[str, float]]:
    """Score of every grade cell, per (student, assignment), as a gradebook holds them."""
    scores: dict[tuple[str, str], dict[str, float]] = {}
    with Gradebook(db_url(root)) as gb:
        for assignment in gb.assignments:
            for submission in assignment.submissions:
                cells = scores.setdefault((submission.student.id, assignment.name), {})
                for notebook in submission.notebooks:
                    for grade in notebook.grades:
                        cells[grade.name] = float(grade.score or 0.0)
    return scores


def copy_ungraded(course: Course, out: Path) -> Path:
    """The course with its submissions and no grade yet, for nbgrader on its own."""
    root = out / "course"
    shutil.copytree(course.root, root)
    return root


def sequential_nbgrader(root: Path) -> tuple[float, int]:
    """Wall time and exit status of ``nbgrader autograde "*"`` in ``root``."""
    start = time.perf_counter()
    with open(root / "autograde.log", "wb") as log:
        status = subprocess.run(
            [sys.executable, "-m", "nbgrader", "autograde", "*"],
            cwd=root,
            stdout=log,
            stderr=subprocess.STDOUT,
            check=False,
        ).returncode
    return time.perf_counter() - start, status


def timed_autograde(course: Course, jobs: int, force: bool = False) -> tuple[float, list[dict]]:
    start = time.perf_counter()
    summary = autograde(course, jobs=jobs, force=force)
    return time.perf_counter() - start, summary.graded


def import_seconds(module: str) -> float:
    """Wall time of a fresh interpreter importing ``module``: what every sandboxed job
    pays before it grades anything."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", f"import {module}"], check=True)
    return time.perf_counter() - start


def compare_class(tmp: Path, jobs: int) -> dict:
    specs = {(s.student, s.assignment): s for s in demo_submissions(DEFAULT_ASSIGNMENTS)}
    course = build_demo_class(tmp / "demo", DEFAULT_ASSIGNMENTS, specs.values())
    plain_root = copy_ungraded(course, tmp / "plain")
    pipeline_seconds, results = timed_autograde(course, jobs)
    nbgrader_seconds, status = sequential_nbgrader(plain_root)
    one_worker_seconds, _ = timed_autograde(course, 1, force=True)
    ours, theirs = grade_cells(course.root), grade_cells(plain_root)
    rows = []
    for result in sorted(results, key=lambda r: (r["student"], r["assignment"])):
        key = (result["student"], result["assignment"])
        spec = specs[key]
        honest = spec.honest and spec.file == "notebook"
        rows.append(
            {
                "submission": "/".join(key),
                "honest": honest,
                "pipeline": sum(ours.get(key, {}).values()),
                "nbgrader": sum(theirs[key].values()) if key in theirs else None,
                "identical": key in theirs and ours.get(key) == theirs[key],
                "seconds": result["seconds"],
            }
        )
    return {
        "pipeline": pipeline_seconds,
        "one_worker": one_worker_seconds,
        "nbgrader": nbgrader_seconds,
        "import": import_seconds("nbgrader.apps"),
        "nbgrader_status": status,
        "rows": rows,
        "submissions": len(results),
    }


def whole_course(tmp: Path, jobs: int) -> dict:
    every = tuple(assignments(COURSE))
    course = build_demo_class(tmp / "whole", every, [complete(a) for a in every])
    seconds, results = timed_autograde(course, jobs)
    rows = [
        {
            "assignment": r["assignment"],
            "auto": r["auto_points"],
            "max_auto": sum(i["max_points"] for i in r["items"] if i["check"]),
            "seconds": r["seconds"],
            "troubles": len(r["problems"]) + len(r["flags"]),
        }
        for r in sorted(results, key=lambda r: r["assignment"])
    ]
    return {"seconds": seconds, "rows": rows}


def markdown(jobs: int, versus: dict, whole: dict, load: str) -> str:
    ratio = versus["nbgrader"] / versus["pipeline"]
    honest = [r for r in versus["rows"] if r["honest"]]
    same = sum(r["identical"] for r in honest)
    lines = [
        "# Grading throughput",
        "",
        f"Measured on {os.cpu_count()} CPU(s), load average at the start {load}, Python "
        f"{platform.python_version()}, nbgrader {nbgrader.__version__}; one run, wall times.",
        "",
        "| measure | value |",
        "|---|---|",
        f"| demo class | {versus['submissions']} submissions of {len(DEFAULT_ASSIGNMENTS)} "
        "assignments |",
        f"| pipeline, {jobs} sandboxed workers | {versus['pipeline']:.1f} s |",
        f'| sequential `nbgrader autograde "*"` (exit status {versus["nbgrader_status"]}) '
        f"| {versus['nbgrader']:.1f} s |",
        f"| speed-up over nbgrader alone (target >= {TARGET}) | {ratio:.2f}x |",
        f"| pipeline, 1 sandboxed worker | {versus['one_worker']:.1f} s |",
        f"| parallel scaling of the pipeline, 1 -> {jobs} workers | "
        f"{versus['one_worker'] / versus['pipeline']:.2f}x |",
        f"| a fresh interpreter importing nbgrader (paid by every job) | "
        f"{versus['import']:.1f} s |",
        f"| grades identical, honest submissions | {'yes' if same == len(honest) else 'NO'} "
        f"({same} of {len(honest)}) |",
        f"| one complete submission of the whole course ({len(whole['rows'])} assignments, "
        f"{jobs} workers) | {whole['seconds']:.1f} s |",
        "",
        "## Per submission (demo class)",
        "",
        "| submission | honest, readable | pipeline | nbgrader alone | same grades | job seconds |",
        "|---|---|---|---|---|---|",
    ]
    for r in versus["rows"]:
        theirs = "failed" if r["nbgrader"] is None else f"{r['nbgrader']:g}"
        lines.append(
            f"| {r['submission']} | {'yes' if r['honest'] else 'no'} | {r['pipeline']:g} | "
            f"{theirs} | {'yes' if r['identical'] else 'no'} | {r['seconds']:.1f} |"
        )
    lines += [
        "",
        "Submissions that are not honest may differ, on purpose: nbgrader alone believes what "
        "a tampering kernel claims and has no rule against calling the reference.  Job "
        "seconds are those of the pipeline's sandboxed job (a fresh interpreter importing "
        "nbgrader, a kernel, the notebook).",
        "",
        "## One complete submission of the whole course",
        "",
        "| assignment | automatic points | job seconds | problems + flags |",
        "|---|---|---|---|",
    ]
    for r in whole["rows"]:
        lines.append(
            f"| {r['assignment']} | {r['auto']:g} / {r['max_auto']:g} | {r['seconds']:.1f} | "
            f"{r['troubles']} |"
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2, help="parallel workers (default 2)")
    args = parser.parse_args()
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as tmp:
        versus = compare_class(Path(tmp), args.jobs)
        whole = whole_course(Path(tmp), args.jobs)
    table = markdown(args.jobs, versus, whole, load)
    print(table)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "grading.md").write_text(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
