"""Plan, prepare, run, score, store, report: the library function behind the CLI."""

from __future__ import annotations

import logging
import shutil
import socket
import tempfile
import time
from collections.abc import Callable, Generator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from adapters import registry
from adapters.base import TaskInfo, TaskNotSupported
from harness.config import Job, RunConfig
from harness.errors import HarnessError
from harness.execution.cores import Cancelled, leased_cores
from harness.execution.local_executor import LocalExecutor
from harness.execution.sandbox import (
    SandboxJob,
    SandboxResult,
    abort_all,
    aborted,
    reset_abort,
    run_in_sandbox,
)
from harness.lock import OutputLock
from harness.prepare import Prepared, cleanup, prepare
from harness.report.files import write_reports
from harness.scoring import BadPredictions, check_predictions, score
from harness.store import RunRecord, Store
from tasks.loading import Dataset, load_dataset
from tasks.registry import expand, get_task

log = logging.getLogger(__name__)


@dataclass
class Plan:
    jobs: list[Job]
    done: list[Job]
    adapters: list[str]
    unavailable: list[tuple[str, str]]
    skipped: dict[tuple[str, str], str] = field(default_factory=dict)  # (task, adapter) -> reason


JobCallback = Callable[[Job], None]
DoneCallback = Callable[[Job, RunRecord], None]


def resolve_adapters(requested: tuple[str, ...] | None) -> tuple[list[str], list[tuple[str, str]]]:
    """The adapters to run, and the unavailable built-ins left out (name, what to install)."""
    if requested is None:
        ok, missing = [], []
        for name in registry.builtin_names():
            st = registry.status(name)
            (ok if st.available else missing).append(name if st.available else (name, st.why))
        if not ok:
            raise HarnessError("no adapter can run here; install one, e.g. pip install '.[all]'")
        return ok, missing  # type: ignore[return-value]
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


def _task_info(ds: Dataset) -> TaskInfo:
    return TaskInfo(
        name=ds.spec.name,
        problem_type=ds.problem_type,  # type: ignore[arg-type]
        metric=ds.metric,
        classes=tuple(ds.classes),
        image_shape=ds.spec.image_shape,
    )


def load_datasets(cfg: RunConfig) -> dict[str, Dataset]:
    out: dict[str, Dataset] = {}
    for name in expand(list(cfg.tasks)):
        spec = get_task(name, target=cfg.target)
        ds = load_dataset(spec, cfg.data_dir)
        for note in ds.notes:
            log.info("%s: %s", spec.name, note)
        out[spec.name] = ds
    return out


def make_plan(
    cfg: RunConfig,
    datasets: dict[str, Dataset],
    store: Store,
    resolved: tuple[list[str], list[tuple[str, str]]] | None = None,
) -> Plan:
    adapters, unavailable = resolved or resolve_adapters(cfg.adapters)
    done_keys = store.done_keys()
    jobs, done, skipped = [], [], {}
    for tname, ds in datasets.items():
        info = _task_info(ds)
        for a in adapters:
            try:
                registry.create_adapter(a).check_task(info)
            except TaskNotSupported as exc:
                if cfg.adapters is not None and registry.split_name(a)[1] is not None:
                    raise HarnessError(f"adapter {a!r} does not fit task {tname!r}: {exc}") from None
                skipped[(tname, a)] = str(exc)
            except registry.AdapterLoadError as exc:
                raise HarnessError(str(exc)) from None
            except Exception as exc:  # noqa: BLE001 - a broken plugin is named, not a traceback
                raise HarnessError(
                    f"adapter {a!r} failed while checking task {tname!r}: {type(exc).__name__}: {exc}"
                ) from exc
            for budget in cfg.budgets:
                for seed in range(cfg.seeds):
                    job = Job(tname, a, seed, budget, cfg.cores, cfg.memory_gb, ds.fingerprint)
                    (done if job.key in done_keys else jobs).append(job)
    jobs.sort(key=lambda j: -j.budget_s)  # longest first, so a parallel suite ends early
    return Plan(jobs, done, adapters, unavailable, skipped)


def open_store(out: Path, fresh: bool) -> Store:
    db = out / "harness.db"
    if fresh and db.exists():
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        backup = out / f"harness.db.{stamp}.bak"
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
    resolved = resolve_adapters(cfg.adapters)
    with OutputLock(out):
        datasets = load_datasets(cfg)
        store = open_store(out, cfg.fresh)
        try:
            plan = make_plan(cfg, datasets, store, resolved)
            if on_plan:
                on_plan(plan)
            _execute(cfg, plan, datasets, store, out, on_start, on_done)
            write_reports(store, out)
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
    tmp_root = Path(tempfile.mkdtemp(prefix="harness-"))
    prepared: dict[tuple[str, int], Prepared] = {}
    try:
        for job in plan.jobs:
            k = (job.task, job.seed)
            if k not in prepared:
                prepared[k] = prepare(datasets[job.task], job.seed, tmp_root)

        def finish(job: Job, rec: RunRecord) -> None:
            if rec.status == "aborted":  # never stored: it runs again on resume
                return
            store.add_run(rec)
            if on_done:
                on_done(job, rec)

        runnable = []
        for job in plan.jobs:
            reason = plan.skipped.get((job.task, job.adapter))
            if reason is None:
                runnable.append(job)
                continue
            if on_start:
                on_start(job)
            finish(job, skipped_record(job, prepared[(job.task, job.seed)], reason))

        reset_abort()
        if cfg.executor == "dask":
            results = _run_dask(cfg, runnable, prepared, out, on_start)
        else:
            results = _run_local(cfg, runnable, prepared, out, on_start)
        try:
            for job, rec in results:
                finish(job, rec)
        except BaseException:  # Ctrl-C, or a store that cannot be written: stop every sandbox
            abort_all()
            raise
        finally:
            results.close()  # stops the executor: running sandboxes are killed, a cluster is closed
    finally:
        for prep in prepared.values():
            cleanup(prep)
        shutil.rmtree(tmp_root, ignore_errors=True)


