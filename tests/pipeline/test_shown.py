"""The stand-ins of a grading run for what a notebook shows (``grader.sandboxed.shown``):
``IPython.display`` and ``ipywidgets`` as students use them inside graded functions."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

from grader.sandboxed import shown

ROOT = str(Path(__file__).resolve().parents[2])


def load(name: str):
    """The stand-in module ``name``, made without touching ``sys.modules``."""
    spec = shown.ShownModules().find_spec(name)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_display_shows_nothing_and_takes_what_a_notebook_gives_it():
    display = load("IPython.display")
    text = display.Markdown(data="**loss** 0.1")
    assert display.display(text) is None
    assert display.clear_output(wait=True) is None
    display.update_display(display.HTML("<b>x</b>"), display_id="a")
    assert text.data == "**loss** 0.1" and "shown in a notebook only" in repr(text)
    handle = display.display(text, display_id=True)
    assert handle.update(display.Markdown("**loss** 0.05")) is None


def test_widgets_keep_their_values_and_do_nothing_else():
    widgets = load("ipywidgets.widgets")  # as ``from ipywidgets import widgets`` gives it
    bar = widgets.IntProgress(min=0, max=10, description="training")
    for _ in range(3):
        bar.value += 1
    bar.layout.width = "50%"
    bar.observe(print, names="value")
    with widgets.Output():
        pass
    assert (bar.value, bar.max, bar.description) == (3, 10, "training")

    @widgets.interact(x=(0, 10))
    def plot(x=1):
        return x * 2

    assert plot(3) == 6 and widgets.interact(plot) is plot and widgets.fixed(4) == 4


def test_found_only_where_nothing_else_provides_them():
    """In an interpreter without IPython and ipywidgets (no site-packages), installed
    twice: one finder, the last; ``import IPython`` then ``IPython.display`` works, and
    nothing else is found by it."""
    finder = shown.ShownModules()
    assert finder.find_spec("json") is None and finder.find_spec("IPython.core.magic") is None
    probe = (
        "import sys\n"
        "from grader.sandboxed import shown\n"
        "shown.install()\n"
        "shown.install()\n"
        "import IPython\n"
        "IPython.display.clear_output(wait=True)\n"
        "from IPython.display import Markdown\n"
        "from ipywidgets import IntProgress, widgets\n"
        "widgets.IntSlider(value=2).value += 1\n"
        "print(sum(isinstance(f, shown.ShownModules) for f in sys.meta_path),"
        " type(sys.meta_path[-1]).__name__, IPython.display.__name__, Markdown.__module__,"
        " IntProgress(max=3).max, IPython.get_ipython())\n"
    )
    command = [
        sys.executable,
        "-I",
        "-S",
        "-c",
        f"import sys; sys.path.insert(0, {ROOT!r})\n{probe}",
    ]
    done = subprocess.run(command, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [
        "1",
        "ShownModules",
        "IPython.display",
        "IPython.display",
        "3",
        "None",
    ]
