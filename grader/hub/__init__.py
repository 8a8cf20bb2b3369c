"""The course on JupyterHub: ``make hub`` (``python -m grader.hub``) and its pieces."""
