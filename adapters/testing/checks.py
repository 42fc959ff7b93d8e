"""The contract checks on one recorded run: each failure is one ``AssertionError`` saying what to do.

``check_result`` runs them in this order, stopping at the first problem:

1. the trial log: at least one trial, every one an ``adapters.base.Trial`` with a known status, ok
   trials with a finite ``valid_score`` and failed or pruned ones without, JSON configs, in order;
2. time: no trial logged past the budget plus slack (``budget_slack``) or after ``fit`` returned,
   and ``fit`` itself inside the budget plus slack;
3. predictions: one per test row; class codes 0..K-1 (integers) for classification, finite numbers
   for regression; probabilities of shape (n, K) in [0, 1] whose rows sum to 1 (and present when the
   task's metric needs them);
4. ``best_config``: a JSON-serialisable dict;
5. the valid score is in the task's metric (``check_valid_score``).
"""

from __future__ import annotations

import json
import math
from typing import Any, NoReturn

import numpy as np

from adapters.base import Trial
from adapters.testing.run import ContractResult, budget_slack

PROBA_SUM_TOLERANCE = 1e-4  # the harness refuses rows off by more than 1e-3
# How far (in units of max(|constant - test|, 0.5 x |constant - perfect|), see check_valid_score) a
# best valid score may lie beyond the model's test score (optimistic validation) and beyond the
# constant's (validated models weaker than the final refit). Measured on the generated tasks over 12
# seeds: correct adapters up to 0.42 beyond the test score (three or four trials on a 100-row
# holdout) and 0.04 beyond the constant (a tuner whose one trial hit a LightGBM min_child_samples
# cliff in its folds); wrong metrics at least 1.07 beyond (R² on RMSE), 0.35 (accuracy on log
# loss) and 0.5 (ROC-AUC on log loss).
VALID_SCORE_TOLERANCE = 0.75
WRONG_SIDE_MARGIN = 0.15
_PERFECT = {"log_loss": 0.0, "rmse": 0.0, "mae": 0.0}  # the others: 1.0
_RANGE = {  # the values each metric can take
    "log_loss": (0.0, math.inf),
    "rmse": (0.0, math.inf),
    "mae": (0.0, math.inf),
    "r2": (-math.inf, 1.0),
}  # the others: [0, 1]
HOW_TO_SCORE = (
    "compute each trial's valid_score with data.task.score(y_valid, y_pred, proba): the task's own "
    "metric, in its own direction"
)


def fail(res: ContractResult, problem: str, todo: str = "", cause: BaseException | None = None) -> NoReturn:
    """Raise the one ``AssertionError`` of a check: who, on what, what is wrong, what to do."""
    task = res.task
    where = f"{res.adapter_name} on task {task.name!r} ({task.problem_type}, metric {task.metric})"
    raise AssertionError(f"{where}: {problem}" + (f"; {todo}" if todo else "")) from cause


def check_result(res: ContractResult, budget_s: float) -> None:
    """Every check of the module docstring on one run; raises ``AssertionError`` at the first problem."""
    if res.skipped is not None:
        fail(res, f"skipped: check_task raised TaskNotSupported ({res.skipped})")
    if res.error is not None:
        fail(
            res,
            f"{res.phase} raised {res.error}",
            "the harness records such a run as failed (the adapter's traceback is the cause, above)",
            res.exception,
        )
    check_trials(res)
    check_time(res, budget_s)
    check_predictions(res)
    check_best_config(res)
    check_valid_score(res)


