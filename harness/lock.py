"""One harness command per output directory at a time: a second one refuses with a clear line.

A command that created the output directory and leaves nothing in it but the lock file (an unknown
task, a bad option found late) removes it again, with the parents it created.
"""

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
        self._created: list[Path] = []  # the directories this command made, deepest first

    def __enter__(self) -> OutputLock:
        missing, p = [], self.path.parent.absolute()
        while not p.exists() and p != p.parent:
            missing.append(p)
            p = p.parent
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._created = missing
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
            if self._created and _only_the_lock(self.path):
                self.path.unlink(missing_ok=True)  # while still locked: no one else can be using it
                for d in self._created:
                    try:
                        d.rmdir()
                    except OSError:
                        break
            fcntl.flock(self._fh, fcntl.LOCK_UN)
            os.close(self._fh)
            self._fh = None


def _only_the_lock(lock: Path) -> bool:
    try:
        return [p.name for p in lock.parent.iterdir()] == [lock.name]
    except OSError:
        return False
