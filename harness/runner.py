"""Plan, prepare, run, score, store, report: the library function behind the CLI."""

from __future__ import annotations

import logging
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from adapters import registry
from adapters.base import TaskNotSupported
from harness import leakage
from harness.config import Job, RunConfig
from harness.errors import HarnessError
from harness.execution import isolate, protocol
from harness.execution.base import ExecJob, Executor, Outcome
from harness.execution.cores import allowed_cores
from harness.execution.local_executor import LocalExecutor
from harness.execution.protocol import SandboxJob, SandboxResult
from harness.lock import OutputLock
from harness.prepare import Prepared, cleanup, prepare, task_info
from harness.resume import Fingerprints, check_stored_data, is_done, note_reruns
from harness.scoring import BadPredictions, check_predictions, score
from harness.store import STORE_FILE, RunRecord, Store, check_store
from harness.sweep import owned_tempdir, sweep
from harness.timing import phase
from tasks.loading import Dataset, load_dataset
from tasks.registry import customize, expand_with_origin, get_task
from tasks.splits import protocol_for

log = logging.getLogger(__name__)


@dataclass
class Plan:
    jobs: list[Job]
    done: list[Job]
    adapters: list[str]
    unavailable: list[tuple[str, str]]
    skipped: dict[tuple[str, str], str] = field(default_factory=dict)  # (task, adapter) -> reason
    too_short: dict[tuple[str, float], str] = field(default_factory=dict)  # (adapter, budget) -> reason

    def skip_reason(self, job: Job) -> str | None:
        """Why ``job`` is recorded ``skipped`` instead of run, or None when it runs."""
        return self.skipped.get((job.task, job.adapter)) or self.too_short.get((job.adapter, job.budget_s))


JobCallback = Callable[[Job], None]
DoneCallback = Callable[[Job, RunRecord], None]


def resolve_adapters(requested: tuple[str, ...] | None) -> tuple[list[str], list[tuple[str, str]]]:
    """The adapters to run, and the unavailable built-ins left out (name, what to install)."""
    if requested is None:
        ok: list[str] = []
        missing: list[tuple[str, str]] = []
        for name in registry.builtin_names():
            st = registry.status(name)
            if st.available:
                ok.append(name)
            else:
                missing.append((name, st.why))
        if not ok:
            raise HarnessError("no adapter can run here; install one, e.g. pip install '.[all]'")
        return ok, missing
    chosen = []
    for name in requested:
        try:
            registry.load_class(name)
        except registry.AdapterLoadError as exc:
            raise HarnessError(str(exc)) from None
        st = registry.status(name)
        if not st.available:
            raise HarnessError(f"adapter {name!r} cannot run here: {st.why}")
        if name not in chosen:
            chosen.append(name)
    return chosen, []


def load_datasets(cfg: RunConfig) -> dict[str, Dataset]:
    out: dict[str, Dataset] = {}
    for name, suite in expand_with_origin(list(cfg.tasks), cfg.data_dir):
        spec = customize(
            get_task(name, target=cfg.target),
            metric=cfg.metric,
            image_shape=cfg.image_shape,
            test_file=cfg.test_file,
            test_column=cfg.test_column,
        )
        try:
            ds = load_dataset(spec, cfg.data_dir)
        except HarnessError as exc:
            if suite is None:  # a task the user named: its error stops the run
                raise
            # one task of a suite (an OpenML task without network or cache): say so, run the rest
            log.warning("skipped %s of %s: %s", spec.name, suite, exc)
            continue
        for note in ds.notes:
            log.info("%s: %s", spec.name, note)
        out[spec.name] = ds
    if not out:
        raise HarnessError("no task could be loaded (see the warnings above); fix one of them and run again")
    return out


