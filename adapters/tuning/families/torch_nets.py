"""Training of PyTorch networks for the mlp and cnn families: one epoch loop with a deadline.

The loop records the per-epoch train and valid loss (``curve``; an epoch cut by the deadline is
logged with its train loss only and its trained share in ``epoch_share``), calls the per-epoch hook
(pruning), and stops between batches once the deadline passes, so a neural network trial
never runs past the time the tuning loop gave it. With validation rows it stops one measured
validation pass before the deadline (and skips an epoch's validation loss that would end past
it), so the caller's scoring of those rows also ends by then. Imports of torch happen inside
functions: the adapter imports and warms up torch in ``start`` (not charged to the budget).

Images run in channels-last memory (NHWC, the layout the pixel columns already have): oneDNN's
convolutions and pooling are faster on it. Measured here at 1 thread on 28x28 images, the default
cnn's training epoch took a quarter less CPU (a third less with the cnn's pooling before the ReLU),
and a pass over 2,000 validation images a fifth of the CPU, with the chunking below.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from adapters.base import TaskInfo
from adapters.tuning.families.base import EpochCallback, Model
from adapters.tuning.preprocess import make_preprocessor

log = logging.getLogger(__name__)

NetBuilder = Callable[[int, int], Any]  # (input features, outputs) -> torch.nn.Module
PREDICT_CHUNK = 4096  # rows per forward pass when predicting flat features
# Images: rows per forward pass such that a chunk holds about this many pixel positions. A chunk's
# activations are filters x positions floats; 4,096 MNIST images made ~400 MB of them and a valid
# pass 5x slower (memory-bound) than chunks of ~100-200 images, measured here at 1 thread.
PREDICT_CHUNK_PIXELS = 2**17


def predict_chunk(image_shape: tuple[int, int, int] | None) -> int:
    """Rows per forward pass: ``PREDICT_CHUNK`` for flat features, fewer for large images."""
    if image_shape is None:
        return PREDICT_CHUNK
    h, w, _ = image_shape
    return max(16, min(PREDICT_CHUNK, PREDICT_CHUNK_PIXELS // max(1, h * w)))


class TorchModel(Model):
    """Preprocessing, a network from ``build_net`` and Adam with L2 weight decay and an L1 penalty.

    ``image_shape`` (h, w, c) reshapes pixel columns (stored h, w, c order) into images and scales
    them by one global mean and deviation; without it every column is standardised.
    """

    def __init__(
        self,
        build_net: NetBuilder,
        params: dict[str, Any],
        task: TaskInfo,
        seed: int,
        image_shape: tuple[int, int, int] | None = None,
    ) -> None:
        self.build_net, self.params, self.task, self.seed = build_net, params, task, seed
        self.image_shape = image_shape
        self.prep = make_preprocessor(scale=image_shape is None)
        self.curve: dict[str, list[float]] | None = None
        self.stopped_at_deadline = False
        self.net: Any = None
        self.chunk = predict_chunk(image_shape)
        # the outputs for the last frame predicted: scoring calls predict then predict_proba on the
        # same rows, and a second forward pass doubles the time after a trial's deadline
        self._last: tuple[pd.DataFrame, Any] | None = None
        self._valid_s = 0.0  # seconds of the last pass over the validation rows (fit)
        self.classes_ = np.arange(len(task.classes)) if task.is_classification else None

    # --- data ---
    def _tensor(self, X: pd.DataFrame, fit: bool = False) -> Any:
        import torch

        Z = (self.prep.fit_transform(X) if fit else self.prep.transform(X)).astype(np.float32)
        if self.image_shape is not None:
            if fit:
                self.pixel_mean, self.pixel_std = float(Z.mean()), float(Z.std()) or 1.0
            Z = (Z - self.pixel_mean) / self.pixel_std
            h, w, c = self.image_shape
            # the columns are stored h, w, c: a permuted view is an (N, C, H, W) tensor in
            # channels-last memory, without a copy
            return torch.from_numpy(np.ascontiguousarray(Z.reshape(-1, h, w, c))).permute(0, 3, 1, 2)
        return torch.from_numpy(Z)

    def _target(self, y: np.ndarray, fit: bool = False) -> Any:
        import torch

        if self.task.is_classification:
            return torch.from_numpy(np.asarray(y, dtype=np.int64))
        if fit:
            self.y_mean, self.y_std = float(np.mean(y)), float(np.std(y)) or 1.0
        return torch.from_numpy(((np.asarray(y, dtype=np.float32) - self.y_mean) / self.y_std)[:, None])

    def _loss_fn(self) -> Any:
        import torch

        return torch.nn.CrossEntropyLoss() if self.task.is_classification else torch.nn.MSELoss()

    def _outputs(self, X: Any) -> Any:
        import torch

        self.net.eval()
        with torch.no_grad():
            return torch.cat([self.net(X[i : i + self.chunk]) for i in range(0, len(X), self.chunk)])

    def _frame_outputs(self, X: pd.DataFrame) -> Any:
        """Outputs for ``X``, reused when the same frame object was the last one predicted (a frame
        changed in place between two calls would get the old outputs; ``fit`` forgets them)."""
        if self._last is not None and self._last[0] is X:
            return self._last[1]
        out = self._outputs(self._tensor(X))
        self._last = (X, out)
        return out

    # --- training ---
    def fit(self, X, y, valid=None, deadline=None, on_epoch: EpochCallback | None = None) -> TorchModel:
        import torch

        torch.manual_seed(self.seed)
        p = self.params
        self._last = None
        Xt, yt = self._tensor(X, fit=True), self._target(y, fit=True)
        Xv, yv = (self._tensor(valid[0]), self._target(valid[1])) if valid is not None else (None, None)
        n_out = len(self.task.classes) if self.task.is_classification else 1
        self.net = self.build_net(Xt.shape[1], n_out)
        if self.image_shape is not None:
            self.net = self.net.to(memory_format=torch.channels_last)
        opt = torch.optim.Adam(self.net.parameters(), lr=p["learning_rate"], weight_decay=p["l2"])
        weights = [w for name, w in self.net.named_parameters() if name.endswith("weight")]
        loss_fn = self._loss_fn()
        gen = torch.Generator().manual_seed(self.seed)
        batch = max(1, min(int(p["batch_size"]), len(yt)))
        self.curve = (
            {"train_loss": [], "valid_loss": [], "epoch_s": []}
            if Xv is not None
            else {"train_loss": [], "epoch_s": []}
        )
        # seconds of the last validation pass: training stops that long before the deadline, so the
        # scoring of the valid rows after fit (one more pass) ends by the deadline too
        self._valid_s = 0.0
        n_valid = 0 if yv is None else len(yv)
        epochs = int(p["epochs"])
        self.trained_share = 1.0
        for epoch in range(epochs):
            t0, total, seen = time.monotonic(), 0.0, 0
            self.net.train()
            order = torch.randperm(len(yt), generator=gen)
            for i in range(0, len(yt), batch):
                now = time.monotonic()
                # before the first pass is measured: a forward pass is about a third of a training step
                reserve = self._valid_s or (now - t0) / max(seen, 1) * n_valid / 3
                if deadline is not None and now > deadline - reserve:
                    self.stopped_at_deadline = True
                    break
                idx = order[i : i + batch]
                opt.zero_grad()
                loss = loss_fn(self.net(Xt[idx]), yt[idx])
                total += float(loss.detach()) * len(idx)
                seen += len(idx)
                if p["l1"] > 0:
                    loss = loss + p["l1"] * sum(w.abs().sum() for w in weights)
                loss.backward()
                opt.step()
            if self.stopped_at_deadline:
                if epoch == 0 and seen == 0:
                    raise RuntimeError("the trial's deadline came before its first training batch")
                self.trained_share = (epoch + seen / len(yt)) / epochs
                log.info("neural network stopped at the deadline after %.2f epochs", epoch + seen / len(yt))
                if seen:
                    self._partial_epoch(total / seen, time.monotonic() - t0, seen / len(yt), Xv is not None)
                break
            if deadline is not None and Xv is not None and time.monotonic() + 2 * self._valid_s > deadline:
                # this epoch's valid loss and the scoring after fit would end past the deadline: skip it
                self.stopped_at_deadline = epoch < epochs - 1
                self.trained_share = (epoch + 1) / epochs
                log.info("neural network stopped after %d epochs: no time for a validation pass", epoch + 1)
                self._partial_epoch(total / max(seen, 1), time.monotonic() - t0, 1.0, True)
                break
            self._end_epoch(epoch, total / max(seen, 1), Xv, yv, loss_fn, time.monotonic() - t0, on_epoch)
        return self

    def _partial_epoch(self, train_loss: float, seconds: float, share: float, has_valid: bool) -> None:
        """Log the epoch the deadline cut: its train loss, no valid loss (there was no time for a pass).

        Without it a trial cut inside its first epoch would be scored with an empty curve.
        ``epoch_share`` says how much of each logged epoch was trained.
        """
        assert self.curve is not None
        n_done = len(self.curve["train_loss"])
        self.curve.setdefault("epoch_share", [1.0] * n_done).append(round(share, 4))
        self.curve["train_loss"].append(train_loss)
        self.curve["epoch_s"].append(seconds)
        if has_valid:
            self.curve["valid_loss"].append(None)  # type: ignore[arg-type]

    def _end_epoch(self, epoch, train_loss, Xv, yv, loss_fn, seconds, on_epoch) -> None:
        import torch

        assert self.curve is not None
        valid_loss = None
        if Xv is not None:
            t0 = time.monotonic()
            with torch.no_grad():
                valid_loss = float(loss_fn(self._outputs(Xv), yv))
            self._valid_s = time.monotonic() - t0
            self.curve["valid_loss"].append(valid_loss)
        self.curve["train_loss"].append(train_loss)
        self.curve["epoch_s"].append(seconds)
        if on_epoch is not None:
            try:
                on_epoch(epoch, train_loss, valid_loss)
            except Exception as exc:  # a pruned trial keeps its curve
                exc.curve = self.curve  # type: ignore[attr-defined]
                raise

    # --- prediction ---
    def predict_proba(self, X: pd.DataFrame) -> np.ndarray | None:
        import torch

        if not self.task.is_classification:
            return None
        return torch.softmax(self._frame_outputs(X), dim=1).numpy().astype(float)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        if self.task.is_classification:
            proba = self.predict_proba(X)
            assert proba is not None  # a classifier always has probabilities
            return proba.argmax(axis=1)
        return self._frame_outputs(X).numpy()[:, 0].astype(float) * self.y_std + self.y_mean
