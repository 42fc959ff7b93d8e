"""The executor interface: run sandbox jobs somewhere, hand back each one's outcome as it ends.

An executor owns *where* jobs run (threads on this machine, a Dask cluster) and nothing else:
the runner plans, prepares, scores and stores, and builds every run record the same way from an
:class:`Outcome`, whichever executor produced it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.config import Job
from harness.execution.protocol import SandboxJob, SandboxResult

StartCallback = Callable[[Job], None]


@dataclass(frozen=True)
class ExecJob:
    """One job as an executor runs it: the harness's job, its sandbox's job, where its log goes."""

    job: Job
    sandbox: SandboxJob  # core_ids are chosen by the executor
    log_path: Path  # on the driver's machine, whichever machine ran the job


@dataclass
class Outcome:
    """What an executor hands back for a job: the sandbox's result and where and when it ran."""

    result: SandboxResult
    # executor, host, core_ids, start and end (epoch seconds), waits, a Dask worker and attempt
    where: dict[str, Any] = field(default_factory=dict)


class Executor(ABC):
    """Runs :class:`ExecJob` s and yields ``(job, outcome)`` as each ends; a context manager.

    ``run`` yields an outcome with status ``aborted`` for a job that was interrupted (it is not
    stored and runs again on resume). Closing the generator early (Ctrl-C, a store that cannot be
    written) stops the jobs still running.
    """

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:  # noqa: B027 - optional: only an executor that holds something overrides it
        """Release what the executor holds (a cluster); running jobs are stopped by ``run``."""

    @abstractmethod
    def run(
        self, jobs: Sequence[ExecJob], on_start: StartCallback | None = None
    ) -> Generator[tuple[ExecJob, Outcome], None, None]:
        """Run ``jobs`` (longest first) and yield each one's outcome as it completes."""
