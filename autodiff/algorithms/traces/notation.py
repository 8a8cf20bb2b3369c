"""How a trace's symbols are written: plain text, LaTeX and HTML.

A ``Notation`` writes the pieces of an equation of a trace table (an indexed variable
``v3``, its tangent ``v̇3`` or adjoint ``v̄3``, a function, a power, a fraction, a partial
derivative); ``TEXT``, ``LATEX`` and ``HTML`` are the three a table renders in.
"""

from __future__ import annotations

from typing import Literal


class Notation:
    """Plain-text notation; the LaTeX and HTML notations override a few of its methods."""

    times = " "
    _functions: dict[str, str] = {}

    def indexed(self, base: str, index: int | None) -> str:
        return base if index is None else f"{base}{index}"

    def dot(self, base: str) -> str:
        return base + "\u0307"

    def bar(self, base: str) -> str:
        return base + "\u0304"

    def function(self, name: str, argument: str) -> str:
        return f"{self._functions.get(name, name)}({argument})"

    def power(self, base: str, exponent: str) -> str:
        if not _is_token(exponent):
            exponent = f"({exponent})"
        return f"{_wrap_compound(base)}^{exponent}"

    def fraction(self, numerator: str, denominator: str) -> str:
        return f"{numerator}/{_wrap_compound(denominator)}"

    def derivative(self, of: str, wrt: str) -> str:
        return f"∂{of}/∂{wrt}"


class _LatexNotation(Notation):
    times = r" \, "
    _functions = {
        "exp": r"\exp",
        "log": r"\ln",
        "sin": r"\sin",
        "cos": r"\cos",
        "tanh": r"\tanh",
        "sigmoid": r"\sigma",
    }

    def indexed(self, base: str, index: int | None) -> str:
        return base if index is None else f"{base}_{{{index}}}"

    def dot(self, base: str) -> str:
        return rf"\dot{{{base}}}"

    def bar(self, base: str) -> str:
        return rf"\bar{{{base}}}"

    def function(self, name: str, argument: str) -> str:
        if name == "sqrt":
            return rf"\sqrt{{{argument}}}"
        return f"{self._functions[name]}({argument})"

    def power(self, base: str, exponent: str) -> str:
        return f"{_wrap_compound(base)}^{{{exponent}}}"

    def fraction(self, numerator: str, denominator: str) -> str:
        return rf"\frac{{{numerator}}}{{{denominator}}}"

    def derivative(self, of: str, wrt: str) -> str:
        return rf"\frac{{\partial {of}}}{{\partial {wrt}}}"


class _HtmlNotation(Notation):
    _functions = {"sigmoid": "σ", "sqrt": "√"}

    def indexed(self, base: str, index: int | None) -> str:
        return base if index is None else f"{base}<sub>{index}</sub>"

    def power(self, base: str, exponent: str) -> str:
        return f"{_wrap_compound(base)}<sup>{exponent}</sup>"


TEXT = Notation()
LATEX = _LatexNotation()
HTML = _HtmlNotation()
NotationName = Literal["text", "latex", "html"]
NOTATIONS: dict[str, Notation] = {"text": TEXT, "latex": LATEX, "html": HTML}


def _is_token(text: str) -> bool:
    return text.replace(".", "").replace("_", "").isalnum()


def _wrap_compound(text: str) -> str:
    return f"({text})" if " " in text or text.startswith("-") else text


def format_constant(value: float) -> str:
    """A constant as written in an equation (up to 12 significant digits)."""
    return f"{value:.12g}"