def _run_local(
    cfg: RunConfig,
    jobs: list[Job],
    prepared: dict[tuple[str, int], Prepared],
    out: Path,
    on_start: JobCallback | None,
) -> Generator[tuple[Job, RunRecord], None, None]:
    def one(job: Job, core_ids: tuple[int, ...]) -> tuple[Job, RunRecord]:
        if on_start:
            on_start(job)
        prep = prepared[(job.task, job.seed)]
        asked = time.time()
        try:
            # the executor packs this command's jobs; the leases keep other commands off their cores
            with leased_cores(len(core_ids), aborted, prefer=core_ids) as ids:
                t0 = time.time()
                rec = run_job(job, prep, ids, cfg, out)
        except Cancelled:  # interrupted while waiting: not stored, it runs again on resume
            ids, t0 = core_ids, time.time()
            rec = _base_record(job, prep)
            rec.status, rec.reason = "aborted", "the harness was interrupted"
        rec.task_info["exec"] = {
            "executor": "local",
            "host": socket.gethostname(),
            "core_ids": list(ids),
            "waited_for_cores_s": round(t0 - asked, 2),
            "start": t0,
            "end": time.time(),
        }
        return job, rec

    executor = LocalExecutor(cfg.parallel, cfg.cores, abort=abort_all)
    yield from executor.run(jobs, one, cost=_cost, cores_of=lambda j: j.cores)


def _cost(job: Job) -> float:
    """Expected seconds of a job, for longest-first ordering: its budget plus start-up and predict."""
    return job.budget_s + 2.0


def _run_dask(
    cfg: RunConfig,
    jobs: list[Job],
    prepared: dict[tuple[str, int], Prepared],
    out: Path,
    on_start: JobCallback | None,
) -> Generator[tuple[Job, RunRecord], None, None]:
    from harness.execution.dask_executor import DaskExecutor, RemoteJob, data_bundle

    if not jobs:
        return
    with DaskExecutor(cfg.scheduler, cfg.parallel, cfg.cores) as executor:
        names: dict[tuple[str, int], str] = {}
        bundles: dict[str, dict[str, bytes]] = {}
        for k in {(j.task, j.seed) for j in jobs}:
            prep = prepared[k]
            names[k], bundles[names[k]] = data_bundle(prep.data_dir, prep.dataset.fingerprint, prep.seed)
        executor.publish(bundles)
        del bundles
        remote = [
            RemoteJob(
                job,
                asdict(sandbox_job(job, prepared[(job.task, job.seed)], (), cfg)),
                names[(job.task, job.seed)],
            )
            for job in jobs
        ]
        for job, outcome in executor.run(remote, on_start):
            prep = prepared[(job.task, job.seed)]
            rec = _base_record(job, prep)
            info = outcome.info
            rec.started_at = _iso(info.get("start"))
            rec.ended_at = _iso(info.get("end"))
            log_path = log_path_for(out, job)
            log_path.parent.mkdir(parents=True, exist_ok=True)
            log_path.write_bytes(outcome.log)
            finish_record(rec, job, prep, outcome.result, log_path)
            rec.task_info["exec"] = info
            yield job, rec


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
            **prep.task_info(),
            "n_rows": int(len(prep.dataset.X)),
            "n_cols": int(prep.dataset.X.shape[1]),
            "fingerprint": prep.dataset.fingerprint,
        },
        split=prep.split.describe(),
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


def sandbox_job(job: Job, prep: Prepared, core_ids: tuple[int, ...], cfg: RunConfig) -> SandboxJob:
    return SandboxJob(
        adapter=job.adapter,
        task=prep.task_info(),
        data_dir=str(prep.data_dir),
        budget_s=job.budget_s,
        seed=job.seed,
        cores=job.cores,
        memory_gb=job.memory_gb,
        core_ids=core_ids,
        startup_limit_s=cfg.startup_limit_s,
    )


def run_job(job: Job, prep: Prepared, core_ids: tuple[int, ...], cfg: RunConfig, out: Path) -> RunRecord:
    """Run one job in the sandbox and score it; always returns a record."""
    rec = _base_record(job, prep)
    rec.started_at = _now()
    log_path = log_path_for(out, job)
    t0 = time.monotonic()
    res = run_in_sandbox(sandbox_job(job, prep, core_ids, cfg), log_path)
    rec.ended_at = _now()
    finish_record(rec, job, prep, res, log_path)
    log.debug("%s finished in %.1f s: %s", job.label(), time.monotonic() - t0, rec.status)
    return rec


def finish_record(rec: RunRecord, job: Job, prep: Prepared, res: SandboxResult, log_path: Path) -> RunRecord:
    """Fill ``rec`` from the sandbox's result and score its predictions (here, never in the child)."""
    rec.status, rec.reason = res.status, res.reason
    rec.startup_s, rec.fit_s, rec.predict_s = res.startup_s, res.fit_s, res.predict_s
    rec.cpu_s, rec.peak_mem_mb = res.cpu_s, res.peak_mem_mb
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
