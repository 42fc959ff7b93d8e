"""AutoKeras 3 (Keras 3 on the torch backend) as an adapter, with a time budget it does not have.

AutoKeras searches network architectures with keras-tuner and has no time limit, only
``max_trials`` and ``epochs``. This adapter gives it one:

* one ``_BudgetCallback`` (shared across trials: keras-tuner deep-copies callbacks per trial, so
  ``__deepcopy__`` returns the same object) stops a trial's training before its next epoch would
  end past ``stop_at`` (the deadline less a margin to load the best model), or inside an epoch
  once ``stop_at`` has passed; it caps each trial at a share of the budget so several trials run,
  and after each trial it ends the search (``oracle.max_trials``) when no further trial fits;
* validation is our own seeded (stratified) split of train+valid, passed as ``validation_data``
  with our own ``EarlyStopping``, so AutoKeras keeps the best trial's best epoch and does not
  retrain after the search;
* structured data gets ``StructuredDataClassifier``/``Regressor`` on features we encode ourselves
  (``adapters.tuning.preprocess``: impute, scale, one-hot; fitted on the training part only); images get
  a vanilla ``ImageBlock`` (plain conv blocks: never ResNet/Xception/EfficientNet, which download
  pretrained weights), with pixels reshaped to ``TaskInfo.image_shape``.

Each trial is logged with its hyperparameters, its time, its loss curve and the task's metric on
the validation split at the epoch that AutoKeras keeps.
"""

from __future__ import annotations

import logging
import math
import os
import time
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from adapters.base import FitContext, FitData, TaskInfo, TaskNotSupported, Trial, TrialLogger
from adapters.engines.common import BudgetKnob, EngineAdapter, require_our_metric, require_problem_type

logger = logging.getLogger(__name__)

# --- Budget knobs: values, measurements and how to re-measure them in benchmarks/README.md (AutoKeras) -
# AutoKeras has no time budget; these constants give it one. After stop_at only the epoch in flight
# ends (its validation pass and our scoring, both timed and subtracted at batch level) and the best
# weights are put back (no reload from disk, no AutoKeras export): 0.2 s at most as measured with the
# old knob (0.98 B - 1), hence a reserve of 0.5 s. The search ends when the next trial (its build plus
# MIN_EPOCHS epochs) cannot end before stop_at; the trial before it is then not capped but trains on.
KNOB = BudgetKnob(fraction=1.0, reserve_s=0.5, floor_s=0.0)  # training stops this far into the budget
TRIAL_SHARE = 0.4  # a trial trains at most this share of the budget while another can follow it
MIN_EPOCHS = 2  # a trial needs about this many epochs to say anything; fewer left: stop the search
MAX_EPOCHS = 200  # per trial; early stopping and the time caps end trials far sooner
PATIENCE = 5  # early stopping on val_loss
MAX_TRIALS = 100  # the time caps end the search far sooner
VALID_SHARE = 0.2  # our own validation split: this share of the train+valid rows
BATCH_SIZE = 32  # training batch size of every trial
# ------------------------------------------------------------------------------------------------


class _BudgetSpent(Exception):
    """Raised after a trial when no further trial fits: ends the search without AutoKeras's export."""


