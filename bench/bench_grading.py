"""Grading throughput: the pipeline against sequential ``nbgrader autograde``, and the
local pool against Dask as the class grows.

On the demo class (``grader.demo``): the wall time of the pipeline with ``--jobs`` parallel
sandboxed workers against ``nbgrader autograde "*"`` (one process, every student and
assignment, in a copy of the course made before any grading, its hidden tests drawing each
submission's own cases from the same secret), and whether the two give the same grade to
every grade cell of the honest submissions (readable, and neither tampering nor calling the
reference).  Then the time to
grade one complete submission of the whole course (every assignment under course/source).
Then a synthetic class of N submissions (the demo's scripted students replicated, N = 12,
48, 192) graded by the local pool and by Dask (``--scheduler local``: a LocalCluster of
``--jobs`` worker processes) on the same cores: seconds per submission, Dask's overhead per
submission, and the growth exponent of the total time in N.  Every grading is a fresh
``grader autograde`` process, as an instructor runs it.  Nothing is asserted: the figures are
printed as a Markdown table and written to bench/results/grading.md.

    python bench/bench_grading.py            # about 15 minutes on 2 cores
    python bench/bench_grading.py --jobs 4 --sizes 12 48
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import nbgrader
from nbclient import NotebookClient
from nbgrader.api import Gradebook

from grader.demo.classroom import DEFAULT_ASSIGNMENTS, build_demo_class
from grader.demo.submissions import complete, demo_submissions
from grader.pipeline.course import Course
from grader.pipeline.judging.secret import course_secret
from grader.pipeline.nbgrader_route import nbgrader_alone
from grader.release import COURSE, assignments
from grader.sandboxed.fork_server import course_imports
from grader.sandboxed.forked_kernels import ForkingKernelManager, ForkServerClient, use_fork_server

RESULTS = Path(__file__).parent / "results"
TARGET = 2.0  # speed-up wanted from 2 workers on 2 cores


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
    nbgrader_alone(root)  # the course's config sends nbgrader's autograde to the pipeline
    return root


def sequential_nbgrader(root: Path, secret: str) -> tuple[float, int]:
    """Wall time and exit status of ``nbgrader autograde "*"`` in ``root``, its hidden tests
    judging, on the course's secret, each submission's own cases (drawn as the pipeline
    draws them: ``grader.seeds.local_submission``)."""
    start = time.perf_counter()
    with open(root / "autograde.log", "wb") as log:
        status = subprocess.run(
            [sys.executable, "-m", "nbgrader", "autograde", "*"],
            cwd=root,
            stdout=log,
            stderr=subprocess.STDOUT,
            check=False,
            env={**os.environ, "GRADER_SALT": secret},
        ).returncode
    return time.perf_counter() - start, status


def timed_autograde(
    course: Course, jobs: int, force: bool = False, scheduler: str = ""
) -> tuple[float, list[dict]]:
    """Wall time of ``grader autograde`` (a fresh process, as an instructor runs it, like
    nbgrader above) and the results it wrote."""
    command = [sys.executable, "-m", "grader.cli", "autograde", "--course", str(course.root)]
    command += ["--jobs", str(jobs)] + (["--force"] if force else [])
    command += ["--scheduler", scheduler] if scheduler else []
    start = time.perf_counter()
    run = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if run.returncode not in (0, 3):  # 3: some submissions were flagged or had problems
        raise RuntimeError(f"grader autograde failed ({run.returncode}):\n{run.stderr}")
    results = [json.loads(p.read_text()) for p in course.root.glob("grading/*/*/result.json")]
    return seconds, results


def kernel_seconds(forked: bool, preload: list[str], rounds: int = 3) -> float:
    """Median wall time to start a kernel, run one cell importing ``preload`` and shut the
    kernel down: started as a new interpreter, or forked from a fork server that has imported
    them already (the server's own start is not counted: each worker pays it once)."""
    cell = nbformat.v4.new_code_cell("\n".join(f"import {m}" for m in preload))
    server = ForkServerClient(preload) if forked else None
    use_fork_server(server)
    try:
        if server is not None:
            server.running()
        times = []
        for _ in range(rounds):
            notebook = nbformat.v4.new_notebook(cells=[cell])
            start = time.perf_counter()
            NotebookClient(
                notebook, kernel_name="python3", kernel_manager_class=ForkingKernelManager
            ).execute()
            times.append(time.perf_counter() - start)
        return statistics.median(times)
    finally:
        use_fork_server(None)
        if server is not None:
            server.stop()


def compare_class(tmp: Path, jobs: int) -> dict:
    specs = {(s.student, s.assignment): s for s in demo_submissions(DEFAULT_ASSIGNMENTS)}
    course = build_demo_class(tmp / "demo", DEFAULT_ASSIGNMENTS, specs.values())
    plain_root = copy_ungraded(course, tmp / "plain")
    pipeline_seconds, results = timed_autograde(course, jobs)
    nbgrader_seconds, status = sequential_nbgrader(plain_root, course_secret(course.root))
    one_worker_seconds, _ = timed_autograde(course, 1, force=True)
    preload = course_imports([a.master_path for a in course.assignments.values()])
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
                "grading_runs": result["grading_run_seconds"],
            }
        )
    return {
        "pipeline": pipeline_seconds,
        "one_worker": one_worker_seconds,
        "nbgrader": nbgrader_seconds,
        "kernel": kernel_seconds(False, preload),
        "forked_kernel": kernel_seconds(True, preload),
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


def synthetic_class(out: Path, size: int) -> Course:
    """The demo's scripted students, replicated until there are ``size`` submissions."""
    scripted = demo_submissions(DEFAULT_ASSIGNMENTS)
    specs = [
        dataclasses.replace(spec, student=f"{spec.student}-{i // len(scripted):03d}")
        for i, spec in enumerate(scripted * (size // len(scripted) + 1))
    ][:size]
    return build_demo_class(out, DEFAULT_ASSIGNMENTS, specs)


def scale_out(tmp: Path, jobs: int, sizes: list[int]) -> list[dict]:
    """Local pool and Dask on the same class, for each size."""
    rows = []
    for size in sizes:
        course = synthetic_class(tmp / f"class-{size}", size)
        dask_root = tmp / f"dask-{size}"
        shutil.copytree(course.root.parent, dask_root)  # the same class, the same secret
        local, _ = timed_autograde(course, jobs)
        dask, results = timed_autograde(Course(dask_root / "course"), jobs, scheduler="local")
        rows.append(
            {
                "size": size,
                "local": local,
                "dask": dask,
                "workers": len({r["worker"] for r in results if r["worker"]}),
            }
        )
    return rows


def growth(rows: list[dict], key: str) -> float:
    """The least-squares slope of log(total time) against log(N)."""
    x = [math.log(r["size"]) for r in rows]
    y = [math.log(r[key]) for r in rows]
    mx, my = statistics.fmean(x), statistics.fmean(y)
    return sum((a - mx) * (b - my) for a, b in zip(x, y)) / sum((a - mx) ** 2 for a in x)


def scale_markdown(jobs: int, rows: list[dict]) -> list[str]:
    largest = rows[-1]
    per_worker = largest["size"] / (largest["local"] * jobs)  # submissions / s / worker
    needed = math.ceil(10_000 / (600 * per_worker))
    lines = [
        "",
        f"## Scaling out: local pool against Dask ({jobs} workers each, the same cores)",
        "",
        "| N submissions | local pool (s) | s / submission | Dask LocalCluster (s) | "
        "s / submission | Dask's overhead / submission |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        overhead = (r["dask"] - r["local"]) / r["size"]
        lines.append(
            f"| {r['size']} | {r['local']:.1f} | {r['local'] / r['size']:.2f} | "
            f"{r['dask']:.1f} | {r['dask'] / r['size']:.2f} | {overhead:+.2f} s |"
        )
    if len(rows) > 1:
        lines += [
            "",
            f"Growth of the total time in N (least-squares exponent over N = "
            f"{', '.join(str(r['size']) for r in rows)}): local pool "
            f"{growth(rows, 'local'):.2f}, Dask {growth(rows, 'dask'):.2f} (1 is linear).",
        ]
    lines += [
        "",
        f"At N = {largest['size']} one worker grades {per_worker:.2f} submissions per second "
        f"(this class: two assignments of the course, a fifth of the submissions broken or "
        f"blank). Grading 10,000 such submissions in 10 minutes takes about {needed} worker "
        f"processes, one core each: for example {math.ceil(needed / 8)} machines of 8 cores "
        f"running `dask worker --nworkers 8 --nthreads 1`.",
    ]
    return lines


def markdown(jobs: int, versus: dict, whole: dict, load: str) -> str:
    ratio = versus["nbgrader"] / versus["pipeline"]
    runs = sum(r["grading_runs"] for r in versus["rows"])
    sandboxed = sum(r["seconds"] for r in versus["rows"]) or 1.0
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
        f"| a kernel started as a new interpreter, to its first cell's result (imports "
        f"of the course included) | {versus['kernel']:.2f} s |",
        f"| the same kernel forked from the worker's fork server | "
        f"{versus['forked_kernel']:.2f} s |",
        f"| grading runs (the second pass: the functions, in sandboxes without what their "
        f"tasks forbid), share of the sandboxed time | {runs:.1f} s of {sandboxed:.1f} s "
        f"({100 * runs / sandboxed:.0f}%) |",
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
        "seconds are those of the pipeline's sandboxed stage for the submission: the notebook "
        "run (laying out the private course, nbgrader autograde with a forked kernel, reading "
        "back) and the grading runs (one fresh sandbox per set of tasks that forbid the same "
        "things); the first job of each worker also waits for the worker's start.",
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
    parser.add_argument(
        "--sizes", type=int, nargs="*", default=[12, 48, 192], help="class sizes to scale out"
    )
    args = parser.parse_args()
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as tmp:
        versus = compare_class(Path(tmp), args.jobs)
        whole = whole_course(Path(tmp), args.jobs)
        scaled = scale_out(Path(tmp), args.jobs, args.sizes) if args.sizes else []
    table = markdown(args.jobs, versus, whole, load)
    if scaled:
        table += "\n".join(scale_markdown(args.jobs, scaled)) + "\n"
    print(table)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "grading.md").write_text(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
