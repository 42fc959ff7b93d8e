"""TPOT 1.x as an adapter: genetic programming over scikit-learn pipelines, on a Dask cluster.

Start-up (not charged): ``import tpot`` (with its PyPI update check switched off, so it cannot hang
without network) and the launch of a Dask ``LocalCluster`` with one single-threaded worker process
per core of the job, bound to 127.0.0.1, no dashboard. The workers are spawned children of this
process (same session and process group), so the harness's kill of the process tree reaches them;
Dask's workers also exit on their own when their parent dies. ``close()`` shuts the cluster down
and ends any process of it that is still alive.

Fit: TPOT gets train+valid (``FitData.train_valid()``), run through our shared preprocessing
(imputation, one-hot) because TPOT's own search space expects a numeric matrix without gaps, and
scores pipelines by 5-fold cross-validation on those rows with the task's metric. TPOT is stopped
when its search ends (its own post-search work, above all the unbounded refit of its best pipeline,
is skipped); the Dask workers are killed then (a cancelled evaluation keeps running in its worker),
and ``adapters.engines.tpot.refit`` refits in this process the best pipeline that fits in the time left.
Trials: TPOT keeps its history in memory; its rows reach our log after each generation (so they
survive a later kill), one per evaluated pipeline, with TPOT's own timestamps.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import warnings
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import psutil

from adapters.base import FitContext, FitData, TaskInfo, TaskNotSupported, TrialLogger
from adapters.engines.common import (
    BudgetKnob,
    EngineAdapter,
    child_processes,
    require_problem_type,
    stop_processes,
)
from adapters.engines.tpot import refit as tpot_refit
from adapters.engines.tpot.history import describe, family, trials

logger = logging.getLogger(__name__)

# --- Budget knobs: values, measurements and how to re-measure them in benchmarks/README.md (TPOT) ---
# The fit has three parts: set-up (TPOT's own, before its clock starts), the search, which must end
# at the search end, and the post-search part (waking TPOT up, killing the workers, our refit, the
# rest of the trial log), which must end before the budget.
# * The search end follows the deadline: the budget less the post-search reserve and less the refit
#   of the best pipeline so far (its estimate / REFIT_SHARE, within REFIT_RESERVE_MIN_SHARE and
#   REFIT_RESERVE_MAX_SHARE of the budget). It is set when TPOT's search starts and moved after each
#   evaluated generation.
# * TPOT checks its own deadline only when an evaluation ends or, when none ends, every
#   max_eval_time_mins; so a watchdog cancels the evaluations in flight once the search end has
#   passed, which wakes TPOT up and makes it stop at once.
# * TPOT's refit of its best pipeline is unbounded: it is skipped, and adapters.engines.tpot.refit
#   refits the best pipeline whose estimated refit time fits in REFIT_SHARE of the time left (plus a
#   cheap insurance), and gives up at the budget less FINISH_MARGIN_S.
# * If nothing was evaluated when the search ends, TPOT would build and evaluate its starting
#   population twice more before raising: the evolver stops it at once instead.
# kept after the search end: the cancel of the evaluation in flight reaching TPOT (up to 0.9 s in CI,
# where 0.3 s left the refit -0.2 s), TPOT's bookkeeping, killing the workers (0.08-0.11 s together)
POST_SEARCH_S = 1.0
FINISH_MARGIN_S = 0.3  # fit returns at the latest this long before the budget ends (the last log rows)
# the latest search end, before the refit's reserve is taken off it
KNOB = BudgetKnob(fraction=1.0, reserve_s=POST_SEARCH_S + FINISH_MARGIN_S, floor_s=3.0)
EVAL_SHARE = 0.25  # per-pipeline limit (max_eval_time_mins): this share of the budget ...
EVAL_MIN_S = 3.0  # ... but at least these seconds ...
EVAL_MAX_S = 300.0  # ... and at most these
CV_FOLDS = 5  # cross-validation folds TPOT scores each pipeline with
WATCHDOG_POLL_S = 0.1  # the watchdog checks the search end this often and then cancels at once
REFIT_FACTOR = 1.25  # refit on all rows ~ evaluation seconds / folds * this
REFIT_SHARE = 0.8  # the refitted pipeline's estimate must fit in this share of the time left
REFIT_MIN_WINDOW_S = 0.3  # the refit's window when the search ended too late to leave one
REFIT_RESERVE_MIN_SHARE = 0.02  # the search leaves the refit at least this share of the budget ...
REFIT_RESERVE_MAX_SHARE = 0.25  # ... and at most this share
INSURANCE_SHARE = 0.1  # a cheap second refit in parallel: estimate within this share of the time left
# Small budgets: TPOT evaluates its whole starting population before evolving anything, and its
# default search space stacks inner classifiers (each with its own 5-fold cross_val_predict inside
# each fold). So: population = budget / 3 within [10, 50]; no inner predictors; below a minute
# TPOT's 'linear-light' space (naive Bayes, trees, k-NN, linear models), else 'linear'.
POPULATION_PER_S = 1 / 3  # population size per second of budget ...
POPULATION_MIN = 10  # ... at least this ...
POPULATION_MAX = 50  # ... and at most this
LIGHT_BELOW_S = 60.0  # budgets below this search TPOT's 'linear-light' space
# No periodic_checkpoint_folder: TPOT pickles its whole population there after every generation,
# which took nearly half of a small fit (measured: benchmarks/README.md).
# ---------------------------------------------------------------------------------------------------

# our metric name -> scikit-learn scorer TPOT maximises (per problem type); "neg_" ones are negated
_SCORERS: dict[str, dict[str, str]] = {
    "accuracy": {"binary": "accuracy", "multiclass": "accuracy"},
    "roc_auc": {"binary": "roc_auc", "multiclass": "roc_auc_ovr"},
    "log_loss": {"binary": "neg_log_loss", "multiclass": "neg_log_loss"},
    "f1": {"binary": "f1", "multiclass": "f1_macro"},
    "precision": {"binary": "precision", "multiclass": "precision_macro"},
    "recall": {"binary": "recall", "multiclass": "recall_macro"},
    "rmse": {"regression": "neg_root_mean_squared_error"},
    "mae": {"regression": "neg_mean_absolute_error"},
    "r2": {"regression": "r2"},
}


def import_tpot_offline() -> Any:
    """``import tpot`` without its update check (a PyPI request at import that hangs without network).

    TPOT runs ``from update_checker import update_check; update_check("tpot", ...)`` at import;
    replacing the function on the ``update_checker`` module for the time of the import disables it.
    """
    import update_checker

    original = update_checker.update_check
    update_checker.update_check = lambda *args, **kwargs: None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # stopit: "pkg_resources is deprecated"
            import tpot
    finally:
        update_checker.update_check = original
    return tpot


class TpotAdapter(EngineAdapter):
    requires = ("tpot", "distributed", "sklearn")
    extra = "tpot"
    description = "TPOT 1.x (genetic programming over scikit-learn pipelines, Dask workers)"

    supported: ClassVar[tuple[str, ...]] = ("binary", "multiclass", "regression")

    def __init__(self, family: str | None = None) -> None:
        super().__init__(family)
        self._client: Any = None
        self._cluster: Any = None
        self._children_before: set[int] = set()
        self._estimator: Any = None
        self._pipeline: Any = None  # the refitted pipeline (adapters.engines.tpot.refit)
        self._chosen_score: float | None = None  # its cross-validated score, in our metric's units
        self._classes: np.ndarray = np.arange(0)  # TPOT's class codes -> ours
        self._preprocessor: Any = None
        self.cluster_addresses: list[str] = []  # scheduler and workers (tests check the ports close)
        self.timings: dict[str, float] = {}

    def check_task(self, task: TaskInfo) -> None:
        require_problem_type(task, "TPOT adapter", self.supported)
        if task.problem_type not in _SCORERS.get(task.metric, {}):
            raise TaskNotSupported(
                f"TPOT adapter has no scorer for metric {task.metric!r} on {task.problem_type}"
            )

    # --- life cycle in the child ---
    def start(self, ctx: FitContext) -> None:
        self._tpot = import_tpot_offline()
        import dask
        from dask.distributed import LocalCluster

        dask.config.set(
            {"distributed.scheduler.worker-ttl": None, "distributed.scheduler.allowed-failures": 1}
        )
        self._children_before = {p.pid for p in child_processes()}
        workers = max(1, int(ctx.cores))
        self._cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            memory_limit=int(0.75 * ctx.memory_gb * 2**30 / workers),  # the rest: this process
            silence_logs=logging.ERROR,
        )
        self._client = _search_client_class()(self._cluster)
        self.cluster_addresses = [self._cluster.scheduler_address, *self._client.scheduler_info()["workers"]]
        logger.info("Dask cluster for TPOT at %s with %d workers", self._cluster.scheduler_address, workers)

    def _fit(self, data: FitData, ctx: FitContext, log: TrialLogger) -> None:
        from adapters.tuning.preprocess import make_preprocessor

        task = data.task
        X_df, y = data.train_valid()
        self._preprocessor = make_preprocessor(scale=False)
        X = np.asarray(self._preprocessor.fit_transform(X_df), dtype=float)
        if task.is_classification:  # codes 0..K-1 of the classes present (XGBoost needs them)
            self._classes, y = np.unique(y, return_inverse=True)
        # TPOT's clock is time.time() and starts later than ours (see _estimator_class)
        to_wall = time.time() - time.monotonic()
        search_s = KNOB.seconds(ctx.budget_s)
        first_end_wall = ctx.fit_start + search_s + to_wall
        floor_wall = ctx.fit_start + KNOB.floor_s + to_wall
        finish_by = ctx.deadline - FINISH_MARGIN_S  # time.monotonic()
        eval_s = min(EVAL_MAX_S, max(EVAL_MIN_S, EVAL_SHARE * ctx.budget_s))
        scorer = _SCORERS[task.metric][task.problem_type]
        sign = -1.0 if scorer.startswith("neg_") else 1.0
        wall_at_start = time.time() - ctx.elapsed()  # TPOT stamps its evaluations with time.time()
        logged: set[Any] = set()

        def log_new(history: pd.DataFrame, deadline: float | None) -> None:
            done = history[history["Completed Timestamp"].notna() & ~history.index.isin(list(logged))]
            logged.update(done.index)
            for trial in trials(done, sign, wall_at_start, deadline):
                log(trial)

        reserve = {"refit_reserve_s": 0.0}  # the last one the search end left, for the calibration

        def search_end(history: pd.DataFrame | None, objective: str) -> float:
            reserve["refit_reserve_s"] = refit_reserve_s(history, objective, ctx.budget_s)
            end = max(floor_wall, first_end_wall - reserve["refit_reserve_s"])
            self._client.skip_gc_after = end
            return end

        est = self._make_estimator(task, ctx, scorer, search_s, eval_s, search_end, log_new)
        self._estimator = est
        self._client.skip_gc_after = first_end_wall
        logger.info(
            "TPOT search ends at most %.1f s into a %.1f s budget, eval limit %.1f s",
            search_s,
            ctx.budget_s,
            eval_s,
        )
        watchdog = _Watchdog(est, self._client).start()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                est.fit(X, y)
            raise RuntimeError("TPOT returned without its search: the adapter's evolver was not used")
        except _SearchOver:
            pass
        finally:
            watchdog.stop()
        evolver = est._evolver_instance
        t_stop = time.time()
        self._kill_cluster()  # the search is over; cancelled evaluations would still use the cores
        history = getattr(getattr(evolver, "population", None), "evaluated_individuals", None)
        t_refit = time.time()
        warnings.simplefilter("ignore")  # for the refit threads too (this child process runs one fit)
        try:
            cands = tpot_refit.candidates(history, est.objective_names[0], CV_FOLDS, REFIT_FACTOR)
            if not cands:
                why = f": {evolver.search_error}" if evolver.search_error else ""
                raise RuntimeError(f"TPOT evaluated no pipeline within the budget ({len(y)} rows){why}")
            # a search that ended late (a loaded machine) still gets a short window: a cheap refit a few
            # tenths of a second past the budget is a smaller harm than a failed run
            until = max(finish_by, time.monotonic() + REFIT_MIN_WINDOW_S)
            self._pipeline, chosen = tpot_refit.refit(cands, X, y, until, REFIT_SHARE, INSURANCE_SHARE)
            self._chosen_score = sign * chosen.score
        finally:
            t_log = time.time()
            if history is not None and "Completed Timestamp" in history:
                log_new(history, evolver.scheduled_timeout_time)
            self.timings = {  # seconds, for the calibration
                "setup_s": evolver.search_started - wall_at_start,
                "search_s": evolver.search_ended - evolver.search_started,
                "stop_s": t_refit - evolver.search_ended,
                "kill_s": t_refit - t_stop,
                "refit_s": t_log - t_refit,
                "log_s": time.time() - t_log,
                **reserve,
            }
            logger.info("TPOT timings %s", {k: round(v, 2) for k, v in self.timings.items()})

    def _make_estimator(
        self,
        task: TaskInfo,
        ctx: FitContext,
        scorer: str,
        search_s: float,
        eval_s: float,
        search_end: Any,
        on_evaluated: Any,
    ) -> Any:
        regression = task.problem_type == "regression"
        base = self._tpot.TPOTRegressor if regression else self._tpot.TPOTClassifier
        population = int(min(POPULATION_MAX, max(POPULATION_MIN, POPULATION_PER_S * ctx.budget_s)))
        no_inner = {"allow_inner_regressors" if regression else "allow_inner_classifiers": False}
        return _estimator_class(base, self._tpot.evolvers.BaseEvolver, search_end, on_evaluated)(
            search_space="linear-light" if ctx.budget_s < LIGHT_BELOW_S else "linear",
            scorers=[scorer],
            scorers_weights=[1],
            cv=CV_FOLDS,
            max_time_mins=search_s / 60.0,  # replaced when TPOT's search starts
            max_eval_time_mins=eval_s / 60.0,
            n_jobs=max(1, int(ctx.cores)),
            client=self._client,
            periodic_checkpoint_folder=None,  # its pickling costs too much: see the knobs block
            random_state=ctx.seed,
            verbose=0,
            population_size=population,
            **no_inner,
        )

    def _kill_cluster(self) -> None:
        """Kills the Dask workers (and what they started) at once; ``close()`` closes the rest.

        Each worker's nanny (in this process) would start a new worker when its worker dies; marked
        as closing gracefully, it closes instead. Other children (multiprocessing's resource
        tracker) are left alone.
        """
        from distributed.core import Status

        logging.getLogger("distributed").setLevel(logging.CRITICAL)  # "lost scattered data": expected
        procs = []
        for nanny in list(getattr(self._cluster, "workers", {}).values()):
            pid = getattr(nanny, "pid", None)
            if pid is None:
                continue
            nanny.status = Status.closing_gracefully
            try:
                worker = psutil.Process(pid)
                procs += [worker, *worker.children(recursive=True)]
            except psutil.NoSuchProcess:
                pass
        for p in procs:
            try:
                p.kill()
            except psutil.NoSuchProcess:
                pass
        psutil.wait_procs(procs, timeout=2.0)

    def _X(self, X: pd.DataFrame) -> np.ndarray:
        return np.asarray(self._preprocessor.transform(X), dtype=float)

    def _predict_raw(self, X: pd.DataFrame) -> Any:
        pred = np.asarray(self._pipeline.predict(self._X(X)))
        if self._fitted_task().is_classification:  # TPOT's codes (of the classes present) -> ours
            return self._classes[pred.astype(int)]
        return pred

    def _predict_proba_raw(self, X: pd.DataFrame) -> tuple[Any, Any] | None:
        if not hasattr(self._pipeline, "predict_proba"):
            return None
        proba = self._pipeline.predict_proba(self._X(X))
        return proba, self._classes[np.asarray(self._pipeline.classes_).astype(int)]

    def best_config(self) -> dict[str, Any]:
        if self._pipeline is None:
            return {}
        return {
            "pipeline": describe(self._pipeline),
            "family": family(self._pipeline),
            "cv_score": self._chosen_score,
        }

    def close(self) -> None:
        for thing in (self._client, self._cluster):
            if thing is not None:
                try:
                    thing.close()
                except Exception:  # closing must not fail the run; leftovers are killed below
                    logger.exception("closing the Dask cluster failed")
        self._client = self._cluster = None
        leftovers = [p for p in child_processes() if p.pid not in self._children_before]
        if leftovers:
            names = [" ".join(p.cmdline()[-2:]) for p in leftovers if p.is_running()]
            pids = stop_processes(leftovers)
            # multiprocessing's resource tracker (started with the workers) is expected; others are not
            level = logging.DEBUG if all("resource_tracker" in n for n in names) else logging.WARNING
            logger.log(level, "stopped %d process(es) the Dask cluster left: %s %s", len(pids), pids, names)


def _search_client_class() -> type:
    """A Dask client that skips TPOT's garbage collection on the workers after the deadline.

    TPOT calls ``client.run(gc.collect)`` after each cancelled evaluation; that waits for every
    worker, and workers still busy with a cancelled pipeline answered only after 1.8 to 9 s here
    (load 8 to 10). Past the deadline the workers have nothing left to do, so it is skipped.
    """
    import gc

    from dask.distributed import Client

    class SearchClient(Client):
        skip_gc_after = math.inf  # a time.time() value

        def run(self, function: Any, *args: Any, **kwargs: Any) -> Any:
            if function is gc.collect and time.time() > self.skip_gc_after:
                return {}
            return super().run(function, *args, **kwargs)

    return SearchClient


def refit_reserve_s(history: pd.DataFrame | None, objective: str, budget_s: float) -> float:
    """Seconds the search leaves for the refit of its best pipeline.

    The refit plan takes the best pipeline whose estimate fits in ``REFIT_SHARE`` of the time left,
    so the search leaves the best's estimate / ``REFIT_SHARE``, within ``REFIT_RESERVE_MIN_SHARE``
    and ``REFIT_RESERVE_MAX_SHARE`` of the budget. The floor is for a best found in the last
    generation: the search end is moved only between generations (one generation took most of a
    120 s budget on digits), and with only the former best's estimate left one such run had 0.4 s
    for the refit and refitted a pipeline that scored 0.19. With the five best's largest estimate
    instead, the 30 s runs on digits kept 1.3 to 3.6 s and used 0.86 to 0.94 of the budget.
    """
    cands = tpot_refit.candidates(history, objective, CV_FOLDS, REFIT_FACTOR)
    best = cands[0].refit_s / REFIT_SHARE if cands else 0.0
    return min(REFIT_RESERVE_MAX_SHARE * budget_s, max(REFIT_RESERVE_MIN_SHARE * budget_s, best))


class _SearchOver(Exception):
    """Raised by the adapter's evolver when TPOT's search ends: skips TPOT's post-search work."""