def make_plan(
    cfg: RunConfig,
    datasets: dict[str, Dataset],
    store: Store,
    resolved: tuple[list[str], list[tuple[str, str]]] | None = None,
) -> Plan:
    adapters, unavailable = resolved or resolve_adapters(cfg.adapters)
    stored = store.fingerprints()
    jobs: list[Job] = []
    done: list[Job] = []
    skipped: dict[tuple[str, str], str] = {}
    protocols = {tname: protocol_for(ds, cfg.folds) for tname, ds in datasets.items()}
    repetitions = {tname: n_repetitions(ds, cfg) for tname, ds in datasets.items()}
    fingerprints = Fingerprints(cfg, datasets, protocols)
    for tname, ds in datasets.items():
        info = task_info(ds)
        for a in adapters:
            try:
                registry.create_adapter(a).check_task(info)
            except TaskNotSupported as exc:
                if cfg.adapters is not None and registry.split_name(a)[1] is not None:
                    raise HarnessError(f"adapter {a!r} does not fit task {tname!r}: {exc}") from None
                skipped[(tname, a)] = str(exc)
            except registry.AdapterLoadError as exc:
                raise HarnessError(str(exc)) from None
            except Exception as exc:  # a broken plugin is named, not a traceback
                raise HarnessError(
                    f"adapter {a!r} failed while checking task {tname!r}: {type(exc).__name__}: {exc}"
                ) from exc
            for budget in cfg.budgets:
                for seed in range(repetitions[tname]):
                    job = Job(
                        tname,
                        a,
                        seed,
                        budget,
                        cfg.cores,
                        cfg.memory_gb,
                        ds.fingerprint,
                        protocol=protocols[tname],
                        metric=cfg.metric,
                        fingerprint=fingerprints.of(tname, a, budget, seed),
                    )
                    (done if is_done(job, stored) else jobs).append(job)
    note_reruns(jobs, stored)
    jobs.sort(key=lambda j: -j.budget_s)  # longest first, so a parallel suite ends early
    return Plan(jobs, done, adapters, unavailable, skipped, budgets_too_short(cfg, adapters))


def budgets_too_short(cfg: RunConfig, adapters: list[str]) -> dict[tuple[str, float], str]:
    """(adapter, budget) -> why, for budgets under an adapter's ``min_budget_s``.

    An adapter the user named stops the command in one line; one that runs by default is skipped.
    """
    out: dict[tuple[str, float], str] = {}
    for a in adapters:
        smallest = float(getattr(registry.load_class(a), "min_budget_s", 0.0))  # plugins may predate it
        for budget in cfg.budgets:
            if budget >= smallest:
                continue
            if cfg.adapters is not None:
                raise HarnessError(
                    f"adapter {a!r} cannot keep a budget of {budget:g} s: the smallest it can keep is "
                    f"{smallest:g} s; give --budget {smallest:g} or more, or leave {a} out of --adapters"
                )
            out[(a, budget)] = f"budget {budget:g} s is under the {smallest:g} s {a} can keep"
    return out


def n_repetitions(ds: Dataset, cfg: RunConfig) -> int:
    """How often each adapter runs on ``ds``: ``--seeds``, ``--folds``, or a data set's given folds."""
    given = ds.fold_of_row
    if given is None:
        return cfg.repetitions
    n_given = len({int(f) for f in given if f >= 0})
    if n_given == 1:  # the user's test rows: seeds carve other valid sets
        if cfg.folds is not None:
            raise HarnessError(
                f"task {ds.spec.name} has its own test rows; --folds does not apply, use --seeds"
            )
        return cfg.seeds
    if cfg.folds is not None and cfg.folds > n_given:
        raise HarnessError(
            f"task {ds.spec.name} has {n_given} official folds; give --folds {n_given} or fewer"
        )
    return cfg.folds or min(cfg.seeds, n_given)


def open_store(out: Path, fresh: bool) -> Store:
    db = out / STORE_FILE
    if fresh and db.exists():
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        backup = out / f"{STORE_FILE}.{stamp}.bak"
        for suffix in ("", "-wal", "-shm"):
            src = Path(str(db) + suffix)
            if src.exists():
                src.rename(Path(str(backup) + suffix))
        log.info("--fresh: the old store is kept as %s", backup)
    return Store(db)


def run(
    cfg: RunConfig,
    on_plan: Callable[[Plan], None] | None = None,
    on_start: JobCallback | None = None,
    on_done: DoneCallback | None = None,
) -> Plan:
    """Run every job of ``cfg`` not yet in the store; write runs.csv and leaderboards."""
    out = Path(cfg.out)
    with phase("sweep"):
        sweep()  # what harness commands killed with kill -9 left under the temp dir
    if cfg.isolate:
        isolate.check()
    with phase("adapters"):
        resolved = resolve_adapters(cfg.adapters)
    with OutputLock(out):
        with phase("store"):
            if not cfg.fresh:  # a store this harness cannot use is refused before the data loads
                check_store(out / STORE_FILE)
        with phase("data"):
            datasets = load_datasets(cfg)
        with phase("store"):
            store = open_store(out, cfg.fresh)
        try:
            with phase("plan"):
                protocols = {tname: protocol_for(ds, cfg.folds) for tname, ds in datasets.items()}
                check_stored_data(store, cfg, datasets, protocols, out)
                plan = make_plan(cfg, datasets, store, resolved)
            if on_plan:
                on_plan(plan)
            warm_up = warm_up_reports(cfg) if plan.jobs else None
            _execute(cfg, plan, datasets, store, out, on_start, on_done)
            with phase("reports"):
                if warm_up is not None:
                    warm_up.join()  # matplotlib draws in one thread at a time
                from harness.report.files import write_reports  # matplotlib and the rest: only now

                write_reports(store, out, impute=cfg.impute)
        finally:
            store.close()
    return plan


