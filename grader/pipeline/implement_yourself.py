"""Does a task that says "implement this yourself" call the reference instead?

The student's code is read, never run, here: the definitions reachable from the graded
function (other functions and classes of the notebook that it uses) are searched for
references to the forbidden ``autodiff`` functions, through any import alias
(``import autodiff as ad; ad.grad``, ``from autodiff import grad as g``).  Code that hides a
call behind ``getattr`` or ``exec`` escapes a reading; this catches the ordinary shortcut.
"""

from __future__ import annotations

import ast

import nbformat


def _parse(cell_source: str) -> ast.Module | None:
    lines = [line for line in cell_source.splitlines() if not line.lstrip().startswith(("%", "!"))]
    try:
        return ast.parse("\n".join(lines))
    except SyntaxError:
        return None


def _aliases(trees: list[ast.Module]) -> dict[str, str]:
    """Local name -> dotted name of what it refers to, for every import in the notebook."""
    names = {}
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    names[alias.asname or alias.name.split(".")[0]] = (
                        alias.name if alias.asname else alias.name.split(".")[0]
                    )
            elif isinstance(node, ast.ImportFrom) and node.module:
                for alias in node.names:
                    names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return names


def _dotted(node: ast.AST, aliases: dict[str, str]) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        base = aliases.get(node.id, node.id)
        return ".".join([base, *reversed(parts)])
    return None


def forbidden_uses(
    notebook: nbformat.NotebookNode, function: str, forbidden: tuple[str, ...]
) -> list[str]:
    """The forbidden dotted names used by ``function`` or by the notebook's own functions
    and classes it reaches."""
    if not forbidden:
        return []
    trees = [t for c in notebook.cells if c.cell_type == "code" if (t := _parse(c.source))]
    aliases = _aliases(trees)
    definitions = {}
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                definitions[node.name] = node
    found, todo, visited = set(), [function], set()
    while todo:
        name = todo.pop()
        if name in visited or name not in definitions:
            continue
        visited.add(name)
        for node in ast.walk(definitions[name]):
            if isinstance(node, (ast.Name, ast.Attribute)):
                dotted = _dotted(node, aliases)
                if dotted in forbidden:
                    found.add(dotted)
                if isinstance(node, ast.Name) and node.id in definitions:
                    todo.append(node.id)
    return sorted(found)
