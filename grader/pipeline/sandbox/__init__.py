"""Where student code runs: the bubblewrap sandbox, what it mounts, the builds of the
project it sees, the processes that run inside it and the trusted side's handle on them.

The modules run inside the sandbox (``notebook_server``, ``fork_server``, ``kernels``,
``limits``) import nothing of the trusted side.
"""