def _execute(
    cfg: RunConfig,
    plan: Plan,
    datasets: dict[str, Dataset],
    store: Store,
    out: Path,
    on_start: JobCallback | None,
    on_done: DoneCallback | None,
) -> None:
    """Prepare each (task, seed) once, run the jobs on the chosen executor, store each as it ends."""
    if not plan.jobs:
        return
    tmp_root = owned_tempdir("harness-")
    prepared: dict[tuple[str, int], Prepared] = {}
    try:
        with phase("prepare"):
            for job in plan.jobs:
                k = (job.task, job.seed)
                if k not in prepared:
                    prepared[k] = prepare(datasets[job.task], job.seed, tmp_root, cfg.folds)

        def finish(job: Job, rec: RunRecord) -> None:
            if rec.status == "aborted":  # never stored: it runs again on resume
                return
            with phase("commit"):
                store.add_run(rec)
            if on_done:
                on_done(job, rec)

        runnable = []
        for job in plan.jobs:
            prep = prepared[(job.task, job.seed)]
            reason = plan.skip_reason(job)
            if reason is None:
                runnable.append(exec_job(job, prep, cfg, out))
                continue
            if on_start:
                on_start(job)
            finish(job, skipped_record(job, prep, reason))
        if not runnable:
            return
        with phase("jobs"), make_executor(cfg) as executor:
            results = executor.run(runnable, on_start)
            try:
                for ej, outcome in results:
                    with phase("score"):
                        rec = record_of(ej, prepared[(ej.job.task, ej.job.seed)], outcome)
                    finish(ej.job, rec)
            finally:
                results.close()  # stops the executor's running jobs when we stop early
    finally:
        for prep in prepared.values():
            cleanup(prep)
        shutil.rmtree(tmp_root, ignore_errors=True)


def warm_up_reports(cfg: RunConfig) -> threading.Thread | None:
    """Import the report modules and matplotlib and draw an empty plot (0.3 to 0.5 s) in a thread while
    the jobs run, so the reports start at once after them; only where a core is left over by the jobs
    (the local executor), as on any other it would take time from a run."""
    if cfg.executor != "local" or cfg.parallel * cfg.cores >= len(allowed_cores()):
        return None
    thread = threading.Thread(target=_warm_up_reports, name="harness-reports-warm-up", daemon=True)
    thread.start()
    return thread


def _warm_up_reports() -> None:
    try:
        from harness.report import files

        files.warm_up()
    except Exception:  # the reports import and draw again, and say what is wrong there
        log.debug("warming up the reports failed", exc_info=True)


def make_executor(cfg: RunConfig) -> Executor:
    """The executor ``cfg`` asks for (``--executor``)."""
    if cfg.executor == "dask":
        from harness.execution.dask_executor import DaskExecutor  # imports dask: only when asked for

        return DaskExecutor(cfg.scheduler, cfg.parallel, cfg.cores)
    return LocalExecutor(cfg.parallel, cfg.cores, cfg.wait_for_cores_s)


def _iso(t: float | None) -> str:
    stamp = datetime.fromtimestamp(t, UTC) if t is not None else datetime.now(UTC)
    return stamp.isoformat(timespec="seconds")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _base_record(job: Job, prep: Prepared) -> RunRecord:
    return RunRecord(
        job_key=job.key,
        task=job.task,
        adapter=job.adapter,
        seed=job.seed,
        budget_s=job.budget_s,
        cores=job.cores,
        memory_gb=job.memory_gb,
        status="failed",
        metric=prep.dataset.metric,
        task_info={
            **protocol.task_to_dict(prep.task),
            "n_rows": len(prep.dataset.X),
            "n_cols": int(prep.dataset.X.shape[1]),
            "fingerprint": prep.dataset.fingerprint,
        },
        split=prep.split.describe(),
        fingerprint=job.fingerprint.as_dict() if job.fingerprint else {},
    )


