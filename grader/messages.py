"""Messages a student can act on, from a verdict."""

from __future__ import annotations

from grader.judge import Verdict

PASS, FAIL = "[pass]", "[FAIL]"


def verdict_text(verdict: Verdict, visible: bool = False) -> str:
    """The verdict as plain text: a summary line, then each case with what is wrong
    (expected against received for the first failing case), then the likely cause.

    A cause that explains every failing case is said once, after the cases; a hint that
    belongs to one case (an error raised in that case) is said under it."""
    kind = "self-check" if visible else "graded"
    n = len(verdict.results)
    head = f"{verdict.title} {verdict.equation}".strip()
    if visible:
        lines = [f"{head} -- {kind}: {verdict.passed} of {n} cases pass"]
    else:
        lines = [
            f"{head} -- {kind}: {verdict.points:g} / {verdict.max_points:g} points "
            f"({verdict.passed} of {n} cases pass)"
        ]
    counts: dict[str, int] = {}
    for result in verdict.results:
        if result.diagnosis:
            counts[result.diagnosis] = counts.get(result.diagnosis, 0) + 1
    shared = [d for d, count in counts.items() if count > 1]
    shown_details = False
    for i, result in enumerate(verdict.results, 1):
        lines.append(f"  {PASS if result.passed else FAIL} case {i}: {result.case}")
        if result.problem:
            lines.append(f"      {result.problem}")
        if result.details and not shown_details:
            lines.extend(f"      {line}" for line in result.details)
            shown_details = True
        if result.diagnosis and result.diagnosis not in shared:
            lines.append(f"      likely cause: {result.diagnosis}")
        if result.warnings:
            lines.append(f"      note (not penalised): {'; '.join(result.warnings)}")
    for diagnosis in shared:
        lines.append(f"  likely cause, in every failing case: {diagnosis}")
    return "\n".join(lines)
