"""Adapters that misbehave on purpose, installed as a plugin through an entry point by the tests.

This module is copied next to a generated ``*.dist-info`` so that ``importlib.metadata`` finds its
entry points exactly as it would for a pip-installed outside package.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

import numpy as np
import pandas as pd

from adapters.base import Adapter, FitContext, FitData, Trial, TrialLogger

if os.environ.get("HARNESS_TEST_IMPORT_MARK"):  # lets a test see whether this plugin was imported
    with open(os.environ["HARNESS_TEST_IMPORT_MARK"], "a") as _fh:
        _fh.write("imported\n")


class _Majority(Adapter):
    """Predicts the majority class of train (or the mean for regression)."""

    description = "test adapter"

    def fit(self, data: FitData, ctx: FitContext, log: TrialLogger) -> None:
        self.k = max(len(data.task.classes), 1)
        self.value = np.bincount(data.y_train.astype(int)).argmax() if data.task.is_classification else 0.0
        log(Trial(config={"rule": "majority"}, valid_score=0.5, fit_s=0.0))

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return np.full(len(X), self.value)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray | None:
        p = np.zeros((len(X), self.k))
        p[:, int(self.value)] = 1.0
        return p

    def best_config(self) -> dict:
        return {"rule": "majority"}


class Good(_Majority):
    pass


class SleepPastDeadline(_Majority):
    def fit(self, data: FitData, ctx: FitContext, log: TrialLogger) -> None:
        log(Trial(config={"n": 1}, valid_score=0.6, fit_s=0.1))
        time.sleep(3600)


class IgnoreTerm(_Majority):
    def fit(self, data: FitData, ctx: FitContext, log: TrialLogger) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        while True:
            time.sleep(0.1)


GRANDCHILD = (
    "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nwhile True: time.sleep(0.1)\n"
)


class GrandchildIgnoresTerm(_Majority):
    """Starts a grandchild in its own session that ignores SIGTERM, then hangs."""

    def fit(self, data: FitData, ctx: FitContext, log: TrialLogger) -> None:
        p = subprocess.Popen([sys.executable, "-c", GRANDCHILD], start_new_session=True)
        with open(os.path.join(ctx.workdir, "grandchild.pid"), "w") as fh:
            fh.write(str(p.pid))
        print(f"GRANDCHILD_PID={p.pid}", flush=True)
        time.sleep(3600)


class OrphanGrandchild(_Majority):
    """Double-forks a daemon that outlives the adapter, then returns normally."""

    def fit(self, data: FitData, ctx: FitContext, log: TrialLogger) -> None:
        super().fit(data, ctx, log)
        code = (
            "import os, subprocess, sys\n"
            f"p = subprocess.Popen([sys.executable, '-c', {GRANDCHILD!r}], start_new_session=True,\n"
            "                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
            "print(p.pid, flush=True)\n"
        )
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        print(f"GRANDCHILD_PID={out.stdout.strip()}", flush=True)


class MemoryHog(_Majority):
    def fit(self, data: FitData, ctx: FitContext, log: TrialLogger) -> None:
        blocks = []
        while True:
            blocks.append(np.ones(50 * 2**20 // 8))  # 50 MB, touched
            time.sleep(0.02)


class RaiseInFit(_Majority):
    def fit(self, data: FitData, ctx: FitContext, log: TrialLogger) -> None:
        raise ValueError("the model exploded\nsecond line: boom")


class ExitMidFit(_Majority):
    def fit(self, data: FitData, ctx: FitContext, log: TrialLogger) -> None:
        log(Trial(config={"n": 1}, valid_score=0.7, fit_s=0.1))
        os._exit(3)


class Segfault(_Majority):
    def fit(self, data: FitData, ctx: FitContext, log: TrialLogger) -> None:
        import ctypes

        ctypes.string_at(0)


class WrongLength(_Majority):
    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return np.zeros(len(X) + 3)


class NaNPredictions(_Majority):
    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return np.full(len(X), np.nan)


class BadProba(_Majority):
    def predict_proba(self, X: pd.DataFrame) -> np.ndarray | None:
        return np.full((len(X), self.k), 0.9)


class Chatty(_Majority):
    def fit(self, data: FitData, ctx: FitContext, log: TrialLogger) -> None:
        line = "x" * 1023 + "\n"
        while True:
            sys.stdout.write(line * 1024)


class RaiseInPredict(_Majority):
    def predict(self, X: pd.DataFrame) -> np.ndarray:
        raise RuntimeError("predict is broken")


class WrongLabels(_Majority):
    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return np.full(len(X), 7)


class MovesAndMutates(_Majority):
    """Changes the working directory and the environment; must not disturb the harness."""

    def fit(self, data: FitData, ctx: FitContext, log: TrialLogger) -> None:
        os.chdir("/")
        os.environ["HARNESS_SANDBOX_ID"] = "changed"
        os.environ["PATH"] = "/nonexistent"
        os.environ.pop("HOME", None)
        super().fit(data, ctx, log)


class LabelThief(_Majority):
    """Looks everywhere it can reach for the test labels and reports what it found."""

    def fit(self, data: FitData, ctx: FitContext, log: TrialLogger) -> None:
        super().fit(data, ctx, log)
        found = []
        here = os.path.dirname(ctx.workdir)
        job = os.path.join(here, "job.json")
        data_dir = __import__("json").load(open(job))["data_dir"] if os.path.exists(job) else ""
        for root in {here, data_dir, os.path.dirname(data_dir)} - {""}:
            for dirpath, _dirs, files in os.walk(root):
                for f in files:
                    if "test" in f and not f.startswith("X_test"):
                        found.append(os.path.join(dirpath, f))
        self.found = sorted(found)
        self.n_test = (
            len(pd.read_parquet(os.path.join(data_dir, "X_test.parquet")).columns) if data_dir else -1
        )

    def best_config(self) -> dict:
        return {"found": self.found}


class _Cheat(_Majority):
    """Logs its honest majority-class valid score, then predicts what ``cheat`` finds (if anything)."""

    def fit(self, data: FitData, ctx: FitContext, log: TrialLogger) -> None:
        self.k = max(len(data.task.classes), 1)
        self.value = np.bincount(data.y_train.astype(int)).argmax()
        valid = float(np.mean(data.y_valid == self.value))
        log(Trial(config={"rule": "majority"}, valid_score=valid, fit_s=0.0))
        self.found: Any = None  # the test labels, or a function of the test features that gives them
        self.error = ""
        try:
            self.found = self.cheat(data, ctx)
        except Exception as exc:  # noqa: BLE001 - nothing found: the honest guess stays
            self.error = f"{type(exc).__name__}: {exc}"[:200]

    def cheat(self, data: FitData, ctx: FitContext) -> Any:
        raise NotImplementedError

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        found = self.found(X) if callable(self.found) else self.found
        if found is not None and len(found) == len(X):
            return np.asarray(found)
        return super().predict(X)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray | None:
        p = np.zeros((len(X), self.k))
        p[np.arange(len(X)), self.predict(X).astype(int)] = 1.0
        return p

    def best_config(self) -> dict:
        return {"found": self.found is not None, "error": self.error}


class LabelRebuilder(_Cheat):
    """Loads the task named in ``data.task.name`` with the harness's loaders and re-makes its split."""

    def cheat(self, data: FitData, ctx: FitContext) -> Any:
        from tasks.files import read_table
        from tasks.loading import load_dataset
        from tasks.registry import get_task
        from tasks.splits import make_split

        name = data.task.name
        target = None
        if name.startswith("csv:"):  # the target is the column the adapter was not given
            columns = read_table(__import__("pathlib").Path(name[4:]))[0].columns
            target = next(c for c in columns if c not in set(data.X_train.columns))
        ds = load_dataset(get_task(name, target=target))
        return np.asarray(ds.y[make_split(ds, ctx.seed).test])


