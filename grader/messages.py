"""Messages a student can act on, from a verdict."""

from __future__ import annotations

from grader.judge import Verdict

PASS, FAIL = "[pass]", "[FAIL]"


def verdict_text(verdict: Verdict, visible: bool = False) -> str:
    """The verdict as plain text: a summary line, then each case with what is wrong and the
    diagnosis of a wrong answer (expected vs received for the first failing case)."""
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
    shown_details = False
    for i, result in enumerate(verdict.results, 1):
        lines.append(f"  {PASS if result.passed else FAIL} case {i}: {result.case}")
        if result.problem:
            lines.append(f"      {result.problem}")
        if result.details and not shown_details:
            lines.extend(f"      {line}" for line in result.details)
            shown_details = True
        if result.diagnosis:
            lines.append(f"      likely cause: {result.diagnosis}")
        if result.warnings:
            lines.append(f"      note (not penalised): {'; '.join(result.warnings)}")
    return "\n".join(lines)
