"""A multilayer perceptron (PyTorch) whose space holds learning rate, batch size, epochs,
number of hidden layers, neurons per layer, dropout rate, and L1 and L2 regularisation."""

from __future__ import annotations

from typing import Any, ClassVar

from adapters.base import TaskInfo
from adapters.tuning.families.base import Family, Model, Resource
from adapters.tuning.families.torch_nets import TorchModel
from adapters.tuning.spaces import Float, Int, Space

# Used for what a configuration leaves out (the ``default`` adapter passes {}): close to
# scikit-learn's MLP defaults (one layer of 100, Adam at 1e-3, L2 1e-4), with 50 epochs.
DEFAULTS: dict[str, Any] = {
    "learning_rate": 1e-3,
    "batch_size": 128,
    "epochs": 50,
    "n_layers": 1,
    "n_units": 100,
    "dropout": 0.0,
    "l1": 0.0,
    "l2": 1e-4,
}


def mlp_builder(n_layers: int, n_units: int, dropout: float):
    def build(n_in: int, n_out: int) -> Any:
        from torch import nn

        layers: list[Any] = []
        width = n_in
        for _ in range(n_layers):
            layers += [nn.Linear(width, n_units), nn.ReLU(), nn.Dropout(dropout)]
            width = n_units
        layers.append(nn.Linear(width, n_out))
        return nn.Sequential(*layers)

    return build


class MlpFamily(Family):
    name = "mlp"
    warm_up_config: ClassVar[dict[str, Any]] = {"epochs": 1}
    stops_at_deadline = True  # trained epoch by epoch, stopped between batches (torch_nets)
    description = "multilayer perceptron (PyTorch, Adam)"

    def space(self, task: TaskInfo) -> Space:
        return Space(
            {
                "learning_rate": Float(1e-4, 1e-1, log=True),
                "batch_size": Int(16, 512, log=True),
                "epochs": Int(5, 100, log=True),
                "n_layers": Int(1, 4),
                "n_units": Int(16, 512, log=True),
                "dropout": Float(0.0, 0.5),
                "l1": Float(1e-8, 1e-2, log=True),
                "l2": Float(1e-8, 1e-2, log=True),
            }
        )

    def manual(self, task: TaskInfo) -> list[dict[str, Any]]:
        return [
            {},
            {
                "n_layers": 2,
                "n_units": 256,
                "dropout": 0.2,
                "learning_rate": 1e-3,
                "epochs": 30,
                "batch_size": 64,
            },
            {"n_layers": 2, "n_units": 512, "dropout": 0.3, "learning_rate": 3e-4, "epochs": 40, "l2": 1e-5},
            {
                "n_layers": 3,
                "n_units": 128,
                "dropout": 0.1,
                "learning_rate": 3e-3,
                "epochs": 20,
                "batch_size": 256,
            },
        ]

    def resource(self, task: TaskInfo) -> Resource:
        return Resource("epochs", 5, 100, integer=True)

    def build(self, config: dict[str, Any], task: TaskInfo, seed: int, cores: int) -> Model:
        p = {**DEFAULTS, **config}
        return TorchModel(
            mlp_builder(int(p["n_layers"]), int(p["n_units"]), float(p["dropout"])), p, task, seed
        )

    def cost_units(self, config: dict[str, Any], n_rows: int, task: TaskInfo) -> float:
        p = {**DEFAULTS, **config}
        n_in = (
            100
            if task.image_shape is None
            else task.image_shape[0] * task.image_shape[1] * task.image_shape[2]
        )
        u, n_out = p["n_units"], max(1, len(task.classes))
        params = n_in * u + (p["n_layers"] - 1) * u * u + u * n_out
        # measured here: an optimizer step costs ~0.4 ms plus ~0.1 ms per 1,000 weights, and the
        # forward/backward pass adds a little per row and weight
        steps = n_rows / min(p["batch_size"], max(n_rows, 1))
        return p["epochs"] * (steps * (1 + params / 3000) + n_rows * params * 2e-7) / 1000
