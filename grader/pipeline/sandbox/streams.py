"""Reading what a sandbox sends back, on the trusted side: from pipes this side holds, with a
byte cap and a deadline, never from a path inside a folder the sandbox can write.

- ``read_all`` reads a pipe to its end, or to its cap, or to a deadline, and meanwhile
  asks a ``watch`` function whether to stop early (the sandbox's scratch folder grew past
  its limit);
- ``Tail`` drains a pipe in a thread and keeps its last bytes (a server's log: a sandbox
  that writes without end fills neither a disk nor the memory).
"""

from __future__ import annotations

import os
import select
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

CHUNK = 1024**2
POLL_SECONDS = 0.25


@dataclass
class Read:
    """What ``read_all`` got, and why it stopped: ``"end"`` (the writer closed the pipe),
    ``"too large"``, ``"timeout"`` or the reason ``watch`` gave."""

    data: bytes
    stopped: str

    @property
    def complete(self) -> bool:
        return self.stopped == "end"


def read_all(
    fd: int,
    max_bytes: int,
    deadline: float,
    watch: Callable[[], str | None] | None = None,
) -> Read:
    """Read ``fd`` until its writer closes it, ``max_bytes`` arrived, ``time.monotonic()``
    passed ``deadline``, or ``watch()`` returned a reason to stop."""
    chunks, size = [], 0
    while True:
        reason = watch() if watch else None
        if reason:
            return Read(b"".join(chunks), reason)
        left = deadline - time.monotonic()
        if left <= 0:
            return Read(b"".join(chunks), "timeout")
        ready, _, _ = select.select([fd], [], [], min(left, POLL_SECONDS))
        if not ready:
            continue
        chunk = os.read(fd, min(CHUNK, max_bytes + 1 - size))
        if not chunk:
            return Read(b"".join(chunks), "end")
        chunks.append(chunk)
        size += len(chunk)
        if size > max_bytes:
            return Read(b"".join(chunks)[:max_bytes], "too large")


def read_line(fd: int, max_bytes: int, deadline: float, pending: bytearray) -> bytes | None:
    """One line from ``fd`` (without its newline), keeping what follows it in ``pending``;
    None when the writer closed the pipe, the line passed ``max_bytes`` or the deadline
    passed first."""
    while True:
        end = pending.find(b"\n")
        if end >= 0:
            line = bytes(pending[:end])
            del pending[: end + 1]
            return line
        if len(pending) > max_bytes:
            return None
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        ready, _, _ = select.select([fd], [], [], min(left, POLL_SECONDS))
        if ready:
            chunk = os.read(fd, CHUNK)
            if not chunk:
                return None
            pending += chunk


class Tail(threading.Thread):
    """Drains a pipe to its end, keeping its last ``keep`` bytes."""

    def __init__(self, fd: int, keep: int = 64 * 1024) -> None:
        super().__init__(daemon=True, name="sandbox-log")
        self.fd, self.keep = fd, keep
        self._data = bytearray()
        self._lock = threading.Lock()

    def run(self) -> None:
        try:
            while chunk := os.read(self.fd, CHUNK):
                with self._lock:
                    self._data += chunk
                    del self._data[: max(0, len(self._data) - self.keep)]
        except OSError:
            pass
        finally:
            os.close(self.fd)

    def text(self) -> str:
        with self._lock:
            return self._data.decode("utf-8", errors="replace")
