"""Shared helpers for the real-engine tests: one adapter life cycle, or check_adapter, in a child process.

``run_engine`` writes ``ENGINE_SCRIPT`` to ``tmp_path`` and runs it in a fresh Python process, as
the harness's child would: the script runs the adapter through ``adapters.testing.run_adapter``
(check_task, start, fit, predict, close on ``adapters.testing.load_task``), records the processes and
listening ports of its tree while it runs, and writes ``adapters.testing.result_as_json`` (whose
``contract`` is the verdict of the same checks ``check_adapter`` makes). ``check_contract`` then
asserts that verdict, what only engines promise (families and configurations in the trial log),
and that nothing of the engine outlives the child. ``run_check_adapter`` runs
``adapters.testing.check_adapter`` itself in the child.
"""

from __future__ import annotations

import json
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
import importlib, json, os, sys, threading, time
import psutil

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
    module = importlib.import_module(mod)
    for name, value in spec.get("overrides", {}).items():  # calibration constants, for failure tests
        assert hasattr(module, name), name
        setattr(module, name, value)
    factory = getattr(module, cls)
    from adapters.testing import check_adapter, result_as_json, run_adapter
    out = {"me": [os.getpid(), os.getsid(0), os.getpgid(0)], "children": {}, "ports": []}
    stop = threading.Event()
    def watch():
        while not stop.wait(0.5):
            sessions, ports = tree_state()
            out["children"].update({str(k): v for k, v in sessions.items()})
            out["ports"] = sorted(set(out["ports"]) | ports)
    watcher = threading.Thread(target=watch, daemon=True)

    def started(adapter):
        if spec.get("pid_file"):  # tell the test our processes are up (it may kill us now)
            sessions, ports = tree_state()
            open(spec["pid_file"] + ".tmp", "w").write(json.dumps({"children": sessions, "ports": sorted(ports)}))
            os.replace(spec["pid_file"] + ".tmp", spec["pid_file"])
            time.sleep(600)
        watcher.start()

    if spec.get("mode") == "check_adapter":  # adapters.testing.check_adapter on one task
        watcher.start()
        try:
            results = check_adapter(
                factory, task=spec["task"], budget_s=spec["budget"], seed=spec["seed"], cores=spec["cores"],
                memory_gb=spec["memory_gb"],
            )
            out["contract"] = "ok"
            out["results"] = [
                {"task": r.task.name, "skipped": r.skipped, "fit_s": r.fit_s, "trials": len(r.trials),
                 "valid_score": r.valid_score, "test_score": r.test_score, "baseline_score": r.baseline_score}
                for r in results
            ]
        except AssertionError as exc:
            out["contract"] = f"violated: {exc}"
        except Exception as exc:
            out["contract"] = f"raised {type(exc).__name__}: {exc}"
    else:  # one life cycle, recorded; the test checks it (check_contract)
        res = run_adapter(
            factory, spec["task"], spec["budget"], spec["seed"], spec["cores"], memory_gb=spec["memory_gb"],
            tmp_dir=spec["tmp"], on_started=started, raise_errors=False,
        )
        out.update(result_as_json(res, spec["budget"]))
        out["status"] = "ok" if res.error is None and res.skipped is None else "failed"
        out["error"] = res.error or res.skipped
    stop.set()
    if watcher.is_alive():
        watcher.join()
    out["left_after_close"] = [p.pid for p in psutil.Process().children(recursive=True)]
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


def run_check_adapter(
    tmp_path: Path, adapter: str, task: str, budget_s: float, seed: int = 0, cores: int = 2
) -> dict[str, Any]:
    """``adapters.testing.check_adapter`` on one task in a fresh child; ``out["contract"]`` is its verdict."""
    return run_engine(tmp_path, adapter, task, budget_s, seed, cores, mode="check_adapter")


def check_contract(out: dict[str, Any], budget_s: float) -> float:
    """The adapter contract on one real run; returns the test score (the harness's scoring code)."""
    assert out["status"] == "ok", out.get("error")
    assert out["contract"] == "ok", out["contract"]  # adapters.testing.check_result in the child
    assert out["fit_s"] <= hard_deadline(budget_s), f"fit {out['fit_s']:.1f} s on a {budget_s} s budget"
    # what engines add to the contract: each trial names its family and configuration
    for t in out["trials"]:
        assert t["family"]
        assert t["config"]
        assert 0.0 <= t["fit_s"] <= out["fit_s"] + 1.0
        assert 0.0 < t["elapsed_s"] <= out["fit_s"] + 1.0
    assert out["best_config"]
    # nothing of the engine is left: no process, no listening port
    assert out["left_after_close"] == []
    assert all(closed(p) for p in out["ports"]), out["ports"]
    y_test, y_pred = np.asarray(out["y_test"]), np.asarray(out["y_pred"])
    proba = None if out["proba"] is None else np.asarray(out["proba"])
    return METRICS[out["metric"]].score(y_test, y_pred, proba, n_classes=out["n_classes"] or None)


def baseline(out: dict[str, Any]) -> float:
    """The test score of a constant prediction (the majority class with the class shares, or the mean)."""
    y = np.asarray(out["y_test"])
    metric = METRICS[out["metric"]]
    if out["problem_type"] == "regression":
        return metric.score(y, np.full(len(y), float(y.mean())))
    k = out["n_classes"]
    prior = np.bincount(y, minlength=k) / len(y)
    return metric.score(y, np.full(len(y), prior.argmax()), np.tile(prior, (len(y), 1)), n_classes=k)


def better(metric: str, a: float, b: float) -> bool:
    return a > b if METRICS[metric].greater_is_better else a < b