def check_trials(res: ContractResult) -> None:
    if not res.trials:
        fail(
            res,
            "no trial was logged",
            "call log(Trial(config, valid_score, fit_s)) inside fit as each trial ends",
        )
    last = 0.0
    for i, t in enumerate(res.trials):
        if not isinstance(t, Trial):
            fail(res, f"trial {i} is a {type(t).__name__}", "log adapters.base.Trial objects")
        if t.status not in ("ok", "failed", "pruned"):
            fail(res, f"trial {i} has status {t.status!r}", "use 'ok', 'failed' or 'pruned'")
        v = t.valid_score
        if t.status == "ok" and not (isinstance(v, int | float) and math.isfinite(v)):
            fail(
                res,
                f"trial {i} is 'ok' but its valid_score is {v!r} ({type(v).__name__})",
                "an ok trial carries a finite float in the task's metric (float(x) for numpy numbers); "
                "log a trial that could not be scored with status='failed' and valid_score=None",
            )
        if t.status != "ok" and v is not None:
            fail(
                res,
                f"trial {i} is {t.status!r} but has valid_score {v!r}",
                "only ok trials carry a score: set valid_score=None",
            )
        for what, value in (("config", t.config), ("curve", t.curve)):
            try:
                json.dumps(value)
            except (TypeError, ValueError) as exc:
                fail(
                    res,
                    f"trial {i}'s {what} is not JSON-serialisable ({exc})",
                    "use str, int, float, bool, None, lists and dicts (float(x) for numpy numbers)",
                )
        if not isinstance(t.config, dict):
            fail(res, f"trial {i}'s config is a {type(t.config).__name__}", "log a dict of hyperparameters")
        if not (isinstance(t.fit_s, int | float) and math.isfinite(t.fit_s) and t.fit_s >= 0):
            fail(res, f"trial {i} has fit_s {t.fit_s!r}", "fit_s is the seconds the trial took (>= 0)")
        if t.elapsed_s < last - 1e-6:
            fail(
                res,
                f"trial {i} ended at {t.elapsed_s:.2f} s, before trial {i - 1} ({last:.2f} s)",
                "log trials as they end, in the order they end",
            )
        last = t.elapsed_s
    if not any(t.status == "ok" for t in res.trials):
        errors = [t.error for t in res.trials if t.error]
        fail(res, f"none of {len(res.trials)} trials is 'ok' (last error: {errors[-1] if errors else None})")


def check_time(res: ContractResult, budget_s: float) -> None:
    allowed = budget_s + budget_slack(budget_s)
    for i, (t, at) in enumerate(zip(res.trials, res.logged_at, strict=False)):
        when = max(t.elapsed_s, at)
        if when > allowed:
            fail(
                res,
                f"trial {i} was logged {when:.2f} s after fit started, past the deadline: the budget is "
                f"{budget_s:g} s (+{budget_slack(budget_s):.1f} s slack)",
                "start a trial only when ctx.remaining() leaves time for it, and log each trial as it ends",
            )
    if res.logged_after_fit:
        fail(
            res,
            f"{res.logged_after_fit} trial(s) were logged after fit returned",
            "the harness records trials only while fit runs: log every trial before fit returns",
        )
    if res.trials and res.trials[-1].elapsed_s > res.fit_s + 1e-6:
        fail(
            res,
            f"the last trial says it ended at {res.trials[-1].elapsed_s:.2f} s, after fit returned "
            f"({res.fit_s:.2f} s)",
            "leave Trial.elapsed_s at 0 (the logger sets it) or measure it from ctx.fit_start",
        )
    if res.fit_s > allowed:
        fail(
            res,
            f"fit took {res.fit_s:.2f} s on a {budget_s:g} s budget (at most {allowed:.2f} s with slack)",
            "watch ctx.remaining() and stop in time, leaving room for the final refit",
        )


def check_predictions(res: ContractResult) -> None:
    task, n = res.task, len(res.y_test)
    if res.predictions is None:
        fail(res, "predict returned None", f"return a 1-d numpy array of {n} predictions")
    pred = np.asarray(res.predictions)
    if pred.shape != (n,):
        fail(
            res,
            f"predict returned shape {pred.shape} for {n} test rows",
            f"return one prediction per row: a 1-d array of length {n}",
        )
    if task.is_classification:
        k = len(task.classes)
        if pred.dtype.kind not in "iu":
            fail(
                res,
                f"predict returned {pred.dtype} values",
                f"classification predictions are integer class codes 0..{k - 1} (e.g. "
                "proba.argmax(axis=1)), not class names or floats",
            )
        bad = (pred < 0) | (pred >= k)
        if bad.any():
            labels = sorted({int(x) for x in pred[bad]})[:5]
            fail(
                res,
                f"predicted labels {labels} are not class codes 0..{k - 1} ({int(bad.sum())} of {n} rows)",
                "predict the codes that y_train holds, not 1-based labels or other encodings",
            )
        check_proba(res)
    else:
        if pred.dtype.kind not in "iuf":
            fail(res, f"predict returned {pred.dtype} values", "regression predictions are numbers")
        bad = ~np.isfinite(pred.astype(float))
        if bad.any():
            fail(res, f"{int(bad.sum())} of {n} predictions are NaN or infinite", "predict a finite number")


