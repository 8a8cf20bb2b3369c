"""nbgrader in a student's JupyterLab (``make lab``): what Validate and the Assignment List
read, besides nbgrader's defaults.

``make lab`` puts this folder first on JupyterLab's configuration path (the environment
variable ``JUPYTER_CONFIG_PATH``), so its three files apply to that JupyterLab alone,
whatever else the environment has installed or enabled: ``jupyter_server_config.json`` and
``labconfig/page_config.json`` switch nbgrader's student tools on (Validate, the Assignment
List) and its instructor tools off (Formgrader, Create Assignment, the course list), as
nbgrader documents for a student's environment; this file names the course and its
exchange.  The instructor's JupyterLab (``make formgrader``) does not read this folder.
"""

import os

c = get_config()  # noqa: F821 - provided by nbgrader when it loads this file

c.CourseDirectory.course_id = "backprop-chapter8"  # as in course/nbgrader_config.py

# The Assignment List fetches and submits through nbgrader's exchange: on a hub, the folder
# its users share (COURSE_EXCHANGE, as the course's configuration reads it); on one machine,
# the course's own, where the course's configuration made it.  Where neither exists, the
# Assignment List says that no exchange is set up; Validate needs none.
_COURSE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "course")
_EXCHANGE = os.environ.get("COURSE_EXCHANGE") or os.path.join(_COURSE, "exchange")
if os.path.isdir(_EXCHANGE):
    c.Exchange.root = os.path.normpath(_EXCHANGE)

# A self-check runs its cases under a profiler (the warning about forbidden calls): give a
# cell as long as the course gives it when grading.
c.Execute.timeout = 120