def skipped_record(job: Job, prep: Prepared, reason: str) -> RunRecord:
    rec = _base_record(job, prep)
    rec.status, rec.reason = "skipped", reason
    rec.started_at = rec.ended_at = _now()
    return rec


def log_path_for(out: Path, job: Job) -> Path:
    safe = job.adapter.replace(":", "-").replace("/", "_")
    task = job.task.replace(":", "-").replace("/", "_")
    return out / "logs" / task / f"{safe}-b{job.budget_s:g}-s{job.seed}-{job.key[:8]}.log"


def exec_job(job: Job, prep: Prepared, cfg: RunConfig, out: Path) -> ExecJob:
    """What an executor runs for ``job``: its sandbox job (cores chosen later) and its log's path."""
    sandbox = SandboxJob(
        adapter=job.adapter,
        task=prep.task,
        data_dir=str(prep.data_dir),
        budget_s=job.budget_s,
        seed=job.seed,
        cores=job.cores,
        memory_gb=job.memory_gb,
        startup_limit_s=cfg.startup_limit_s,
        isolate=cfg.isolate,
        hide=isolate.hidden_paths(prep.dataset.spec, cfg.data_dir) if cfg.isolate else (),
    )
    return ExecJob(job, sandbox, log_path_for(out, job))


def record_of(ej: ExecJob, prep: Prepared, outcome: Outcome) -> RunRecord:
    """The run record of a job that ran, from its outcome: one way, whichever executor ran it."""
    rec = _base_record(ej.job, prep)
    rec.started_at = _iso(outcome.where.get("start"))
    rec.ended_at = _iso(outcome.where.get("end"))
    finish_record(rec, ej.job, prep, outcome.result, ej.log_path)
    rec.task_info["exec"] = {**outcome.where, "isolated": ej.sandbox.isolate}
    return rec


def run_job(job: Job, prep: Prepared, cfg: RunConfig, out: Path) -> RunRecord:
    """Run one job on this machine and score it; always returns a record."""
    ej = exec_job(job, prep, cfg, out)
    with LocalExecutor(1, job.cores) as executor:
        for _, outcome in executor.run([ej]):
            return record_of(ej, prep, outcome)
    raise AssertionError("the executor returned no outcome")  # run yields one per job


def finish_record(rec: RunRecord, job: Job, prep: Prepared, res: SandboxResult, log_path: Path) -> RunRecord:
    """Fill ``rec`` from the sandbox's result and score its predictions (here, never in the child)."""
    rec.status, rec.reason = res.status, res.reason
    rec.startup_s, rec.fit_s, rec.predict_s = res.startup_s, res.fit_s, res.predict_s
    rec.cpu_s, rec.peak_mem_mb = res.cpu_s, res.peak_mem_mb
    rec.fit_cpu_s, rec.cpu_use, rec.cpu_method, rec.energy_j = (
        res.fit_cpu_s,
        res.cpu_use,
        res.cpu_method,
        res.energy_j,
    )
    rec.overrun = (res.fit_s / job.budget_s) if res.fit_s is not None else None
    rec.best_config, rec.versions = res.best_config, res.versions
    rec.trials = res.trials
    rec.n_trials = len(res.trials)
    rec.log_path = str(log_path)
    rec.valid_score = _best_valid(res.trials, prep.dataset.metric)
    if res.status == "ok":
        try:
            y_pred, proba = check_predictions(
                prep.dataset.problem_type, len(prep.y_test), prep.n_classes, res.y_pred, res.proba
            )
            rec.metrics = score(prep.dataset.problem_type, prep.y_test, y_pred, proba, prep.n_classes)
            rec.test_score = rec.metrics.get(prep.dataset.metric)
            n_valid = len(prep.split.valid)
            leak = leakage.check(
                prep.dataset.metric, rec.valid_score, rec.test_score, n_valid, prep.y_test, y_pred, proba
            )
            if leak is not None:
                rec.task_info["leakage"] = leak
        except BadPredictions as exc:
            rec.status, rec.reason = "failed", f"bad predictions: {exc}"
    return rec


def _best_valid(trials: list[dict], metric: str) -> float | None:
    from tasks.metrics import METRICS

    scores = [
        t["valid_score"] for t in trials if t.get("valid_score") is not None and t.get("status", "ok") == "ok"
    ]
    if not scores:
        return None
    m = METRICS.get(metric)
    return max(scores) if (m is None or m.greater_is_better) else min(scores)
