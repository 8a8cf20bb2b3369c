"""What a notebook shows, for a grading run: stand-ins for ``IPython.display`` and
``ipywidgets``.

Every notebook kernel has IPython and ipywidgets, and students use them inside graded
functions for what they show: ``display(Markdown(...))`` while debugging,
``clear_output(wait=True)`` or an ``IntProgress`` bar in a training loop.  A grading run
shows nothing and does not have those packages; without these stand-ins the import binds a
name that fails when used, and a function that only showed its progress loses its points.
They are found after every real module (a run that has the packages uses them): each name
such a module is asked for is a class whose objects take any arguments and attributes, or a
function that shows nothing.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import types
from collections.abc import Callable
from typing import Any

SHOWN_MODULES = (
    *("IPython", "IPython.display", "IPython.core", "IPython.core.display"),
    *("ipywidgets", "ipywidgets.widgets"),
)


class Shown:
    """Something a notebook would show (a ``Markdown`` text, a widget): it keeps what it is
    given and shows nothing; an attribute it was never given is a ``Shown`` too, so that
    ``bar.layout.width = "50%"`` and ``button.on_click(f)`` do nothing, as unseen."""

    value: Any = 0
    description = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args = args
        self.__dict__.update(kwargs)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return Shown()

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        return None

    def __enter__(self) -> Shown:  # ``with Output():``
        return self

    def __exit__(self, *exc: object) -> bool:
        return False

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: shown in a notebook only>"


def show_nothing(*args: Any, **kwargs: Any) -> Shown | None:
    """``display``, ``clear_output``, ``update_display``: a grading run shows nothing.  A
    call with a ``display_id`` gives a handle (``h.update(...)``), as IPython's does."""
    return Shown() if kwargs.get("display_id") else None


def interact(function: Callable | None = None, *args: Any, **kwargs: Any) -> Any:
    """``ipywidgets.interact`` (also as a decorator): the function itself, no controls."""
    if callable(function):
        return function
    return lambda decorated: decorated


def fixed(value: Any) -> Any:
    """``ipywidgets.fixed``: the value itself."""
    return value


FUNCTIONS = {"interact": interact, "interactive": interact, "interact_manual": interact}
FUNCTIONS["fixed"] = fixed


def _attribute(module: str) -> Callable[[str], Any]:
    """A module's ``__getattr__``: a ``Shown`` class for a capitalised name, else a function
    that shows nothing (``display``, ``clear_output``, ``get_ipython`` giving None)."""

    def __getattr__(name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        if f"{module}.{name}" in SHOWN_MODULES:  # ``IPython.display`` before its import
            return importlib.import_module(f"{module}.{name}")
        if name in FUNCTIONS:
            return FUNCTIONS[name]
        if name[:1].isupper():
            return type(name, (Shown,), {"__module__": module})
        return show_nothing

    return __getattr__


class ShownModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds the modules of ``SHOWN_MODULES`` when nothing before it on ``sys.meta_path``
    did: add it last."""

    def find_spec(self, name, path=None, target=None):  # noqa: ANN001 - the finder protocol
        if name not in SHOWN_MODULES:
            return None
        package = any(other.startswith(name + ".") for other in SHOWN_MODULES)
        return importlib.util.spec_from_loader(name, self, is_package=package)

    def create_module(self, spec):  # noqa: ANN001
        return types.ModuleType(spec.name)

    def exec_module(self, module) -> None:  # noqa: ANN001
        module.__getattr__ = _attribute(module.__name__)


def install() -> None:
    """Put the stand-ins after every real module (once)."""
    if not any(isinstance(finder, ShownModules) for finder in sys.meta_path):
        sys.meta_path.append(ShownModules())
