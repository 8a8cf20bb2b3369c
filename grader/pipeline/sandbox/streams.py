"""Reading what a sandbox sends back, on the trusted side: from pipes this side holds, with a
byte cap and a deadline, never from a path inside a folder the sandbox can write.

- ``read_all`` reads a pipe to its end, or to its cap, or to a deadline, and meanwhile
  asks a ``watch`` function whether to stop early (the sandbox's scratch folder grew past
  its limit);
- ``converse`` reads a pipe in the same way, line by line, hands each line as it arrives
  to a listener and writes the listener's answers on another pipe, without ever waiting
  for the sandbox to read them; the listener can move the deadline;
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


def converse(
    fd: int,
    answers: int,
    max_bytes: int,
    hear: Callable[[bytes], bytes],
    deadline: Callable[[], float],
    watch: Callable[[], str | None] | None = None,
) -> Read:
    """Read ``fd`` as ``read_all`` does, giving ``hear`` each line (without its newline) as
    soon as it is complete, and the last one unfinished at the end; what ``hear`` returns
    is written on ``answers`` (made non-blocking: written as the other side reads, never
    waited for; dropped if the other side is gone).  ``deadline()`` is asked anew each
    time.  The data returned is empty: the lines went to ``hear``."""
    os.set_blocking(answers, False)
    pending, outgoing, size = bytearray(), bytearray(), 0
    while True:
        reason = watch() if watch else None
        if reason:
            return Read(b"", reason)
        left = deadline() - time.monotonic()
        if left <= 0:
            return Read(b"", "timeout")
        writing = [answers] if outgoing else []
        ready, writable, _ = select.select([fd], writing, [], min(left, POLL_SECONDS))
        if writable:
            outgoing = _write_some(answers, outgoing)
        if not ready:
            continue
        chunk = os.read(fd, min(CHUNK, max_bytes + 1 - size))
        if not chunk:
            if pending:
                hear(bytes(pending))
            return Read(b"", "end")
        size += len(chunk)
        if size > max_bytes:
            return Read(b"", "too large")
        pending += chunk
        if b"\n" in chunk:
            *lines, rest = pending.split(b"\n")
            pending = rest
            for line in lines:
                outgoing += hear(bytes(line))


def _write_some(fd: int, outgoing: bytearray) -> bytearray:
    """What is left of ``outgoing`` after writing what ``fd`` takes now (nothing is left
    when its reader is gone)."""
    try:
        written = os.write(fd, outgoing)
    except BlockingIOError:
        return outgoing
    except OSError:
        return bytearray()
    return outgoing[written:]


def read_line(
    fd: int,
    max_bytes: int,
    deadline: float,
    pending: bytearray,
    watch: Callable[[], str | None] | None = None,
) -> bytes | None:
    """One line from ``fd`` (without its newline), keeping what follows it in ``pending``;
    None when the writer closed the pipe, the line passed ``max_bytes``, the deadline
    passed or ``watch()`` returned a reason to stop first."""
    while True:
        if watch and watch():
            return None
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
