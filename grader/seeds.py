"""The seeds of the checks' cases.

Visible cases (the student's self-check) come from a public seed.  Hidden cases come from a
secret: the course's own (``grader.pipeline.judging.secret``) when the pipeline grades,
``GRADER_SALT`` or nothing when an instructor runs a master on their own machine.  Without
the secret the hidden cases cannot be told from the published code.  The pipeline draws them
for each submission apart (the student, the assignment and the submitted file): a regrade of
a submission meets the same cases, but no other submission does, so whatever one submission
could learn of its cases, through its feedback or otherwise, serves no other -- not a
classmate, and not the same student's next submission.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from grader.checks import get_check
from grader.framework import Case, Check

SALT_VARIABLE = "GRADER_SALT"


def seed(purpose: str, name: str, secret: str = "") -> int:
    """A 64-bit seed for the cases of check ``name`` (``purpose``: visible or hidden),
    defined for every text a file name gives: one that is not UTF-8 (a student's folder,
    in ``secret``) keeps its bytes, which Python holds as surrogate escapes; UTF-8 text is
    encoded as always."""
    key = f"{purpose}:{secret}:{name}".encode("utf-8", "surrogateescape")
    digest = hashlib.sha256(key).digest()
    return int.from_bytes(digest[:8], "little")


def visible_cases(check: Check | str) -> list[Case]:
    """The cases of the student's self-check."""
    check = get_check(check) if isinstance(check, str) else check
    return check.visible_cases(np.random.default_rng(seed("visible", check.name)))


def hidden_cases(
    check: Check | str,
    secret: str,
    assignment: str = "",
    student: str = "",
    submission: str = "",
) -> list[Case]:
    """The hidden cases of ``check`` under ``secret``, for ``student``'s submission of
    ``assignment`` whose file has the fingerprint ``submission`` (all empty: an instructor's
    run of a master)."""
    check = get_check(check) if isinstance(check, str) else check
    parts = (assignment, student, submission)
    key = ":".join((secret, *parts)) if any(parts) else secret
    return check.cases(np.random.default_rng(seed("hidden", check.name, key)))


def local_secret() -> str:
    """The secret of a master run outside the pipeline: ``GRADER_SALT``, or none."""
    return os.environ.get(SALT_VARIABLE, "")


def local_submission(folder: Path | None = None) -> tuple[str, str, str]:
    """The submission a kernel is grading under nbgrader's own ``autograde`` (the course's
    ``nbgrader_alone`` route), as the pipeline keys its hidden cases: the assignment, the
    student and the fingerprint of ``submitted/<student>/<assignment>/<notebook>``, read off
    nbgrader's layout (the kernel runs in ``autograded/<student>/<assignment>``, ``folder``).
    Anywhere else, or when the submitted notebook cannot be told (none, or several), all
    three are empty: the course-wide cases of an instructor's run."""
    if os.environ.get("NBGRADER_EXECUTION") != "autograde":
        return "", "", ""
    folder = Path.cwd() if folder is None else folder
    if len(folder.parts) < 4 or folder.parent.parent.name != "autograded":
        return "", "", ""
    assignment, student = folder.name, folder.parent.name
    submitted = folder.parents[2] / "submitted" / student / assignment
    try:
        notebooks = [p for p in submitted.glob("*.ipynb") if p.is_file()]
        if len(notebooks) != 1:
            return "", "", ""
        data = notebooks[0].read_bytes()
    except OSError:
        return "", "", ""
    return assignment, student, hashlib.sha256(data).hexdigest()
