"""nbgrader's ``Execute`` preprocessor, which also stops a kernel that ignores the interrupt.

At a cell's time-out nbgrader interrupts the kernel, records the cell as timed out and sends
the next one.  A kernel that ignores the interrupt (``signal.signal(SIGINT, SIG_IGN)`` and a
loop) is still busy: every later cell then waits out its own time-out, and the notebook holds
its worker up to the run's limit (measured: 78 s of a 90 s limit with 5 s cells; 15 minutes
with the defaults).  Here, after the interrupt, the kernel has one more cell's time to answer
it; a kernel that does not is shut down, and the run ends there as for a kernel that died.
"""

from __future__ import annotations

from queue import Empty

from jupyter_core.utils import ensure_async
from nbclient.exceptions import DeadKernelError
from nbgrader.preprocessors import Execute as NbgraderExecute

UNANSWERED = "the kernel did not stop when a cell past its time was interrupted"


class Execute(NbgraderExecute):
    """``nbgrader.preprocessors.Execute`` with a deadline on answering an interrupt."""

    async def _async_handle_timeout(self, timeout: int, cell=None) -> dict | None:
        reply = await super()._async_handle_timeout(timeout, cell)
        try:  # the interrupted cell's reply (a KeyboardInterrupt) is the kernel's answer
            await ensure_async(self.kc.shell_channel.get_msg(timeout=timeout))
        except Empty:
            await ensure_async(self.km.shutdown_kernel(now=True))
            raise DeadKernelError(UNANSWERED) from None
        return reply