class CsvReader(_Cheat):
    """Reads the user's original CSV (``csv:PATH``) and looks each test row up in it by its features."""

    def cheat(self, data: FitData, ctx: FitContext) -> Any:
        frame = pd.read_csv(data.task.name[4:])
        features = [c for c in frame.columns if c in set(data.X_train.columns)]
        target = next(c for c in frame.columns if c not in set(features))

        def keys(X: pd.DataFrame) -> list[str]:
            return list(X[features].astype(float).round(4).astype(str).agg("|".join, axis=1))

        label = dict(zip(keys(frame), frame[target].astype(str), strict=True))
        codes = {str(c): i for i, c in enumerate(data.task.classes)}
        return lambda X: np.asarray([codes[label[k]] for k in keys(X)])


class Probe(_Majority):
    """Reports what it can see: the paths in HARNESS_TEST_PROBE, its data dir's siblings, processes, network."""

    def fit(self, data: FitData, ctx: FitContext, log: TrialLogger) -> None:
        import json
        import socket

        super().fit(data, ctx, log)
        paths = [p for p in os.environ.get("HARNESS_TEST_PROBE", "").split(os.pathsep) if p]
        job = json.load(open(os.path.join(os.path.dirname(ctx.workdir), "job.json")))
        server = socket.socket()
        server.bind(("127.0.0.1", 0))
        server.listen()
        socket.create_connection(server.getsockname(), timeout=5).close()  # the loopback works
        server.close()
        self.seen = {
            "visible": [  # what holds anything: a hidden directory is empty, a hidden file reads empty
                p
                for p in paths
                if (os.path.isdir(p) and os.listdir(p)) or (os.path.isfile(p) and os.path.getsize(p))
            ],
            "data_siblings": sorted(os.listdir(os.path.dirname(job["data_dir"]))),
            "interfaces": sorted(name for _, name in socket.if_nameindex()),
            "processes": len([p for p in os.listdir("/proc") if p.isdigit()]),
            "home": sorted(os.listdir(os.path.expanduser("~"))),
        }

    def best_config(self) -> dict:
        return self.seen


