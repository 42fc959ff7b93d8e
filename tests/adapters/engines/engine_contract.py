"""Shared helpers for the real-engine tests (FLAML, TPOT): one adapter life cycle in a child process.

``run_engine`` writes ``ENGINE_SCRIPT`` to ``tmp_path`` and runs it in a fresh Python process, as
the harness's child would: the script runs start/fit/predict/close, records the processes and
listening ports of its tree while it fits, and writes a JSON result. ``check_contract`` then scores
the predictions here (with ``tasks.metrics``, as the harness does) and checks the trial log and
that nothing of the engine outlives the child.
"""

from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np

from tasks.metrics import METRICS
from tests import ROOT

ENGINE_SCRIPT = r"""
import importlib, json, os, socket, sys, tempfile, threading, time
import numpy as np, psutil

def load(name, seed):
    from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits
    from sklearn.model_selection import train_test_split
    from adapters.base import FitData, TaskInfo
    loader = {"breast_cancer": load_breast_cancer, "diabetes": load_diabetes, "digits": load_digits}[name]
    X, y = loader(return_X_y=True, as_frame=True)
    X.columns = [str(c) for c in X.columns]
    y = y.to_numpy()
    reg = name == "diabetes"
    Xa, Xte, ya, yte = train_test_split(X, y, test_size=0.2, random_state=seed, stratify=None if reg else y)
    Xtr, Xva, ytr, yva = train_test_split(Xa, ya, test_size=0.25, random_state=seed, stratify=None if reg else ya)
    if reg:
        task = TaskInfo(name, "regression", "rmse")
    else:
        k = int(y.max()) + 1
        task = TaskInfo(name, "binary" if k == 2 else "multiclass", "accuracy", tuple(map(str, range(k))))
    fit = FitData(Xtr.reset_index(drop=True), ytr, Xva.reset_index(drop=True), yva, task)
    return fit, Xte.reset_index(drop=True), yte

def tree_state():
    me = psutil.Process()
    procs = [me, *me.children(recursive=True)]
    pids = {p.pid for p in procs}
    ports = set()
    for c in psutil.net_connections(kind="tcp"):
        if c.pid in pids and c.status == psutil.CONN_LISTEN:
            ports.add(c.laddr.port)
    sessions = {}
    for p in procs[1:]:
        try:
            sessions[p.pid] = [os.getsid(p.pid), os.getpgid(p.pid)]
        except OSError:
            pass
    return sessions, ports

def main():
    spec = json.load(open(sys.argv[1]))
    mod, cls = spec["adapter"].split(":")
    data, X_test, y_test = load(spec["task"], spec["seed"])
    module = importlib.import_module(mod)
    for name, value in spec.get("overrides", {}).items():  # calibration constants, for failure tests
        assert hasattr(module, name), name
        setattr(module, name, value)
    adapter = getattr(module, cls)()
    adapter.check_task(data.task)
    from adapters.base import FitContext
    workdir = tempfile.mkdtemp(dir=spec["tmp"])
    ctx = FitContext(spec["budget"], spec["seed"], spec["cores"], spec["memory_gb"], workdir)
    out = {"me": [os.getpid(), os.getsid(0), os.getpgid(0)], "children": {}, "ports": []}
    t0 = time.monotonic()
    adapter.start(ctx)
    out["startup_s"] = time.monotonic() - t0
    if spec.get("pid_file"):  # tell the test our processes are up (it may kill us now)
        sessions, ports = tree_state()
        open(spec["pid_file"] + ".tmp", "w").write(json.dumps({"children": sessions, "ports": sorted(ports)}))
        os.replace(spec["pid_file"] + ".tmp", spec["pid_file"])
        time.sleep(600)
    stop = threading.Event()
    def watch():
        while not stop.wait(0.5):
            sessions, ports = tree_state()
            out["children"].update({str(k): v for k, v in sessions.items()})
            out["ports"] = sorted(set(out["ports"]) | ports)
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    trials = []
    fit_start = time.monotonic()
    ctx = FitContext(ctx.budget_s, ctx.seed, ctx.cores, ctx.memory_gb, workdir, fit_start=fit_start)
    try:
        adapter.fit(data, ctx, trials.append)
        out["fit_s"] = time.monotonic() - fit_start
        out["y_pred"] = np.asarray(adapter.predict(X_test)).tolist()
        proba = adapter.predict_proba(X_test) if data.task.is_classification else None
        out["proba"] = None if proba is None else np.asarray(proba).tolist()
        out["best_config"] = adapter.best_config()
        out["status"] = "ok"
    except Exception as exc:
        out["fit_s"] = time.monotonic() - fit_start
        out["status"], out["error"] = "failed", f"{type(exc).__name__}: {exc}"
    finally:
        stop.set()
        watcher.join()
        adapter.close()
    out["left_after_close"] = [p.pid for p in psutil.Process().children(recursive=True)]
    out["trials"] = [t.__dict__ for t in trials]
    out["y_test"] = np.asarray(y_test).tolist()
    out["problem_type"] = data.task.problem_type
    out["metric"] = data.task.metric
    out["n_classes"] = len(data.task.classes)
    json.dump(out, open(spec["out"], "w"), default=str)

if __name__ == "__main__":
    main()
"""