def _budget_callback_class() -> type:
    """The callback class, built lazily: keras must not be imported before KERAS_BACKEND is set."""
    import keras

    class _BudgetCallback(keras.callbacks.Callback):
        """Stops training at ``stop_at`` and after ``trial_cap_s`` per trial; records each trial."""

        def __init__(self, stop_at: float, trial_cap_s: float, score_fn: Any) -> None:
            super().__init__()
            self.stop_at = stop_at
            self.trial_cap_s = trial_cap_s
            self.score_fn = score_fn  # model -> our metric on the validation split
            self.epoch_s = 0.0  # the last epoch's duration
            self.valid_s = 0.0  # the last validation pass
            self.score_s = 0.0  # the last scoring of an epoch with our metric
            self.best_model: Any = None  # the best epoch of all trials (what keras-tuner would pick)
            self.best_weights: list[Any] = []
            self.global_best_loss = math.inf
            self.next_trial_s = 0.0  # what another trial needs (build + MIN_EPOCHS epochs), once known
            self.new_trial()

        def __deepcopy__(self, memo: dict[int, Any]) -> Any:
            return self  # keras-tuner deep-copies callbacks per trial: keep one clock and one record

        def new_trial(self) -> None:
            self.trial_start = time.monotonic()
            self.curve: dict[str, list[float]] = {"train_loss": [], "valid_loss": []}
            self.best_loss = math.inf
            self.best_score: float | None = None
            self.epochs = 0

        def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            self.epoch_start = time.monotonic()

        def on_test_begin(self, logs: dict[str, Any] | None = None) -> None:
            self.test_start = time.monotonic()

        def on_test_end(self, logs: dict[str, Any] | None = None) -> None:
            self.valid_s = time.monotonic() - self.test_start  # the validation pass at an epoch's end

        def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
            # stop inside the epoch so that its validation pass and scoring still end by stop_at
            if time.monotonic() + self.valid_s + self.score_s >= self.stop_at:
                self.model.stop_training = True

        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            logs = logs or {}
            self.epochs = epoch + 1
            loss, val_loss = logs.get("loss"), logs.get("val_loss")
            self.curve["train_loss"].append(float(loss) if loss is not None else math.nan)
            self.curve["valid_loss"].append(float(val_loss) if val_loss is not None else math.nan)
            if val_loss is not None and val_loss < self.best_loss:  # the epoch keras-tuner keeps
                self.best_loss = float(val_loss)
                t0 = time.monotonic()
                try:
                    self.best_score = self.score_fn(self.model)
                except ValueError:
                    logger.debug("could not score the epoch", exc_info=True)
                self.score_s = time.monotonic() - t0
                if val_loss < self.global_best_loss:  # keep it in memory: no reload from disk later
                    self.global_best_loss = float(val_loss)
                    self.best_model = self.model
                    self.best_weights = [np.array(w, copy=True) for w in self.model.get_weights()]
            now = time.monotonic()
            self.epoch_s = now - self.epoch_start  # training, validation, scoring and keeping
            capped = now + self.epoch_s - self.trial_start > self.trial_cap_s
            if capped and self.stop_at - now < self.next_trial_s:
                capped = False  # no trial could follow: this one uses the rest of the budget
            if now + self.epoch_s > self.stop_at or capped:
                self.model.stop_training = True  # the next epoch would end too late

    return _BudgetCallback