class NotAnAdapter:
    """Does not implement the protocol."""


ENTRY_POINTS = {
    "t-good": "Good",
    "t-sleep": "SleepPastDeadline",
    "t-ignoreterm": "IgnoreTerm",
    "t-grandchild": "GrandchildIgnoresTerm",
    "t-orphan": "OrphanGrandchild",
    "t-memory": "MemoryHog",
    "t-raise": "RaiseInFit",
    "t-exit": "ExitMidFit",
    "t-segfault": "Segfault",
    "t-wronglength": "WrongLength",
    "t-nan": "NaNPredictions",
    "t-badproba": "BadProba",
    "t-chatty": "Chatty",
    "t-raisepredict": "RaiseInPredict",
    "t-wronglabels": "WrongLabels",
    "t-mutates": "MovesAndMutates",
    "t-thief": "LabelThief",
    "t-notadapter": "NotAnAdapter",
}


class BusyFullBudget(_Majority):
    """Sleeps exactly its budget, then predicts the majority class: a run that uses all of B."""

    def fit(self, data: FitData, ctx: FitContext, log: TrialLogger) -> None:
        super().fit(data, ctx, log)
        time.sleep(max(0.0, ctx.remaining()))


ENTRY_POINTS["t-busy"] = "BusyFullBudget"
ENTRY_POINTS["t-rebuild"] = "LabelRebuilder"
ENTRY_POINTS["t-readcsv"] = "CsvReader"
ENTRY_POINTS["t-probe"] = "Probe"


class LgbmTuner(Adapter):
    """A well-behaved plugin, as the README's example: LightGBM over a few sizes, scored with task.score.

    Each trial fits on train and scores on valid in the task's own metric (``data.task.score``); it
    stops when the time left would not hold another trial and the refit; the best size is refitted
    on train+valid. ``adapters.testing.check_adapter`` passes it on every problem type.
    """

    requires = ("lightgbm",)
    description = "test plugin: LightGBM over num_leaves, valid scores from data.task.score"

    def start(self, ctx: FitContext) -> None:
        import lightgbm  # start-up, not charged to the budget

        self.lgb = lightgbm

    def _model(self, data: FitData, ctx: FitContext, num_leaves: int) -> Any:  # a LightGBM estimator
        cls = self.lgb.LGBMClassifier if data.task.is_classification else self.lgb.LGBMRegressor
        return cls(
            n_estimators=100,
            learning_rate=0.05,
            num_leaves=num_leaves,
            random_state=ctx.seed,
            n_jobs=ctx.cores,
            verbosity=-1,
        )

    def fit(self, data: FitData, ctx: FitContext, log: TrialLogger) -> None:
        task = data.task
        best: tuple[float, int] | None = None
        slowest = 0.0
        for num_leaves in (4, 8, 16, 32):
            if best is not None and ctx.remaining() < 3 * slowest:  # this trial and the refit must fit
                break
            t0 = time.monotonic()
            model = self._model(data, ctx, num_leaves).fit(data.X_train, data.y_train)
            proba = model.predict_proba(data.X_valid) if task.is_classification else None
            score = task.score(data.y_valid, model.predict(data.X_valid), proba)
            fit_s = time.monotonic() - t0
            slowest = max(slowest, fit_s)
            log(Trial(config={"num_leaves": num_leaves}, valid_score=score, fit_s=fit_s, family="lightgbm"))
            if best is None or (score > best[0] if task.greater_is_better else score < best[0]):
                best = (score, num_leaves)
        assert best is not None
        self.config = {"num_leaves": best[1]}
        X, y = data.train_valid()
        self.model = self._model(data, ctx, best[1]).fit(X, y)
        self.is_classification = task.is_classification

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.model.predict(X))

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray | None:
        return np.asarray(self.model.predict_proba(X)) if self.is_classification else None

    def best_config(self) -> dict:
        return dict(self.config)


