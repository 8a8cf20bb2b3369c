"""The trusted side: hidden cases from the course secret, what a grading run needs of a
submission, verdicts, and the code reading that gives hints."""
