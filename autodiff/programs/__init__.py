"""Programs from traces: the adjoint and tangent programs of Section 8.2 written out as
Python, and ``compile``, which replays a recorded NumPy program without a tape."""
