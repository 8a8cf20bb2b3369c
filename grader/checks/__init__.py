"""The registry of graded checks: one module per assignment, each check registered by name."""

from __future__ import annotations

import importlib
import pkgutil

from grader.framework import Check

REGISTRY: dict[str, Check] = {}


def register(cls: type[Check]) -> type[Check]:
    """Class decorator: make ``cls`` available to ``grade`` and ``self_check`` by its name."""
    if not cls.name:
        raise ValueError(f"{cls.__name__} needs a name")
    if cls.name in REGISTRY:
        raise ValueError(f"two checks are named {cls.name!r}")
    REGISTRY[cls.name] = cls()
    return cls


def get_check(name: str) -> Check:
    """The check called ``name`` (every check module is imported when a name is not known
    yet: a module imported on its own registers only its own checks)."""
    if name not in REGISTRY:
        _import_all()
    try:
        return REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(REGISTRY))
        raise KeyError(f"no check named {name!r}; the checks are: {known}") from None


def all_checks() -> dict[str, Check]:
    """Every check of the course, by name."""
    _import_all()
    return dict(sorted(REGISTRY.items()))


def _import_all() -> None:
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
