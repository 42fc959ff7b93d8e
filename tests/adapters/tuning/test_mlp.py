"""The neural-network families really train, and each hyperparameter changes what they do."""

from __future__ import annotations

import time

import numpy as np
import pytest

pytest.importorskip("torch")

from adapters.base import TaskInfo, TaskNotSupported
from adapters.testing import load_task
from adapters.tuning.families import check_family, get_family
from adapters.tuning.families.mlp import DEFAULTS

DATA, X_TEST, Y_TEST = load_task("digits")
BASE = {**DEFAULTS, "epochs": 4, "n_units": 32, "batch_size": 64}


def fit(config: dict, family: str = "mlp"):
    model = get_family(family).build({**BASE, **config}, DATA.task, seed=0, cores=1)
    return model.fit(DATA.X_train, DATA.y_train, valid=(DATA.X_valid, DATA.y_valid))


def weights(model) -> np.ndarray:
    return np.concatenate([p.detach().numpy().ravel() for p in model.net.parameters()])


def test_mlp_learns_and_records_its_curve() -> None:
    model = fit({"epochs": 8})
    acc = float(np.mean(model.predict(X_TEST) == Y_TEST))
    assert acc > 0.85
    assert len(model.curve["train_loss"]) == len(model.curve["valid_loss"]) == 8
    assert model.curve["train_loss"][-1] < model.curve["train_loss"][0]
    np.testing.assert_allclose(model.predict_proba(X_TEST).sum(axis=1), 1.0, atol=1e-5)


def test_same_seed_same_weights() -> None:
    np.testing.assert_array_equal(weights(fit({})), weights(fit({})))


@pytest.mark.parametrize(
    "name, other",
    [("learning_rate", 3e-2), ("batch_size", 16), ("dropout", 0.4), ("l1", 1e-3), ("l2", 1e-2)],
)
def test_each_training_hyperparameter_changes_the_fit(name: str, other: float) -> None:
    base, changed = fit({}), fit({name: other})
    assert not np.allclose(weights(base), weights(changed))
    assert base.curve["train_loss"] != changed.curve["train_loss"]


def test_regularisation_shrinks_the_weights() -> None:
    plain = np.abs(weights(fit({"l1": 0.0, "l2": 0.0}))).sum()
    assert np.abs(weights(fit({"l1": 1e-3}))).sum() < plain
    assert np.abs(weights(fit({"l2": 5e-2}))).sum() < plain


def test_architecture_hyperparameters_shape_the_network() -> None:
    from torch import nn

    model = fit({"n_layers": 3, "n_units": 48, "epochs": 2})
    linears = [m for m in model.net if isinstance(m, nn.Linear)]
    assert [m.out_features for m in linears] == [48, 48, 48, 10]
    assert len(fit({"epochs": 3}).curve["train_loss"]) == 3


def test_training_stops_at_the_deadline() -> None:
    model = get_family("mlp").build({**BASE, "epochs": 10_000}, DATA.task, seed=0, cores=1)
    t0 = time.monotonic()
    model.fit(DATA.X_train, DATA.y_train, deadline=t0 + 0.5)
    assert time.monotonic() - t0 < 1.5 and model.stopped_at_deadline
    assert 0 < len(model.curve["train_loss"]) < 10_000
    assert 0 < model.trained_share < 0.1 and fit({"epochs": 3}).trained_share == 1.0


def test_an_epoch_cut_by_the_deadline_is_logged_as_a_share() -> None:
    # batches of one row make the first epoch far longer than the 0.2 s the deadline leaves
    model = get_family("mlp").build({**BASE, "batch_size": 1}, DATA.task, seed=0, cores=1)
    model.fit(DATA.X_train, DATA.y_train, valid=(DATA.X_valid, DATA.y_valid), deadline=time.monotonic() + 0.2)
    curve = model.curve
    assert model.stopped_at_deadline and len(curve["train_loss"]) == len(curve["valid_loss"]) == 1
    assert (
        curve["valid_loss"] == [None] and 0 < curve["epoch_share"][0] == round(model.trained_share * 4, 4) < 1
    )
    late = get_family("mlp").build(BASE, DATA.task, seed=0, cores=1)
    with pytest.raises(RuntimeError, match="before its first training batch"):
        late.fit(DATA.X_train, DATA.y_train, deadline=time.monotonic() - 1)


def test_mlp_regression_predicts_in_target_units() -> None:
    data, X_test, y_test = load_task("diabetes")
    model = (
        get_family("mlp")
        .build({**BASE, "epochs": 30}, data.task, seed=0, cores=1)
        .fit(data.X_train, data.y_train)
    )
    pred = model.predict(X_test)
    assert pred.dtype == float and np.sqrt(np.mean((pred - y_test) ** 2)) < np.std(y_test)


def test_cnn_trains_on_images_and_its_space_shapes_it() -> None:
    from torch import nn

    model = fit({"filters": 8, "depth": 2, "kernel_size": 5, "epochs": 4}, family="cnn")
    convs = [m for m in model.net if isinstance(m, nn.Conv2d)]
    assert [(c.out_channels, c.kernel_size) for c in convs] == [(8, (5, 5)), (16, (5, 5))]
    assert float(np.mean(model.predict(X_TEST) == Y_TEST)) > 0.5


def test_cnn_refuses_a_tabular_task() -> None:
    with pytest.raises(TaskNotSupported, match="image"):
        check_family("cnn", TaskInfo("titanic", "binary", "accuracy", ("no", "yes")))
