"""Nested tuples, lists and dicts of arrays ("pytrees"), flattened to a list of leaves.

Transforms accept and return such containers (a network's parameters as a tuple, say):
they differentiate the leaves and rebuild the same structure around the results.
"""

from __future__ import annotations

from typing import Any

import numpy as np

TreeDef = Any  # None for a leaf; (type, keys, children) for a container

_ARRAY = np.ndarray


def flatten(tree: Any) -> tuple[list[Any], TreeDef]:
    """The leaves of ``tree`` in a fixed order (dict keys sorted) and its structure."""
    leaves: list[Any] = []
    return leaves, _flatten(tree, leaves)


def _flatten(tree: Any, leaves: list[Any]) -> TreeDef:
    if type(tree) is _ARRAY:  # the common leaf, without the container checks
        leaves.append(tree)
        return None
    if isinstance(tree, (tuple, list)):
        children = []
        for child in tree:
            if type(child) is _ARRAY:
                leaves.append(child)
                children.append(None)
            else:
                children.append(_flatten(child, leaves))
        return (type(tree), None, tuple(children))
    if isinstance(tree, dict):
        keys = sorted(tree)
        return (dict, tuple(keys), tuple([_flatten(tree[k], leaves) for k in keys]))
    leaves.append(tree)
    return None


def unflatten(treedef: TreeDef, leaves: list[Any]) -> Any:
    """Rebuild the structure ``treedef`` with ``leaves`` (the inverse of ``flatten``)."""
    if treedef is None:
        return leaves[0]
    return _unflatten(treedef, iter(leaves))


def _unflatten(treedef: TreeDef, it) -> Any:
    kind, keys, children = treedef
    items = [next(it) if child is None else _unflatten(child, it) for child in children]
    if kind is dict:
        return dict(zip(keys, items))
    return kind(items)


def describe(treedef: TreeDef) -> str:
    """A short readable form of a structure, for error messages."""
    if treedef is None:
        return "*"
    kind, keys, children = treedef
    inner = [describe(c) for c in children]
    if kind is dict:
        return "{" + ", ".join(f"{k!r}: {v}" for k, v in zip(keys, inner)) + "}"
    brackets = "[]" if kind is list else "()"
    return brackets[0] + ", ".join(inner) + brackets[1]


def paths(treedef: TreeDef) -> list[str]:
    """How each leaf is reached from the root, in leaf order: ``''`` for a lone leaf,
    ``"['W1']"`` for a dict entry, ``"[2][0]"`` inside nested sequences."""
    out: list[str] = []
    _paths(treedef, "", out)
    return out


def _paths(treedef: TreeDef, prefix: str, out: list[str]) -> None:
    if treedef is None:
        out.append(prefix)
        return
    kind, keys, children = treedef
    labels = keys if kind is dict else range(len(children))
    for label, child in zip(labels, children):
        _paths(child, f"{prefix}[{label!r}]", out)
