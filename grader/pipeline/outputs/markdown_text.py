"""Text written into the reports' Markdown as it reads, never as markup."""

from __future__ import annotations

import html
import re


def literal(text: str) -> str:
    """``text`` as literal Markdown on one line: HTML escaped, Markdown's special characters
    quoted."""
    escaped = html.escape(" ".join(str(text).split()), quote=False)
    return re.sub(r"([\\`*_\[\]#|])", r"\\\1", escaped)