def _estimator_class(base: type, evolver_base: type, search_end: Any, on_evaluated: Any) -> type:
    """``base`` (TPOTClassifier or TPOTRegressor) whose search ends when ``search_end`` says.

    TPOT starts its clock (``max_time_mins``) only once it has built its initial population, which
    took 1 to 10 s here depending on the load. The evolver below sets TPOT's deadline to
    ``search_end(None, objective)`` (a ``time.time()`` value) when the search starts, and to
    ``search_end(history, objective)`` after each evaluated generation, so the next generation and
    the watchdog use the new one (TPOT passes its deadline into a generation's evaluation by value:
    changing it inside a generation would leave the two apart). It hands each evaluated batch to
    ``on_evaluated(table, deadline)``; when nothing of the starting population could be evaluated by
    the deadline it ends the search at once (TPOT would build and evaluate two more populations); and
    when the search ends it raises ``_SearchOver`` (with ``search_error`` set if TPOT raised).
    TPOT's estimator assigns ``self._evolver`` (the evolver class) in its ``__init__``; the property
    keeps ours.
    """

    class Evolver(evolver_base):
        search_started = search_ended = math.nan
        search_error: Exception | None = None
        scheduled_timeout_time: float | None = None

        def optimize(self, *args: Any, **kwargs: Any) -> Any:
            self.search_started = time.time()
            self.max_time_mins = (search_end(None, self.objective_names[0]) - self.search_started) / 60.0
            try:
                super().optimize(*args, **kwargs)
            except _SearchOver:
                pass
            except Exception as exc:  # noqa: BLE001 - TPOT raises a bare Exception when nothing could be evaluated
                self.search_error = exc
            finally:
                self.search_ended = time.time()
            raise _SearchOver

        def evaluate_population(self) -> None:
            super().evaluate_population()
            on_evaluated(self.population.evaluated_individuals, self.scheduled_timeout_time)
            deadline = self.scheduled_timeout_time
            if (
                self.generation == 0
                and len(self.population.population) == 0
                and deadline is not None
                and time.time() >= deadline
            ):
                self.search_error = RuntimeError("no pipeline of the starting population finished in time")
                raise _SearchOver
            end = search_end(self.population.evaluated_individuals, self.objective_names[0])
            self.scheduled_timeout_time = end
            self.max_time_mins = (end - self.search_started) / 60.0  # TPOT's clock starts right after ours

    def _get(self: Any) -> type:
        return Evolver

    def _set(self: Any, value: type) -> None:
        pass

    return type(base.__name__, (base,), {"_evolver": property(_get, _set)})


