"""Progress for people, shared by the CLI and the Python API: what a run will take, and how it goes.

Up front, one log line says how long the jobs will take (:mod:`harness.eta`) and which
``--parallel`` the idle cores would allow. Then, on a terminal or in a notebook (``tqdm.auto``), a
bar with the ETA from the budgets left and each running job's seconds against its budget,
redrawn every :data:`REFRESH_S` by a small thread; anywhere else (stderr piped to a file), one plain
line per finished run and no bar.
"""

from __future__ import annotations

import importlib.util
import logging
import sys
import threading
import time
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, TextIO

from harness.config import Job, RunConfig
from harness.eta import Estimator, hms, overhead_prior_s
from harness.store import RunRecord

if TYPE_CHECKING:
    from harness.runner import Plan

log = logging.getLogger("harness")

REFRESH_S = 1.0  # how often the bar redraws the running jobs' seconds and the ETA
# Loggers whose INFO stays out of the console unless --debug: Dask's cluster chatter (distributed
# configures its own loggers to INFO when imported, so a level set before would not hold) and libraries'.
CHATTY = ("distributed", "asyncio", "tornado", "bokeh", "matplotlib", "PIL", "h2o", "flaml", "optuna")


class ChattyFilter(logging.Filter):
    """Drops records below WARNING from :data:`CHATTY` loggers (for a console handler)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or not record.name.startswith(CHATTY)


def in_notebook() -> bool:
    """Whether this runs in a Jupyter kernel (IPython imported and its shell is a kernel's)."""
    ipython = sys.modules.get("IPython")
    shell = getattr(ipython, "get_ipython", lambda: None)() if ipython else None
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def _bar_class() -> Any:
    """``tqdm.auto``'s bar: a widget in a notebook that has ipywidgets, else the terminal's."""
    from tqdm.auto import tqdm

    if tqdm.__module__.startswith("tqdm.notebook") and importlib.util.find_spec("ipywidgets") is None:
        from tqdm.std import tqdm as text_bar  # the widget would raise without ipywidgets

        return text_bar
    return tqdm


def _is_console(handler: logging.Handler) -> bool:
    return isinstance(handler, logging.StreamHandler) and handler.stream in (sys.stderr, sys.stdout)


@dataclass(frozen=True)
class Forecast:
    """An ETA as it was shown: ``at_s`` after the plan, with ``finished`` runs done."""

    at_s: float
    finished: int
    eta_s: float


class Progress(AbstractContextManager["Progress"]):
    """Callbacks for :func:`harness.runner.run` that show a run's progress on ``stream`` (stderr).

    ``mode`` is ``bar`` (a terminal or a notebook), ``lines`` (one line per finished run) or ``off``
    (``enabled=False``: the CLI's ``--quiet``). Every ETA shown is kept in ``forecasts``.
    """

    def __init__(
        self, cfg: RunConfig, enabled: bool = True, stream: TextIO | None = None, mode: str | None = None
    ) -> None:
        self.cfg = cfg
        self.stream = stream or sys.stderr
        interactive = _is_terminal(self.stream) or in_notebook()
        self.mode = mode or ("off" if not enabled else "bar" if interactive else "lines")
        self.estimator = Estimator(parallel=cfg.parallel, overhead_prior_s=overhead_prior_s(cfg))
        self.queued: dict[str, Job] = {}  # by key: jobs planned and not started
        self.running: dict[str, tuple[Job, float]] = {}  # by key: job, monotonic start
        self.total = self.finished = 0
        self.forecasts: list[Forecast] = []
        self.bar: Any = None
        self._t0 = time.monotonic()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._refresher: threading.Thread | None = None
        self._redirect: AbstractContextManager[None] = nullcontext()

    def __enter__(self) -> Progress:
        if self.mode == "bar":  # log lines are written above the bar, not through it
            from tqdm.contrib.logging import logging_redirect_tqdm

            consoles = [lg for lg in (logging.getLogger(), log) if any(_is_console(h) for h in lg.handlers)]
            self._redirect = logging_redirect_tqdm(consoles, tqdm_class=_bar_class())
        self._redirect.__enter__()
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        if self._refresher is not None:
            self._refresher.join()
        if self.bar is not None:
            self.bar.close()
        self._redirect.__exit__(et, ev, tb)

    # --- the runner's callbacks ---
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
        self._t0 = time.monotonic()
        self.total = len(plan.jobs)
        # skipped jobs end at once: they take no time of the estimate
        self.queued = {j.key: j for j in plan.jobs if (j.task, j.adapter) not in plan.skipped}
        eta = self._eta()
        log.info(
            "%d jobs to run, %s of budget: expect about %s (the budgets and ~%.0f s of start-up per run, "
            "%d at a time)",
            len(plan.jobs),
            hms(sum(j.budget_s for j in plan.jobs)),
            hms(eta),
            self.estimator.overhead_s,
            self.cfg.parallel,
        )
        self._suggest_parallel()
        if self.mode == "bar":
            self.bar = _bar_class()(
                total=self.total,
                unit="run",
                dynamic_ncols=True,
                file=self.stream,
                bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} runs [{elapsed}{postfix}]",  # postfix: ", ETA ..."
            )
            self._show()
            self._refresher = threading.Thread(target=self._refresh, name="harness-progress", daemon=True)
            self._refresher.start()

    def start(self, job: Job) -> None:
        with self._lock:
            self.queued.pop(job.key, None)
            self.running[job.key] = (job, time.monotonic())
        self._show()

    def done(self, job: Job, rec: RunRecord) -> None:
        with self._lock:
            started = self.running.pop(job.key, None)
            self.queued.pop(job.key, None)
            if started is not None:  # a run whose start was not seen has no wall time to learn from
                self.estimator.learn(job, rec, time.monotonic() - started[1])
            self.finished += 1
        eta = self._eta()
        score = f"{rec.metric}={rec.test_score:.4f}" if rec.test_score is not None else rec.reason or ""
        fit = f" fit {rec.fit_s:.1f}s" if rec.fit_s is not None else ""
        msg = f"{job.label()}: {rec.status}{fit} {score}".rstrip()
        if self.mode == "bar":
            self.bar.write(msg, file=self.stream)
            self.bar.update(1)
            self._show()
        elif self.mode == "lines":
            left = f"; about {hms(eta)} left" if self.finished < self.total else ""
            print(f"[{self.finished}/{self.total}] {msg}{left}", file=self.stream, flush=True)

    # --- what is shown ---
    def _eta(self) -> float:
        """The ETA now (kept in ``forecasts``)."""
        now = time.monotonic()
        with self._lock:
            running = [(job, now - started) for job, started in self.running.values()]
            eta = self.estimator.remaining_s(self.queued.values(), running)
            self.forecasts.append(Forecast(now - self._t0, self.finished, eta))
        return eta

    def _show(self) -> None:
        if self.bar is None:
            return
        now = time.monotonic()
        with self._lock:
            eta = self.estimator.remaining_s(
                self.queued.values(), [(j, now - t) for j, t in self.running.values()]
            )
            flight = [f"{_short(j)} {now - t:.0f}/{j.budget_s:g}s" for j, t in self.running.values()]
        self.bar.set_postfix_str("; ".join([f"ETA {hms(eta)}", *flight]), refresh=True)

    def _refresh(self) -> None:
        while not self._stop.wait(REFRESH_S):
            self._show()

    def _suggest_parallel(self) -> None:
        """Say how long ``--parallel N`` would take when this run leaves cores idle (never the default)."""
        if self.cfg.executor != "local":
            return
        from harness.execution.cores import allowed_cores

        usable = len(allowed_cores())
        could = min(usable // self.cfg.cores, len(self.queued))
        if could <= self.cfg.parallel:
            return
        eta = self.estimator.remaining_s(self.queued.values(), [], parallel=could)
        log.info(
            "%d of the %d cores this harness may use stay idle: --parallel %d would take about %s "
            "(runs at once share memory bandwidth and caches; one at a time is the fairest)",
            usable - self.cfg.parallel * self.cfg.cores,
            usable,
            could,
            hms(eta),
        )


def _short(job: Job) -> str:
    """``titanic/optuna s0`` (``f0`` for a fold)."""
    return f"{job.task}/{job.adapter} {'f' if job.is_fold else 's'}{job.seed}"
