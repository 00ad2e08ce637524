"""An inter-process lock that dies with its holder.

The lock is ``fcntl.flock`` on a companion file (``<audit path>.lock``, mode 0600). The
kernel releases a ``flock`` when the holding process exits for any reason, SIGKILL
included, so a crashed writer can never leave a stale lock behind (the reference's
O_EXCL lock file needs a 30-second staleness rule for that). The lock file itself is
never deleted: removing a file other processes may be waiting on would let two holders
lock two different inodes.

``flock`` belongs to an open file description, so two threads sharing one descriptor
would both "hold" it: :class:`InterprocessLock` adds a thread lock in front, and reopens
its descriptor in a forked child so parent and child never share one.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from types import TracebackType

from haechi.errors import AuditLockTimeout

__all__ = ["InterprocessLock"]

_FIRST_WAIT_S = 0.0002
_LONGEST_WAIT_S = 0.002


class InterprocessLock:
    """Exclusive lock on ``path`` shared by threads and processes.

    :param timeout: seconds to wait before raising :class:`AuditLockTimeout`.
    """

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 5.0) -> None:
        self.path = os.fspath(path)
        self.timeout = timeout
        self._thread_lock = threading.Lock()
        self._fd: int | None = None
        self._owner_pid = 0

    def acquire(self) -> None:
        deadline = time.monotonic() + self.timeout
        if not self._thread_lock.acquire(timeout=self.timeout):
            raise self._timed_out()
        try:
            self._lock_file(deadline)
        except BaseException:
            self._thread_lock.release()
            raise

    def release(self) -> None:
        try:
            if self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._thread_lock.release()

    def close(self) -> None:
        """Close the lock file descriptor (the lock must not be held)."""
        with self._thread_lock:
            if self._fd is not None:
                os.close(self._fd)
            self._fd = None

    def __enter__(self) -> InterprocessLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    def _descriptor(self) -> int:
        if self._fd is None or self._owner_pid != os.getpid():
            if self._fd is not None:
                # Inherited through fork, it shares the parent's lock. Closing our copy
                # leaves the parent's lock alone; then open a description of our own.
                os.close(self._fd)
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            self._owner_pid = os.getpid()
        return self._fd

    def _lock_file(self, deadline: float) -> None:
        fd = self._descriptor()
        wait = _FIRST_WAIT_S
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise self._timed_out() from None
                time.sleep(wait)
                wait = min(wait * 2, _LONGEST_WAIT_S)

    def _timed_out(self) -> AuditLockTimeout:
        return AuditLockTimeout(f"Timed out acquiring audit lock: {self.path}")
