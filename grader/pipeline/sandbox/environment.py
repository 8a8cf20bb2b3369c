"""Which files of this Python environment a sandbox mounts.

The interpreter and its standard library, read-only, and of the installed distributions
only those a run needs: the ones that provide the modules the course's notebooks import,
and what they require, found from the distributions' own metadata.  The notebook server
also needs nbgrader and ipykernel with theirs.  Every other distribution (a test framework,
HIPS autograd, PyTorch, JAX, this project's own installation) is not there; neither is any
other site-packages folder of the machine.  A task that forbids an external package
(``sympy``) leaves it out; one that forbids ``numpy.linalg`` gets a stand-in for it and no
``ctypes`` (the LAPACK behind NumPy could otherwise be called directly).
"""

from __future__ import annotations

import csv
import functools
import glob
import importlib.metadata as metadata
import importlib.util
import site
import sys
import sysconfig
from pathlib import Path

from packaging.requirements import Requirement

from grader.pipeline.sandbox.bubblewrap import SYSTEM_FOLDERS, Mounts
from grader.pipeline.sandbox.builds import SANDBOX_LIB

KERNEL_DISTRIBUTIONS = ("numpy",)  # what grader.sandboxed itself imports
NOTEBOOK_SERVER_DISTRIBUTIONS = ("nbgrader", "ipykernel", *KERNEL_DISTRIBUTIONS)
OWN_DISTRIBUTION = "backprop-course"
THIRD_PARTY_FOLDERS = (
    "/usr/lib/python3*/dist-packages",
    "/usr/lib/python3*/site-packages",
    "/usr/local/lib/python3*/dist-packages",
    "/usr/local/lib/python3*/site-packages",
)


def _key(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


@functools.cache
def distributions_of(modules: tuple[str, ...]) -> frozenset[str]:
    """The installed distributions that provide the top-level packages of ``modules``."""
    owners = metadata.packages_distributions()
    found = set()
    for module in modules:
        for name in owners.get(module.split(".")[0], ()):
            found.add(_key(name))
    return frozenset(found - {OWN_DISTRIBUTION})


@functools.cache
def closure(roots: frozenset[str], excluded: frozenset[str] = frozenset()) -> frozenset[str]:
    """``roots`` and every distribution they require (with the extras they ask for), less
    ``excluded`` and what only they would bring in."""
    seen: set[tuple[str, str]] = set()
    found: set[str] = set()
    todo = [(r, "") for r in roots if _key(r) not in excluded]
    while todo:
        name, extra = todo.pop()
        key = _key(name)
        if (key, extra) in seen or key in excluded:
            continue
        seen.add((key, extra))
        try:
            distribution = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        found.add(key)
        for text in distribution.requires or ():
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": extra}):
                todo.append((requirement.name, ""))
                todo.extend((requirement.name, wanted) for wanted in requirement.extras)
    return frozenset(found - {OWN_DISTRIBUTION})


@functools.cache
def _entries(distribution: str) -> tuple[tuple[str, str], ...]:
    """The top-level entries (``(site folder, name)``) that a distribution installed."""
    dist = metadata.distribution(distribution)
    base = str(Path(dist.locate_file("")).resolve())
    record = dist.read_text("RECORD")  # read as text: thousands of paths, parsed once each
    if record is not None:
        files = [row[0] for row in csv.reader(record.splitlines()) if row]
    else:
        files = [str(file) for file in dist.files or ()]
    tops = {file.replace("\\", "/").split("/", 1)[0] for file in files if not file.startswith("/")}
    return tuple(sorted((base, top) for top in tops if top and top != ".."))


def site_folders() -> list[str]:
    """Every folder third-party packages could be imported from."""
    folders = set(site.getsitepackages())
    if site.ENABLE_USER_SITE and site.getusersitepackages():
        folders.add(site.getusersitepackages())
    folders.add(sysconfig.get_paths()["purelib"])
    folders.add(sysconfig.get_paths()["platlib"])
    base = Path(sys.base_prefix)
    folders |= {str(p) for p in base.glob("lib/python3*/site-packages")}
    for pattern in THIRD_PARTY_FOLDERS:
        folders |= set(glob.glob(pattern))
    return sorted(str(Path(f).resolve()) for f in folders if Path(f).is_dir())


def _ctypes_extensions() -> list[str]:
    """The compiled modules behind ``ctypes`` (and ``cffi``, if installed)."""
    found = []
    for name in ("_ctypes", "_cffi_backend"):
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.origin and spec.origin.endswith(".so"):
            found.append(str(Path(spec.origin).resolve()))
    return found


def _under_system(path: Path) -> bool:
    return any(path == Path(f) or Path(f) in path.parents for f in SYSTEM_FOLDERS)


def mounts(
    distributions: frozenset[str],
    library: Path,
    *,
    linalg_overlay: Path | None = None,
    private: tuple[Path, ...] = (),
) -> Mounts:
    """The mounts of a sandbox whose Python sees ``distributions`` and the build
    ``library`` (at ``/sandbox/lib``); ``linalg_overlay`` replaces ``numpy.linalg``;
    ``private`` folders stay empty even where a mounted folder holds them."""
    result = Mounts()
    prefixes = sorted({Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve()})
    mounted = [Path(f) for f in SYSTEM_FOLDERS] + prefixes
    for folder in private:  # empty where a mounted folder holds it; elsewhere it is not there
        path = folder.resolve()
        if path.exists() and any(path == m or m in path.parents for m in mounted):
            result.empty(str(path))
    for prefix in prefixes:
        if not _under_system(prefix):
            result.read_only(str(prefix), str(prefix))
    for folder in site_folders():
        result.empty(folder)
    for name in sorted(distributions):
        for folder, entry in _entries(name):
            path = Path(folder) / entry
            if path.exists():
                result.read_only(str(path), str(path))
    result.read_only(str(library), SANDBOX_LIB)
    if linalg_overlay is not None:
        numpy_dir = Path(metadata.distribution("numpy").locate_file("numpy")).resolve()
        result.read_only(str(linalg_overlay), str(numpy_dir / "linalg"))
        for file in _ctypes_extensions():
            result.hidden(file)
    return result
