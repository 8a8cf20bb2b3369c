"""The course's secret, from which the hidden cases are drawn.

Created on first use as ``<course>/.grader/secret`` (random, readable by its owner only);
the environment variable ``GRADER_SALT`` overrides it.  No sandbox mounts the course, so no
student code can read it, and the hidden cases cannot be computed from the published code.
Keep it with the course (and out of a public repository): a new secret gives new hidden
cases, so results graded before and after a change differ only in their cases.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from grader.seeds import SALT_VARIABLE

SECRET_FILE = Path(".grader") / "secret"


def course_secret(root: Path) -> str:
    """The secret of the course in ``root`` (made now if it has none)."""
    override = os.environ.get(SALT_VARIABLE)
    if override:
        return override
    path = Path(root) / SECRET_FILE
    if not path.exists():
        path.parent.mkdir(mode=0o700, exist_ok=True)
        partial = path.with_suffix(".partial")
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as stream:
            stream.write(secrets.token_hex(32) + "\n")
        try:
            os.link(partial, path)  # the first of two concurrent runs wins
        except FileExistsError:
            pass
        partial.unlink(missing_ok=True)
    text = path.read_text().strip()
    if not text:
        raise ValueError(f"{path} is empty: delete it to make a new secret")
    return text
