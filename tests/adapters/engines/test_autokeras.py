"""AutoKeras adapter: its budget callback and real searches, each in a fresh child process.

Keras reads ``KERAS_BACKEND`` once, at its first import, so everything that imports keras runs
in a child process (a script in ``tmp_path``), never in the pytest process. The child runs the
adapter through ``adapters.testing`` from an empty working directory and reports what it
saw; the test checks the contract, the budget, that nothing was written outside the run's
workdir, and that no process was left behind.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from adapters.base import TaskInfo, TaskNotSupported
from adapters.engines.autokeras import AutoKerasAdapter
from tasks.metrics import METRICS
from tests import ROOT

SCRIPT = r"""
import json, os, sys
import psutil

def main():
    spec = json.load(open(sys.argv[1]))
    import adapters.engines.autokeras as mod
    for name, value in spec.get("overrides", {}).items():
        assert hasattr(mod, name), name
        setattr(mod, name, value)
    out = {}
    if spec.get("mode") == "callback":
        from adapters.base import FitContext
        mod.AutoKerasAdapter().start(FitContext(10.0, 0, 1, 1.0, spec["tmp"]))
        import copy, time
        cls = mod._budget_callback_class()
        cb = cls(time.monotonic() + 0.2, 100.0, lambda model: 0.5)
        out["same_after_deepcopy"] = copy.deepcopy([cb])[0] is cb
        class Model:
            stop_training = False
        cb.set_model(Model())
        cb.on_train_batch_end(0)
        out["stopped_before"] = cb.model.stop_training
        time.sleep(0.3)
        cb.on_train_batch_end(1)
        out["stopped_after"] = cb.model.stop_training
        json.dump(out, open(spec["out"], "w"))
        return
    from adapters.testing import result_as_json, run_adapter
    try:
        res = run_adapter(mod.AutoKerasAdapter, spec["task"], spec["budget"], spec["seed"], cores=2)
        out["status"] = "ok"
    except Exception as exc:
        out["status"], out["error"] = "failed", f"{type(exc).__name__}: {exc}"
        res = None
    if res is not None:
        out.update(result_as_json(res, spec["budget"]))
    out["children_left"] = [p.pid for p in psutil.Process().children(recursive=True)]
    json.dump(out, open(spec["out"], "w"), default=str)

if __name__ == "__main__":
    main()