class _Watchdog:
    """Makes TPOT stop at its deadline even while it waits for evaluations that do not end.

    TPOT's evolver sets ``scheduled_timeout_time`` (a ``time.time()`` value) when its search starts
    (the adapter's evolver moves it between generations). Past it, cancelling the evaluations in flight wakes TPOT's wait; TPOT then sees its deadline
    has passed and stops the search. Cancelling when nothing is in flight does nothing.
    """

    def __init__(self, estimator: Any, client: Any) -> None:
        self.estimator = estimator
        self.client = client
        self.cancelled: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tpot-watchdog", daemon=True)

    def start(self) -> _Watchdog:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        from distributed import Future

        while not self._stop.wait(WATCHDOG_POLL_S):
            evolver = getattr(self.estimator, "_evolver_instance", None)
            deadline = getattr(evolver, "scheduled_timeout_time", None)
            if deadline is None or time.time() < deadline:
                continue
            keys = [k for k in list(self.client.futures) if str(k).startswith("eval_objective_list")]
            if not keys:
                continue
            try:
                self.client.cancel([Future(k, self.client) for k in keys], reason="time limit")
                self.cancelled.extend(map(str, keys))
            except Exception:  # the client may be closing: the harness's deadline still holds
                logger.exception("could not cancel TPOT's evaluations")