ENTRY_POINTS["t-lgbm"] = "LgbmTuner"


SPIN = (
    "import sys, time\nend = time.time() + {seconds!r}\nwhile time.time() < end: pass\n"
    "if len(sys.argv) > 1: open(sys.argv[1], 'w').write(str(time.process_time()))\n"
)


def _spin_until(end: float) -> None:
    while time.time() < end:
        pass


def _children_cpu() -> float:
    import resource

    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


class _Spinner(_Majority):
    """Reports the CPU seconds its spinning took by its own count (``best_config["spun_cpu_s"]``)."""

    spun = 0.0

    def best_config(self) -> dict:
        return {"spun_cpu_s": self.spun}


class SpinOneThread(_Spinner):
    """Keeps one thread busy for its whole budget: on 2 cores, CPU use about 0.5."""

    def fit(self, data: FitData, ctx: FitContext, log: TrialLogger) -> None:
        super().fit(data, ctx, log)
        t0 = time.process_time()
        _spin_until(time.time() + ctx.remaining())
        self.spun = time.process_time() - t0


class SpinTwoProcesses(_Spinner):
    """Keeps itself and a child process busy for its whole budget: on 2 cores, CPU use about 1."""

    def fit(self, data: FitData, ctx: FitContext, log: TrialLogger) -> None:
        super().fit(data, ctx, log)
        t0, c0 = time.process_time(), _children_cpu()
        seconds = ctx.remaining()
        child = subprocess.Popen([sys.executable, "-c", SPIN.format(seconds=seconds)])
        _spin_until(time.time() + seconds)
        child.wait()
        self.spun = time.process_time() - t0 + _children_cpu() - c0


class SpinChildThenSleep(_Spinner):
    """A child process spins for 1.5 s and exits (reaped), then the adapter sleeps out its budget."""

    def fit(self, data: FitData, ctx: FitContext, log: TrialLogger) -> None:
        super().fit(data, ctx, log)
        c0 = _children_cpu()
        subprocess.run([sys.executable, "-c", SPIN.format(seconds=1.5)], check=True)
        self.spun = _children_cpu() - c0
        time.sleep(max(0.0, ctx.remaining()))


class SpinOrphanThenSleep(_Spinner):
    """A daemon (double-forked, so init reaps it) spins for 2 s and exits; the adapter sleeps meanwhile."""

    def fit(self, data: FitData, ctx: FitContext, log: TrialLogger) -> None:
        super().fit(data, ctx, log)
        out = os.path.join(ctx.workdir, "orphan-cpu")
        code = (
            "import subprocess, sys\n"
            f"subprocess.Popen([sys.executable, '-c', {SPIN.format(seconds=2.0)!r}, {out!r}], "
            "start_new_session=True)\n"
        )
        subprocess.run([sys.executable, "-c", code], check=True)
        time.sleep(max(0.0, ctx.remaining()))
        if os.path.exists(out):
            with open(out) as fh:
                self.spun = float(fh.read() or 0.0)


ENTRY_POINTS["t-spin1"] = "SpinOneThread"
ENTRY_POINTS["t-spin2"] = "SpinTwoProcesses"
ENTRY_POINTS["t-spinchild"] = "SpinChildThenSleep"
ENTRY_POINTS["t-spinorphan"] = "SpinOrphanThenSleep"


class ThreadProbe(_Majority):
    """Reports what its process was given: thread-count variables, cores, thread pools, session."""

    def fit(self, data: FitData, ctx: FitContext, log: TrialLogger) -> None:
        from threadpoolctl import threadpool_info

        super().fit(data, ctx, log)
        code = "import os; print(os.environ.get('OMP_NUM_THREADS'), os.environ.get('HARNESS_SANDBOX_ID'))"
        started = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        self.seen = {
            "env": {
                v: os.environ.get(v) for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
            },
            "affinity": sorted(os.sched_getaffinity(0)),
            "pools": sorted({(i["internal_api"], i["num_threads"]) for i in threadpool_info()}),
            "session_leader": os.getsid(0) == os.getpid(),
            "cwd": os.getcwd(),
            "started_sees": started.stdout.split(),  # what a process the adapter starts is given
        }

    def best_config(self) -> dict:
        return self.seen


ENTRY_POINTS["t-threads"] = "ThreadProbe"