def check_proba(res: ContractResult) -> None:
    from tasks.metrics import METRICS

    task, n, k = res.task, len(res.y_test), len(res.task.classes)
    if res.proba is None:
        if METRICS[task.metric].needs_proba:
            fail(
                res,
                f"predict_proba returned None, but the task's metric {task.metric} needs probabilities",
                f"return a ({n}, {k}) array of class probabilities",
            )
        return
    try:
        p = np.asarray(res.proba, dtype=float)
    except (TypeError, ValueError) as exc:
        fail(res, f"predict_proba returned something that is not numbers ({exc})", "return a float array")
    if p.shape != (n, k):
        fail(
            res,
            f"predict_proba returned shape {p.shape}, expected ({n}, {k})",
            "one column per class code 0..K-1, also for binary tasks and classes absent from a fold",
        )
    if not np.all(np.isfinite(p)) or p.min() < -1e-6 or p.max() > 1 + 1e-6:
        fail(
            res,
            f"probabilities are outside [0, 1] (min {np.nanmin(p):.4g}, max {np.nanmax(p):.4g}) or not finite",
            "return probabilities, not logits or decision scores",
        )
    sums = p.sum(axis=1)
    off = np.abs(sums - 1.0) > PROBA_SUM_TOLERANCE
    if off.any():
        worst = int(np.argmax(np.abs(sums - 1.0)))
        fail(
            res,
            f"rows of predict_proba do not sum to 1 ({int(off.sum())} of {n} rows; row {worst} sums to "
            f"{sums[worst]:.4g})",
            "normalise each row (a softmax of logits, or p / p.sum(axis=1, keepdims=True))",
        )


def check_best_config(res: ContractResult) -> None:
    if not isinstance(res.best_config, dict):
        fail(res, f"best_config returned a {type(res.best_config).__name__}", "return a dict")
    try:
        json.dumps(res.best_config)
    except (TypeError, ValueError) as exc:
        fail(
            res,
            f"best_config is not JSON-serialisable ({exc})",
            "use str, int, float, bool, None, lists and dicts (float(x) for numpy numbers, str(obj) else)",
        )


def check_valid_score(res: ContractResult) -> None:
    """The best valid score is in the task's metric: between a constant's and the model's test scores.

    The checker knows the test labels, so it scores the final model on the test rows (``s``) and a
    constant prediction (majority class with the class shares as probabilities, or the mean: ``b``).
    With ``scale = max(|b - s|, 0.5 x |b - perfect|)``, the best valid score ``v`` must lie
    between ``b`` and ``s``, widened by ``VALID_SCORE_TOLERANCE x scale`` beyond the better of the
    two (validation is noisy, and the best of many trials is optimistic) and by
    ``WRONG_SIDE_MARGIN x scale`` beyond the worse (validated models may be weaker than the final
    refit, but not clearly worse than a constant). It must also lie in the metric's range.

    What lands outside on the generated tasks: R², MSE or a negated RMSE on the RMSE task;
    accuracy, F1, ROC-AUC or a negated log loss on the log-loss task; a log loss on the accuracy
    task. What it cannot tell apart: metrics of nearly equal values (MAE for RMSE, macro F1 for
    accuracy) and some that land between the two references (an error rate, or ROC-AUC on the
    4-class accuracy task).
    """
    from tasks.metrics import METRICS

    task = res.task
    gib = METRICS[task.metric].greater_is_better
    ok = [float(t.valid_score) for t in res.trials if t.status == "ok" and t.valid_score is not None]
    v = max(ok) if gib else min(ok)
    s, b = _test_and_baseline(res)
    res.valid_score, res.test_score, res.baseline_score = v, s, b
    direction = "higher is better" if gib else "lower is better"
    lo, hi = _RANGE.get(task.metric, (0.0, 1.0))
    if not lo <= v <= hi:
        fail(
            res,
            f"the best valid_score {v:.4g} is outside the range of {task.metric} ({_interval(lo, hi)}; "
            f"{direction}); the final model scores {s:.4g} on the test rows{_looks_like(res, v, s)}",
            HOW_TO_SCORE,
        )
    scale = max(abs(b - s), 0.5 * abs(b - _PERFECT.get(task.metric, 1.0)))
    sign = 1.0 if gib else -1.0  # "goodness": higher is better in these units
    best, worst = max(sign * s, sign * b), min(sign * s, sign * b)
    better_by = (sign * v - best) / scale if scale > 0 else 0.0
    worse_by = (worst - sign * v) / scale if scale > 0 else 0.0
    if better_by > VALID_SCORE_TOLERANCE or worse_by > WRONG_SIDE_MARGIN:
        what = (
            f"{better_by:.2f} x {scale:.3g} better than the better of the two"
            if better_by > VALID_SCORE_TOLERANCE
            else f"{worse_by:.2f} x {scale:.3g} worse than the worse of the two"
        )
        fail(
            res,
            f"the best valid_score {v:.4g} does not look like {task.metric} ({direction}): on the test rows "
            f"the final model scores {s:.4g} and a constant prediction {b:.4g}, and a valid score should lie "
            f"near or between them; it is {what}{_looks_like(res, v, s)}",
            HOW_TO_SCORE,
        )


