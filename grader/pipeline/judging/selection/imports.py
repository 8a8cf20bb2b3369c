"""Imports and their stand-ins: an import of several names becomes one statement per
name, each with the ``fallback`` the grading run binds when the name cannot be imported,
and the names the tasks forbid (which the stand-ins' messages explain)."""

from __future__ import annotations

import ast

from grader.checks.forbidden import forbidden
from grader.pipeline.course import GradedItem
from grader.pipeline.judging.selection.common import _Raw


def _forbidden(items: list[GradedItem]) -> list[str]:
    names: set[str] = set()
    for item in items:
        try:
            names.update(forbidden(item.check))
        except KeyError:
            pass
    return sorted(names)


def _split_imports(node: ast.stmt, text: str, label: str) -> list[_Raw]:
    """One statement per imported name, each with the stand-in to bind if it fails."""
    if isinstance(node, ast.Import):
        found = []
        for alias in node.names:
            single = ast.Import([alias])
            bound = alias.asname or alias.name.split(".")[0]
            path = alias.name if alias.asname else bound
            fallback = [[bound, path, alias.name]]
            code = text if len(node.names) == 1 else ast.unparse(single)
            step = {"code": code, "fallback": fallback}
            found.append(_Raw(label, single, code, step=step))
        return found
    if isinstance(node, ast.ImportFrom) and node.module != "__future__" and not node.level:
        found = []
        for alias in node.names:
            single = ast.ImportFrom(node.module, [alias], 0)
            code = text if len(node.names) == 1 else ast.unparse(single)
            if alias.name == "*":
                step = {"code": code, "fallback": []}
            else:
                path = f"{node.module}.{alias.name}"
                step = {"code": code, "fallback": [[alias.asname or alias.name, path, path]]}
            found.append(_Raw(label, single, code, step=step))
        return found
    return [_Raw(label, node, text)]