class AutoKerasAdapter(EngineAdapter):
    """AutoKeras 3 neural architecture search (dense nets for tables, conv nets for images)."""

    requires: ClassVar[tuple[str, ...]] = ("autokeras", "keras", "keras_tuner", "torch")
    extra: ClassVar[str | None] = "autokeras"
    description: ClassVar[str] = "AutoKeras 3 on Keras/torch (dense and plain conv blocks, no downloads)"

    def __init__(self, family: str | None = None) -> None:
        super().__init__(family)
        self._prep: Any = None
        self._model: Any = None
        self._y_mean, self._y_std = 0.0, 1.0
        self._config: dict[str, Any] = {}

    def check_task(self, task: TaskInfo) -> None:
        require_problem_type(task, "AutoKeras adapter")
        require_our_metric(task)
        if task.is_image and task.image_shape is not None and min(task.image_shape[:2]) < 8:
            raise TaskNotSupported(
                f"images of {task.image_shape} are too small for conv blocks (8x8 at least)"
            )

    # --- life cycle ---
    def start(self, ctx: FitContext) -> None:
        backend = os.environ.setdefault("KERAS_BACKEND", "torch")
        if backend != "torch":
            raise RuntimeError(f"KERAS_BACKEND is {backend!r}; the AutoKeras adapter needs 'torch'")
        os.environ.setdefault("KERAS_HOME", str(Path(ctx.workdir) / "keras"))  # no ~/.keras writes
        # Torch's OpenMP threads spin while they wait: on a busy machine one epoch of a small conv net
        # took 18 to 20 s with spinning and 0.8 s without (2 threads, 8x8 digits, load 8 on 2 cores).
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # read once, when torch loads OpenMP
        import autokeras  # noqa: F401 - ~15 s of imports: start-up, not budget
        import keras
        import torch

        if keras.backend.backend() != "torch":
            raise RuntimeError(f"keras was imported with the {keras.backend.backend()!r} backend, not torch")
        torch.set_num_threads(max(1, ctx.cores))

    def _fit(self, data: FitData, ctx: FitContext, log: TrialLogger) -> None:
        import keras

        task = data.task
        keras.utils.set_random_seed(ctx.seed)
        X, y = data.train_valid()
        tr, va = _split(y, task.is_classification, ctx.seed)
        x_tr, x_va = self._features(X.iloc[tr], X.iloc[va], task)
        if not task.is_classification:  # standardised targets (fitted on the training part)
            self._y_mean, self._y_std = float(np.mean(y[tr])), float(np.std(y[tr])) or 1.0
        y_tr, y_va = self._targets(y[tr], task), self._targets(y[va], task)
        stop_at = ctx.fit_start + KNOB.seconds(ctx.budget_s)
        callback = _budget_callback_class()(
            stop_at, TRIAL_SHARE * ctx.budget_s, self._scorer(x_va, y[va], task)
        )
        model = self._automodel(task, ctx)
        tuner = model.tuner
        self._follow_trials(tuner, callback, stop_at, log, ctx, task)
        stopper = keras.callbacks.EarlyStopping(monitor="val_loss", patience=PATIENCE, min_delta=1e-4)
        search_error: BaseException | None = None
        try:
            model.fit(
                x_tr, y_tr, validation_data=(x_va, y_va), epochs=MAX_EPOCHS, batch_size=BATCH_SIZE,
                callbacks=[stopper, callback], verbose=0,
            )  # fmt: skip
        except _BudgetSpent:
            pass
        except Exception as exc:  # noqa: BLE001 - keep the best model of the trials that ended
            search_error = exc
            logger.warning("AutoKeras search ended with %s: %s", type(exc).__name__, exc)
        if callback.best_model is None:
            failed = [t.message for t in tuner.oracle.trials.values() if getattr(t, "message", None)]
            why = failed[-1] if failed else search_error  # a failed trial's error says the most
            reason = f": {_last_line(why)}" if why else ""
            raise RuntimeError(f"AutoKeras finished no epoch in {ctx.budget_s:.0f} s{reason}")
        callback.best_model.set_weights(callback.best_weights)  # the best trial at its best epoch
        self._model = callback.best_model
        best = tuner.oracle.get_best_trials(1)
        self._config.update(
            best_trial=best[0].trial_id if best else None,
            hyperparameters=_jsonable(best[0].hyperparameters.values) if best else {},
            trials=len(tuner.oracle.trials),
            validation="seeded split of train+valid",
            valid_fraction=VALID_SHARE,
            stop_training_at_s=round(stop_at - ctx.fit_start, 2),
            trial_cap_s=round(TRIAL_SHARE * ctx.budget_s, 2),
            max_epochs=MAX_EPOCHS,
            patience=PATIENCE,
        )

    def _automodel(self, task: TaskInfo, ctx: FitContext) -> Any:
        import autokeras as ak

        k = len(task.classes)
        common = dict(
            project_name="search", directory=str(Path(ctx.workdir) / "autokeras"), max_trials=MAX_TRIALS,
            objective="val_loss", overwrite=True, seed=ctx.seed,
        )  # fmt: skip
        if task.is_image:
            inp = ak.ImageInput()
            out = ak.ImageBlock(block_type="vanilla", augment=False)(inp)  # plain conv blocks, no weights
            head = ak.ClassificationHead(num_classes=k) if task.is_classification else ak.RegressionHead()
            self._config["block"] = "image (vanilla conv)"
            return ak.AutoModel(inputs=inp, outputs=head(out), tuner="greedy", **common)
        self._config["block"] = "structured data (dense)"
        if task.is_classification:
            return ak.StructuredDataClassifier(num_classes=k, **common)
        return ak.StructuredDataRegressor(**common)

    def _follow_trials(
        self, tuner: Any, callback: Any, stop_at: float, log: TrialLogger, ctx: FitContext, task: TaskInfo
    ) -> None:
        """Log each trial as it ends, and end the search when no further trial fits the budget."""
        begin, end = tuner.on_trial_begin, tuner.on_trial_end
        family = "cnn" if task.is_image else "mlp"
        build_s: list[float] = []

        def on_trial_begin(trial: Any) -> None:
            callback.new_trial()
            begin(trial)

        def on_trial_end(trial: Any) -> None:
            end(trial)
            now = time.monotonic()
            trial_s = now - callback.trial_start
            build_s.append(max(0.0, trial_s - callback.epochs * callback.epoch_s))
            ok = str(trial.status).upper().endswith("COMPLETED") and callback.best_score is not None
            log(
                Trial(
                    config=_jsonable(trial.hyperparameters.values),
                    valid_score=callback.best_score if ok else None,
                    fit_s=trial_s,
                    elapsed_s=now - ctx.fit_start,
                    status="ok" if ok else "failed",
                    error=None if ok else _last_line(getattr(trial, "message", None) or "no epoch finished"),
                    family=family,
                    curve=callback.curve,
                )
            )
            # next trial: its build (the median so far) and MIN_EPOCHS epochs must fit before stop_at
            need = float(np.median(build_s)) + MIN_EPOCHS * callback.epoch_s
            callback.next_trial_s = need
            if now + need > stop_at:
                self._config["stopped_after_trials"] = len(tuner.oracle.trials)
                raise _BudgetSpent

        tuner.on_trial_begin, tuner.on_trial_end = on_trial_begin, on_trial_end

    # --- data ---
    def _features(
        self, X_tr: pd.DataFrame, X_va: pd.DataFrame, task: TaskInfo
    ) -> tuple[np.ndarray, np.ndarray]:
        if task.is_image and task.image_shape is not None:
            hi = float(np.nanmax(X_tr.to_numpy(np.float32))) or 1.0  # pixels to [0, 1]
            self._prep = ("image", hi, task.image_shape)
            return self._transform(X_tr), self._transform(X_va)
        from adapters.tuning.preprocess import make_preprocessor

        self._prep = make_preprocessor(scale=True).fit(X_tr)
        return self._transform(X_tr), self._transform(X_va)

    def _transform(self, X: pd.DataFrame) -> np.ndarray:
        if isinstance(self._prep, tuple):
            _, hi, (h, w, c) = self._prep
            pixels = np.nan_to_num(X.to_numpy(np.float32) / hi)
            return pixels.reshape(len(X), h, w, c)
        return np.asarray(self._prep.transform(X), dtype=np.float32)

    def _targets(self, y: np.ndarray, task: TaskInfo) -> np.ndarray:
        k = len(task.classes)
        if task.problem_type == "binary":
            return y.astype(np.float32).reshape(-1, 1)  # 0/1 in one column: a sigmoid head
        if task.problem_type == "multiclass":
            return np.eye(k, dtype=np.float32)[y.astype(int)]  # one-hot: a softmax head over all codes
        return ((y - self._y_mean) / self._y_std).astype(np.float32).reshape(-1, 1)

    def _scorer(self, x_va: np.ndarray, y_va: np.ndarray, task: TaskInfo) -> Any:
        from tasks.metrics import METRICS

        metric, k = METRICS[task.metric], len(task.classes)

        def score(model: Any) -> float:
            out = self._outputs(model, x_va, task)
            if task.is_classification:
                return metric.score(y_va, out.argmax(axis=1), out, n_classes=k)
            return metric.score(y_va, out)

        return score

    def _outputs(self, model: Any, x: np.ndarray, task: TaskInfo) -> np.ndarray:
        """Class probabilities (n, K) or regression values (n,) in our units."""
        raw = np.asarray(model.predict(x, batch_size=1024, verbose=0), dtype=float)
        if task.problem_type == "binary":
            p = np.clip(raw.reshape(-1), 0.0, 1.0)
            return np.column_stack([1.0 - p, p])
        if task.problem_type == "multiclass":
            raw = np.clip(raw, 0.0, None)
            return raw / np.maximum(raw.sum(axis=1, keepdims=True), 1e-12)
        return raw.reshape(-1) * self._y_std + self._y_mean

    # --- prediction ---
    def _predict_raw(self, X: pd.DataFrame) -> Any:
        if self._fitted_task().is_classification:
            return super()._predict_raw(X)  # the most probable class
        return self._predict(X)

    def _predict_proba_raw(self, X: pd.DataFrame) -> tuple[Any, Any] | None:
        out = self._predict(X)  # one column per class code of the task: the heads have K outputs
        return out, range(out.shape[1])

    def _predict(self, X: pd.DataFrame) -> np.ndarray:
        return self._outputs(self._model, self._transform(X), self._fitted_task())

    def best_config(self) -> dict[str, Any]:
        return dict(self._config)


def _split(y: np.ndarray, stratify: bool, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Row indices of our own train and validation parts of train+valid (seeded, stratified)."""
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(y))
    strat = y if stratify and np.bincount(y.astype(int)).min() >= 2 else None
    tr, va = train_test_split(idx, test_size=VALID_SHARE, random_state=seed, stratify=strat)
    return np.sort(tr), np.sort(va)


def _last_line(error: object) -> str:
    """The last non-empty line of an error or a traceback text, shortened: one line for people."""
    lines = [ln.strip() for ln in str(error).splitlines() if ln.strip()]
    return (lines[-1] if lines else type(error).__name__)[:300]


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in values.items():
        out[k] = v.item() if isinstance(v, np.generic) else v
    return out
