"""The phase diagram of the smallest superposition: two features, one hidden dimension.

Section "Superposition as a Phase Change" of Toy Models of Superposition: feature 1 has importance 1, the extra
feature 2 has a relative importance r, both are active with the same probability (the density, 1 - sparsity).
Trained on a grid of (r, density), each model lands in one of three phases:

    not represented       W ~ [1, 0]   the extra feature is dropped                 (dense, r < 1)
    dedicated dimension   W ~ [0, 1]   the extra feature takes the only dimension   (dense, r > 1)
    superposition         W ~ [1, -1]  both share it, antipodally                   (sparse)

All grid points are instances of one batched toy model, so the whole diagram is one training run.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from course.superposition.model import ToyModel, ToyModelConfig, TrainConfig, train

PHASES = ("not represented", "dedicated dimension", "superposition", "other")


def classify(W: Tensor, threshold: float = 0.5) -> Tensor:
    """Phase index per instance for 2-in-1 models. W: (n_instances, 1, 2) -> (n_instances,) long, see PHASES."""
    w = W.detach().reshape(-1, 2)
    on = w.abs() > threshold
    phase = torch.full((w.shape[0],), 3, dtype=torch.long)
    phase[on[:, 0] & ~on[:, 1]] = 0
    phase[~on[:, 0] & on[:, 1]] = 1
    phase[on[:, 0] & on[:, 1] & (w[:, 0] * w[:, 1] < 0)] = 2
    return phase


@dataclass
class PhaseDiagram:
    relative_importance: Tensor  # (n_r,), the extra feature's importance relative to feature 1
    density: Tensor  # (n_d,), probability that a feature is active (1 - sparsity)
    W: Tensor  # (n_r, n_d, 2): each model's weights for [feature 1, feature 2]
    phase: Tensor  # (n_r, n_d) indices into PHASES

    def __repr__(self) -> str:
        counts = {PHASES[i]: int((self.phase == i).sum()) for i in range(len(PHASES))}
        return f"PhaseDiagram({len(self.relative_importance)} x {len(self.density)}, {counts})"

    def at(self, r: float, density: float) -> str:
        """The phase at the grid point nearest to (r, density), on log scales."""
        i = (self.relative_importance.log() - torch.tensor(r).log()).abs().argmin()
        j = (self.density.log() - torch.tensor(density).log()).abs().argmin()
        return PHASES[int(self.phase[i, j])]


def phase_diagram(relative_importance: Tensor | None = None, density: Tensor | None = None, restarts: int = 4,
                  train_cfg: TrainConfig | None = None, progress=False, seed: int = 0) -> PhaseDiagram:
    """Train a 2-features-in-1-dimension model at every (r, density) grid point and classify it.

    Each grid point is trained `restarts` times from different initialisations (more instances of the same
    batched run) and keeps the one with the lowest loss, as the paper does: a single run can stall in a
    local minimum, especially when features are sparse and gradients rare.
    """
    r = relative_importance if relative_importance is not None else torch.logspace(-1, 1, 9)
    d = density if density is not None else torch.logspace(-2, 0, 9)
    n_r, n_d, k = len(r), len(d), restarts
    n = n_r * n_d * k  # instance index = (i_r * n_d + i_d) * k + restart
    cfg = ToyModelConfig(n_features=2, n_hidden=1, n_instances=n)
    importance = torch.stack([torch.ones(n), r.repeat_interleave(n_d * k)], dim=1)
    probability = d.repeat_interleave(k).repeat(n_r)[:, None].expand(-1, 2)
    gen = torch.Generator().manual_seed(seed)
    model = ToyModel(cfg, feature_probability=probability, importance=importance, device="cpu", generator=gen)
    train(model, train_cfg or TrainConfig(steps=3_000, batch_size=1024, lr=1e-2, seed=seed), progress=progress)
    with torch.no_grad():
        x = model._batch(16_384, gen)
        out = model._forward(x)[0]
        loss = (model.importance[:, None, :] * (out - x) ** 2).mean(dim=(1, 2))
    best = loss.reshape(n_r * n_d, k).argmin(dim=1) + torch.arange(n_r * n_d) * k
    W = model.W.detach()[best, 0, :]  # (n_r * n_d, 2)
    return PhaseDiagram(r, d, W.reshape(n_r, n_d, 2), classify(W).reshape(n_r, n_d))
