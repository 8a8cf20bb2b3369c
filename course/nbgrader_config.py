"""nbgrader configuration of the course (run nbgrader commands from this folder).

Every nbgrader entry point reads this file: the ``nbgrader`` command, the Formgrader in
JupyterLab started in this folder, and the ``grader`` pipeline.  So whatever a fresh,
unactivated environment lacks is set here once.
"""

import importlib.util
import os
import sys

c = get_config()  # noqa: F821 - provided by nbgrader when it loads this file

HERE = os.path.dirname(os.path.abspath(__file__))

c.CourseDirectory.course_id = "backprop-chapter8"
c.CourseDirectory.root = HERE
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(HERE, "gradebook.db")
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "*.db", ".grader"]

# nbgrader creates a new gradebook by running the `alembic` command through PATH: put the
# environment's own bin/ first, so that an unactivated `.venv/bin/nbgrader` or Formgrader
# finds it.
_BIN = os.path.dirname(sys.executable)
if _BIN not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = os.pathsep.join(p for p in (_BIN, os.environ.get("PATH")) if p)

# The exchange (Release and Collect in Formgrader, `nbgrader release_assignment`, `grader
# release`, `grader collect` ...).  On a hub, the folder its users share, named by the
# environment variable COURSE_EXCHANGE that the hub gives every user's server (see README.md,
# "Running the course on JupyterHub"); on one machine, a folder next to the course's own,
# writable by every local account.
EXCHANGE = os.environ.get("COURSE_EXCHANGE") or os.path.join(HERE, "exchange")
c.Exchange.root = EXCHANGE
if not os.environ.get("COURSE_EXCHANGE"):
    try:
        os.makedirs(EXCHANGE, exist_ok=True)
        if os.stat(EXCHANGE).st_uid == os.getuid():
            os.chmod(EXCHANGE, 0o777)
    except OSError:
        pass  # a read-only copy of the course: nbgrader reports the exchange as missing

# Formgrader's manual-grading view loads MathJax 2 from a public CDN, which an offline or
# firewalled course server cannot reach.  Where jupyter-server-mathjax is installed (the hub's
# environment has it), the server serves MathJax itself, and the view's template takes it
# from there (formgrader/formgrade/mathjax.html.j2, put before nbgrader's own templates).
if importlib.util.find_spec("jupyter_server_mathjax") is not None:
    _NBGRADER = importlib.util.find_spec("nbgrader").submodule_search_locations[0]
    c.HTMLExporter.extra_template_basedirs = [
        os.path.join(HERE, "formgrader"),
        os.path.join(_NBGRADER, "server_extensions", "formgrader", "templates"),
    ]

# Feedback: nbgrader's own route (`nbgrader generate_feedback`, Formgrader's "Generate
# Feedback") writes the same pages as `grader feedback`, built from the trusted results:
# they never show a test cell, hidden or visible.
c.GenerateFeedback.exporter_class = "grader.pipeline.outputs.feedback.FeedbackExporter"

# Autograding: nbgrader's own route (`nbgrader autograde`, Formgrader's Autograde button)
# runs the course's pipeline, as `grader autograde` does: student code in the sandbox, the
# verdict on the trusted side.  nbgrader alone would run it unsandboxed on this account.
c.Autograde.sanitize_preprocessors = ["grader.pipeline.nbgrader_route.GradeInSandbox"]
c.Autograde.autograde_preprocessors = []

# Collecting: nbgrader's own route (`nbgrader collect`, Formgrader's Collect button) takes
# submissions in as `grader collect` does: only a folder owned by the account it names, no
# link followed, and no claimed time earlier than when its files were written.
c.ExchangeFactory.collect = "grader.pipeline.nbgrader_route.CollectAsTheCourse"

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# A notebook whose cell runs for longer than this is stopped (a student's infinite loop).
c.ExecutePreprocessor.timeout = 120
c.Execute.timeout = 120