"""


def run_child(tmp_path: Path, timeout_s: float, **spec: Any) -> dict[str, Any]:
    """Run the script with ``spec`` from an empty working directory; return its JSON report."""
    (tmp_path / "run_ak.py").write_text(SCRIPT)
    spec.setdefault("seed", 0)
    spec.update(tmp=str(tmp_path), out=str(tmp_path / "out.json"))
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    env = dict(os.environ, KERAS_BACKEND="torch")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    cmd = [sys.executable, str(tmp_path / "run_ak.py"), str(tmp_path / "spec.json")]
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout_s)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads((tmp_path / "out.json").read_text())
    out["cwd_files"] = sorted(str(p.relative_to(cwd)) for p in cwd.rglob("*"))
    return out


def check_run(out: dict[str, Any], budget_s: float) -> float:
    """The contract, the budget and the clean-up of one real run; returns the test score."""
    assert out["status"] == "ok", out.get("error")
    assert out["contract"] == "ok", out["contract"]
    assert out["fit_s"] <= 1.05 * budget_s, f"fit {out['fit_s']:.1f} s on a {budget_s} s budget"
    assert out["children_left"] == []
    assert out["cwd_files"] == []  # the tuner's project lives in the run's workdir only
    trials = out["trials"]
    assert all(t["family"] in ("mlp", "cnn") for t in trials)
    for t in trials:  # every trial carries its loss curve, one point per epoch
        assert len(t["curve"]["train_loss"]) == len(t["curve"]["valid_loss"]) >= 1
    y, pred = np.asarray(out["y_test"]), np.asarray(out["y_pred"])
    proba = None if out["proba"] is None else np.asarray(out["proba"])
    return METRICS[out["metric"]].score(y, pred, proba)


# --- quick checks ----------------------------------------------------------------------------


def test_check_task_refuses_what_autokeras_cannot_do() -> None:
    adapter = AutoKerasAdapter()
    adapter.check_task(TaskInfo("t", "binary", "roc_auc", ("a", "b")))
    adapter.check_task(TaskInfo("t", "multiclass", "accuracy", tuple("abc"), image_shape=(28, 28, 1)))
    adapter.check_task(TaskInfo("t", "regression", "mae"))
    with pytest.raises(TaskNotSupported, match="ranking"):
        adapter.check_task(TaskInfo("t", "ranking", "ndcg"))  # type: ignore[arg-type]
    with pytest.raises(TaskNotSupported, match="accuracy"):
        adapter.check_task(TaskInfo("t", "regression", "accuracy"))
    with pytest.raises(TaskNotSupported, match="too small"):
        adapter.check_task(TaskInfo("t", "multiclass", "accuracy", tuple("abc"), image_shape=(4, 4, 1)))


@pytest.mark.slow
def test_budget_callback_survives_deepcopy_and_stops_at_the_deadline(tmp_path: Path) -> None:
    out = run_child(tmp_path, 120, mode="callback", task="", budget=0)
    assert out["same_after_deepcopy"]  # keras-tuner's per-trial copies share one deadline
    assert out["stopped_before"] is False
    assert out["stopped_after"] is True


# --- real AutoKeras searches -----------------------------------------------------------------


@pytest.mark.engine
@pytest.mark.parametrize(("task", "budget_s"), [("breast_cancer", 25.0), ("diabetes", 25.0)])
def test_autokeras_keeps_the_contract_on_tables(tmp_path: Path, task: str, budget_s: float) -> None:
    out = run_child(tmp_path, budget_s + 180, task=task, budget=budget_s)
    score = check_run(out, budget_s)
    y = np.asarray(out["y_test"])
    if out["metric"] == "roc_auc":
        assert score > 0.9, score
    else:
        assert score < float(np.std(y)), (score, np.std(y))
    assert {t["family"] for t in out["trials"]} == {"mlp"}
    assert out["best_config"]["block"].startswith("structured")
    assert len(out["trials"]) >= 2  # the budget was split into several trials


@pytest.mark.engine
def test_autokeras_searches_plain_conv_nets_on_images(tmp_path: Path) -> None:
    out = run_child(tmp_path, 25.0 + 180, task="digits", budget=25.0)
    score = check_run(out, 25.0)
    assert score > 0.8, score
    keys = {k for t in out["trials"] for k in t["config"]}
    assert any("conv_block" in k for k in keys), keys
    assert not any(word in k for k in keys for word in ("resnet", "xception", "efficient", "pretrained"))
    assert {t["family"] for t in out["trials"]} == {"cnn"}


@pytest.mark.engine
def test_no_model_in_time_fails_with_the_reason(tmp_path: Path) -> None:
    """Every trial fails (a batch size of 0): fit raises, naming the error, without hanging."""
    out = run_child(tmp_path, 180, task="breast_cancer", budget=20.0, overrides={"BATCH_SIZE": 0})
    assert out["status"] == "failed"
    assert "AutoKeras finished no epoch" in out["error"], out["error"]
    assert out["children_left"] == []


@pytest.mark.engine
def test_autokeras_passes_check_adapter_on_the_generated_regression_task(tmp_path: Path) -> None:
    """adapters.testing.check_adapter in a child: standardised targets back in RMSE for valid scores."""
    from tests.adapters.engines.engine_contract import run_check_adapter

    out = run_check_adapter(tmp_path, "adapters.engines.autokeras:AutoKerasAdapter", "regression", 15.0)
    assert out["contract"] == "ok", out["contract"]
    assert [r["task"] for r in out["results"]] == ["regression"]
    assert out["left_after_close"] == []
