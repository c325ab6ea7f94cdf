"""The paper's experiments, as the lesson, the app and the tests run them (fixed seeds, CPU, under a minute each).

    five_two()       5 features in 2 dimensions, importance 0.9^i: dense keeps 2, sparse makes a pentagon
    twenty_five()    20 features in 5 dimensions, importance 0.7^i: more features fit as sparsity grows
    linear_baseline()  the same without the ReLU: never more features than dimensions
    sticky()         200 features in 20 dimensions: feature dimensionalities stick at 1/2, 2/5, 3/8, ...
    phase.phase_diagram()   2 features in 1 dimension: the three phases

Each returns the trained model (all instances) with the settings it was trained with. The lesson's claims
about these models are asserted by tests/superposition/test_paper.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from course.superposition.model import ToyModel, ToyModelConfig, TrainConfig, train


@dataclass
class Experiment:
    name: str
    model: ToyModel
    feature_probability: Tensor  # (n_instances,)
    losses: Tensor  # (n_logs, n_instances)

    def __repr__(self) -> str:
        return f"Experiment({self.name}, {self.model!r})"


def _run(name: str, cfg: ToyModelConfig, p: Tensor, importance: Tensor | None, train_cfg: TrainConfig,
         seed: int, progress) -> Experiment:
    gen = torch.Generator().manual_seed(seed)
    model = ToyModel(cfg, feature_probability=p, importance=importance, device="cpu", generator=gen)
    losses = train(model, train_cfg, progress=progress)
    return Experiment(name, model, p, losses)


def five_two(restarts: int = 8, seed: int = 0, progress=False) -> Experiment:
    """5 features, 2 hidden, importance 0.9^i: `restarts` instances dense (p = 1) then as many sparse (p = 0.02)."""
    p = torch.tensor([1.0] * restarts + [0.02] * restarts)
    cfg = ToyModelConfig(n_features=5, n_hidden=2, n_instances=len(p))
    return _run("5 features in 2 dimensions", cfg, p, 0.9 ** torch.arange(5.0),
                TrainConfig(steps=5_000, batch_size=1024, lr=1e-2, seed=seed), seed, progress)


def five_two_sweep(n_instances: int = 8, seed: int = 0, progress=False) -> Experiment:
    """The same model over a sparsity sweep, p = 50^-t for t in [0, 1] (ARENA's figure)."""
    p = 50 ** -torch.linspace(0, 1, n_instances)
    cfg = ToyModelConfig(n_features=5, n_hidden=2, n_instances=n_instances)
    return _run("5 features in 2 dimensions, sparsity sweep", cfg, p, 0.9 ** torch.arange(5.0),
                TrainConfig(steps=5_000, batch_size=1024, lr=1e-2, seed=seed), seed, progress)


TWENTY_FIVE_P = (1.0, 0.3, 0.1, 0.03, 0.01)


def twenty_five(restarts: int = 2, seed: int = 0, progress=False) -> Experiment:
    """20 features, 5 hidden, importance 0.7^i, at feature probabilities 1, 0.3, 0.1, 0.03, 0.01."""
    p = torch.tensor(TWENTY_FIVE_P).repeat_interleave(restarts)
    cfg = ToyModelConfig(n_features=20, n_hidden=5, n_instances=len(p))
    return _run("20 features in 5 dimensions", cfg, p, 0.7 ** torch.arange(20.0),
                TrainConfig(steps=5_000, batch_size=1024, lr=1e-2, seed=seed), seed, progress)


def linear_baseline(seed: int = 0, progress=False) -> Experiment:
    """twenty_five's sparsest setting (p = 0.01, 2 restarts) without the ReLU: no superposition."""
    p = torch.tensor([0.01, 0.01])
    cfg = ToyModelConfig(n_features=20, n_hidden=5, n_instances=len(p), activation="linear")
    return _run("20 features in 5 dimensions, linear", cfg, p, 0.7 ** torch.arange(20.0),
                TrainConfig(steps=5_000, batch_size=1024, lr=1e-2, seed=seed), seed, progress)


def sticky(n_instances: int = 6, seed: int = 0, progress=False) -> Experiment:
    """200 features, 20 hidden, equal importance, feature probability from 0.55 down to 0.17."""
    p = torch.logspace(-0.26, -0.77, n_instances)
    cfg = ToyModelConfig(n_features=200, n_hidden=20, n_instances=n_instances)
    return _run("200 features in 20 dimensions", cfg, p, None,
                TrainConfig(steps=3_000, batch_size=512, lr=1e-2, lr_schedule="cosine", seed=seed), seed, progress)
