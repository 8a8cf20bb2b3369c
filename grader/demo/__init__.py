"""The example class: a small course with scripted students, for trying the pipeline
(``grader demo``) and for its end-to-end tests."""
