"""The trusted side's handle on where student code runs: the bubblewrap sandbox, what it
mounts, the builds of the project it sees, the limits and the cgroup of each sandbox, the
pipes its results come back on, and the grading worker that drives it.  What runs inside
the sandbox is ``grader.sandboxed``."""
