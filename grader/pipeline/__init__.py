"""The grading pipeline: sandboxed, parallel autograding of a class (see ``grader.cli``)."""

import sys

# An optional plug-in of jsonschema (which nbformat imports) that builds grammars for
# seconds at import time and serves a string format nbformat's schema never uses: every
# process of the pipeline would pay for it once.  Marking it absent makes jsonschema skip it.
sys.modules.setdefault("rfc3987_syntax", None)
