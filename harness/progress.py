"""The CLI's progress bar: jobs done, the job in flight, and an ETA from the budgets left."""

from __future__ import annotations

import logging
import sys
import time
from types import TracebackType

from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from harness.config import Job
from harness.runner import Plan
from harness.store import RunRecord

log = logging.getLogger("harness")


class Progress:
    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.bar: tqdm | None = None
        self.in_flight: dict[str, float] = {}
        self._redirect = logging_redirect_tqdm()

    def __enter__(self) -> Progress:
        self._redirect.__enter__()
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.bar is not None:
            self.bar.close()
        self._redirect.__exit__(et, ev, tb)

    def plan(self, plan: Plan) -> None:
        for name, why in plan.unavailable:
            log.info("adapter %s left out: %s", name, why)
        if plan.done:
            log.info(
                "%d jobs already finished with the same configuration; not running them again "
                "(--fresh starts over)",
                len(plan.done),
            )
        if not plan.jobs:
            log.info("nothing to run")
            return
        total = sum(j.budget_s for j in plan.jobs)
        log.info("%d jobs to run, %s of budget", len(plan.jobs), _hms(total))
        if self.enabled:
            self.bar = tqdm(
                total=len(plan.jobs),
                unit="run",
                dynamic_ncols=True,
                file=sys.stderr,
                bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} runs [{elapsed}<{remaining}] {postfix}",
            )

    def start(self, job: Job) -> None:
        self.in_flight[job.label()] = time.monotonic()
        self._postfix()

    def done(self, job: Job, rec: RunRecord) -> None:
        self.in_flight.pop(job.label(), None)
        score = f"{rec.metric}={rec.test_score:.4f}" if rec.test_score is not None else rec.reason or ""
        fit = f" fit {rec.fit_s:.1f}s" if rec.fit_s is not None else ""
        msg = f"{job.label()}: {rec.status}{fit} {score}".rstrip()
        if self.bar is not None:
            self.bar.write(msg, file=sys.stderr)
            self.bar.update(1)
            self._postfix()
        else:
            log.info(msg)

    def _postfix(self) -> None:
        if self.bar is not None:
            self.bar.set_postfix_str("; ".join(self.in_flight) or "", refresh=True)


def _hms(s: float) -> str:
    s = int(s)
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"
