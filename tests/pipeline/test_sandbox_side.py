"""The code that runs inside a sandbox imports nothing of the trusted side: every module of
every build the sandboxes see imports, with the project's installation out of reach, and
whatever it loads of ``grader`` and ``autodiff`` comes from the build itself.  (No bubblewrap
needed: the build is put alone on the import path.)"""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig

import pytest

from grader.checks.forbidden import forbidden_by_check
from grader.pipeline.sandbox.builds import Builds

PROFILES = sorted({tuple(sorted(names)) for names in forbidden_by_check().values()})

IMPORT_ALL = """
import importlib, json, pathlib, sys
root = pathlib.Path(sys.argv[1])
failed = {}
for path in sorted((root / "grader").rglob("*.py")):
    name = ".".join(path.relative_to(root).with_suffix("").parts).removesuffix(".__init__")
    try:
        importlib.import_module(name)
    except Exception as error:
        failed[name] = f"{type(error).__name__}: {error}"
outside = sorted(
    name for name, module in sys.modules.items()
    if name.split(".")[0] in ("grader", "autodiff")
    and getattr(module, "__file__", None)
    and not pathlib.Path(module.__file__).resolve().is_relative_to(root.resolve())
)
print(json.dumps({"failed": failed, "outside": outside,
                  "loaded": sorted(n for n in sys.modules if n.split(".")[0] == "grader")}))
"""


def imported(build) -> dict:
    site = sysconfig.get_paths()["purelib"]  # NumPy, without the project's editable hook
    done = subprocess.run(
        [sys.executable, "-S", "-c", IMPORT_ALL, str(build)],
        env={"PYTHONPATH": f"{build}:{site}", "PATH": "/usr/bin:/bin", "MPLBACKEND": "agg"},
        capture_output=True,
        text=True,
        timeout=300,
        cwd="/",  # as in a sandbox: not the repository
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.splitlines()[-1])


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    return Builds(tmp_path_factory.mktemp("builds"))


def test_the_notebook_servers_build_imports_only_itself(builds):
    found = imported(builds.library(()))
    assert found["failed"] == {} and found["outside"] == []
    assert "grader.sandboxed.notebook_server" in found["loaded"]


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: f"{len(p)} forbidden")
def test_each_grading_runs_build_imports_only_itself(builds, profile):
    found = imported(builds.library(profile))
    assert found["failed"] == {} and found["outside"] == []
    assert "grader.sandboxed.grading_run" in found["loaded"]
    assert not any(
        n.startswith(("grader.checks", "grader.judge", "grader.seeds")) for n in found["loaded"]
    )