def hard_deadline(budget_s: float) -> float:
    return budget_s + max(5.0, 0.1 * budget_s)


def engine_spec(
    tmp_path: Path, adapter: str, task: str, budget_s: float, seed: int = 0, cores: int = 2, **extra: Any
) -> list[str]:
    """Write the script and its spec to ``tmp_path``; return the command that runs them."""
    script = tmp_path / "run_engine.py"
    script.write_text(ENGINE_SCRIPT)
    spec = {
        "adapter": adapter,
        "task": task,
        "budget": budget_s,
        "seed": seed,
        "cores": cores,
        "memory_gb": 4.0,
        "tmp": str(tmp_path),
        "out": str(tmp_path / "out.json"),
        **extra,
    }
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    return [sys.executable, str(script), str(tmp_path / "spec.json")]


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def run_engine(
    tmp_path: Path, adapter: str, task: str, budget_s: float, seed: int = 0, cores: int = 2, **extra: Any
) -> dict[str, Any]:
    """Run one adapter life cycle in a fresh child process; return what it recorded."""
    proc = subprocess.run(
        engine_spec(tmp_path, adapter, task, budget_s, seed, cores, **extra),
        cwd=ROOT,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=hard_deadline(budget_s) + 120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads((tmp_path / "out.json").read_text())


def closed(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1.0)
        return s.connect_ex(("127.0.0.1", port)) != 0


def check_contract(out: dict[str, Any], budget_s: float) -> float:
    """The adapter contract on one real run; returns the test score."""
    assert out["status"] == "ok", out.get("error")
    assert out["fit_s"] <= hard_deadline(budget_s), f"fit {out['fit_s']:.1f} s on a {budget_s} s budget"
    # predictions, scored here as the harness scores them
    y_test = np.asarray(out["y_test"])
    y_pred = np.asarray(out["y_pred"])
    assert y_pred.shape == y_test.shape
    metric = METRICS[out["metric"]]
    proba = None
    if out["problem_type"] != "regression":
        assert np.issubdtype(y_pred.dtype, np.integer)
        assert set(np.unique(y_pred)) <= set(range(out["n_classes"]))
        proba = np.asarray(out["proba"])
        assert proba.shape == (len(y_test), out["n_classes"])
        assert np.allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    score = metric.score(y_test, y_pred, proba, n_classes=out["n_classes"] or None)
    # the trial log: non-empty, in order, inside the fit, scores in the metric's units
    trials = out["trials"]
    assert trials, "no trial logged"
    ok = [t for t in trials if t["status"] == "ok"]
    assert ok, "no successful trial"
    for t in trials:
        assert t["family"]
        assert t["config"]
        assert 0.0 <= t["fit_s"] <= out["fit_s"] + 1.0
        assert 0.0 < t["elapsed_s"] <= out["fit_s"] + 1.0
    for t in ok:
        assert math.isfinite(t["valid_score"])
    elapsed = [t["elapsed_s"] for t in trials]
    assert elapsed == sorted(elapsed)
    assert out["best_config"]
    # nothing of the engine is left: no process, no listening port
    assert out["left_after_close"] == []
    assert all(closed(p) for p in out["ports"]), out["ports"]
    return score


def baseline(out: dict[str, Any]) -> float:
    """The test score of a constant prediction (majority class, or the mean)."""
    y = np.asarray(out["y_test"])
    metric = METRICS[out["metric"]]
    if out["problem_type"] == "regression":
        return metric.score(y, np.full(len(y), float(y.mean())))
    return metric.score(y, np.full(len(y), np.bincount(y).argmax()))


def better(metric: str, a: float, b: float) -> bool:
    return a > b if METRICS[metric].greater_is_better else a < b
