"""One harness command per output directory at a time: a second one refuses with a clear line."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

from harness.errors import HarnessError


class OutputLock:
    def __init__(self, out: Path) -> None:
        self.path = out / ".harness.lock"
        self._fh: int | None = None

    def __enter__(self) -> OutputLock:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise HarnessError(
                f"cannot write to the output directory {self.path.parent} ({exc.strerror}); "
                "choose a writable --out"
            ) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise HarnessError(
                f"another harness command (pid {holder}) is writing to {self.path.parent}; "
                "wait for it to finish or use another --out"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fh = fd
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._fh is not None:
            fcntl.flock(self._fh, fcntl.LOCK_UN)
            os.close(self._fh)
            self._fh = None
