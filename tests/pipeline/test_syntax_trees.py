"""The trusted side parses Python in several threads: CPython 3.11's tree conversion is not
safe for that (python/cpython#106905), so every parse goes through one lock and runs with the
cycle collector paused."""

from __future__ import annotations

import ast
import gc
import re
import threading
from pathlib import Path

from grader.pipeline import syntax_trees

TRUSTED = Path(__file__).resolve().parents[2] / "grader" / "pipeline"
SOURCE = (TRUSTED / "autograde.py").read_text(encoding="utf-8")


class _Cycle:
    """Garbage that only the cycle collector frees, running Python code as it goes: the
    thread switch in the middle of another thread's parse."""

    def __init__(self) -> None:
        self.me = self

    def __del__(self) -> None:
        sum(range(50))


def _parse_with_garbage(parse, rounds: int, errors: list[BaseException]) -> None:
    try:
        for _ in range(rounds):
            [_Cycle() for _ in range(200)]
            parse(SOURCE)
    except SystemError as error:
        errors.append(error)


def test_two_threads_parse_at_once_without_a_recursion_depth_mismatch():
    errors: list[BaseException] = []
    threads = [
        threading.Thread(target=_parse_with_garbage, args=(syntax_trees.parse, 60, errors))
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_the_trusted_side_parses_only_through_the_lock():
    direct = re.compile(r"\bast\.(parse|literal_eval)\(|\bcompile\(")
    offenders = [
        f"{path.relative_to(TRUSTED)}:{number}"
        for path in sorted(TRUSTED.rglob("*.py"))
        if path.name != "syntax_trees.py"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if direct.search(line.split("#")[0]) and "re.compile(" not in line
    ]
    assert offenders == []
    assert isinstance(syntax_trees.parse("x = 1"), ast.Module)


def _compile_with_garbage(rounds: int, stop: threading.Event) -> None:
    """A thread that compiles without the lock, as an import of a module not yet compiled
    does; its own failures are not the trusted side's."""
    for _ in range(rounds):
        if stop.is_set():
            return
        [_Cycle() for _ in range(200)]
        try:
            compile(SOURCE, "<import>", "exec", ast.PyCF_ONLY_AST)
        except SystemError:
            pass


def test_a_parse_beside_compiles_the_lock_cannot_reach_never_fails():
    errors: list[BaseException] = []
    stop = threading.Event()
    other = threading.Thread(target=_compile_with_garbage, args=(400, stop))
    other.start()
    try:
        _parse_with_garbage(syntax_trees.parse, 120, errors)
    finally:
        stop.set()
        other.join()
    assert errors == []


def test_the_collector_is_restarted_only_if_it_was_running():
    assert gc.isenabled()
    syntax_trees.parse("x = 1")
    assert gc.isenabled()
    gc.disable()
    try:
        syntax_trees.parse("x = 1")
        assert not gc.isenabled()
    finally:
        gc.enable()
