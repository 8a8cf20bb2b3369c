"""What a task to implement oneself may not call: ``autodiff``'s derivative transforms, to
which each check adds the reference algorithms of its own task."""

DERIVATIVE_TRANSFORMS = (
    "autodiff.grad",
    "autodiff.value_and_grad",
    "autodiff.jvp",
    "autodiff.vjp",
    "autodiff.jacfwd",
    "autodiff.jacrev",
)