def _interval(lo: float, hi: float) -> str:
    return f"{'[' if math.isfinite(lo) else '('}{lo:g}, {hi:g}{']' if math.isfinite(hi) else ')'}"


def _test_and_baseline(res: ContractResult) -> tuple[float, float]:
    """The task's metric on the test rows of the final model and of a constant prediction."""
    task, y = res.task, res.y_test
    n = len(y)
    proba = None if res.proba is None else np.asarray(res.proba, dtype=float)
    try:
        s = task.score(y, np.asarray(res.predictions), proba)
    except ValueError as exc:
        fail(res, f"the test predictions cannot be scored in {task.metric} ({exc})")
    if task.is_classification:
        k = len(task.classes)
        prior = np.bincount(res.y_fit.astype(int), minlength=k) / len(res.y_fit)
        const = np.full(n, int(prior.argmax()))
        b = task.score(y, const, np.tile(prior, (n, 1)))
    else:
        b = task.score(y, np.full(n, float(np.mean(res.y_fit))))
    return float(s), float(b)


def _looks_like(res: ContractResult, v: float, s: float) -> str:
    """``; it is closer to r2 (0.71) of the final model on the test rows``: other metrics of the problem
    type (also negated, or one minus them) that lie nearer to ``v`` than the task's metric, nearest first."""
    from tasks.metrics import metrics_for, score_all

    task = res.task
    proba = None if res.proba is None else np.asarray(res.proba, dtype=float)
    scores = score_all(
        task.problem_type, res.y_test, np.asarray(res.predictions), proba, n_classes=len(task.classes) or None
    )
    candidates: dict[str, float] = {}
    for name in metrics_for(task.problem_type):
        if name in scores:
            value = scores[name]
            if name != task.metric:
                candidates[name] = value
            candidates[f"-{name}"] = -value
            if _RANGE.get(name, (0.0, 1.0)) == (0.0, 1.0):
                candidates[f"1 - {name}"] = 1.0 - value
    nearer = sorted(
        (abs(value - v), name, value) for name, value in candidates.items() if abs(value - v) < abs(s - v)
    )
    if not nearer:
        return ""
    # the nearest, and those about as near (several metrics of one model can be close to each other)
    shown = ", ".join(f"{name} ({value:.4g})" for d, name, value in nearer[:3] if d <= 3 * nearer[0][0])
    return f"; it is closer to {shown} of the final model on the test rows"


def same_trials(a: list[Trial], b: list[Trial]) -> None:
    """The common prefix of two runs with one seed holds the same configurations and statuses."""
    k = min(len(a), len(b))
    assert k >= 1, "a run with this seed logged no trial"
    for i in range(k):
        if (a[i].config, a[i].status) != (b[i].config, b[i].status):
            raise AssertionError(
                f"two runs with the same seed differ at trial {i}: {a[i].config} ({a[i].status}) vs "
                f"{b[i].config} ({b[i].status}); seed every random choice from ctx.seed"
            )


def result_as_json(res: ContractResult, budget_s: float) -> dict[str, Any]:
    """What an engine test's child process sends back: the result, and whether it keeps the contract."""
    out: dict[str, Any] = {"fit_s": res.fit_s, "startup_s": res.startup_s, "phase": res.phase}
    try:
        check_result(res, budget_s)
        out["contract"] = "ok"
    except AssertionError as exc:
        out["contract"] = f"violated: {exc}"
    out["skipped"], out["error"] = res.skipped, res.error
    out["y_test"] = np.asarray(res.y_test).tolist()
    out["y_pred"] = None if res.predictions is None else np.asarray(res.predictions).tolist()
    out["proba"] = None if res.proba is None else np.asarray(res.proba).tolist()
    out["trials"] = [dict(t.__dict__) if isinstance(t, Trial) else repr(t) for t in res.trials]
    out["best_config"] = res.best_config
    out["metric"] = res.task.metric
    out["problem_type"] = res.task.problem_type
    out["n_classes"] = len(res.task.classes)
    out["test_score"], out["valid_score"] = res.test_score, res.valid_score
    out["baseline_score"] = res.baseline_score
    return out
