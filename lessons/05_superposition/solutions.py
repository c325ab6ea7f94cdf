"""Lesson 05: toy models of superposition. Reference solutions.

Exercises, easiest first (points in brackets; `course check 05` grades them):

    1. generate_batch          sparse synthetic features                                  [2]
    2. ToyModel.forward        h = W x, x' = ReLU(W^T h + b), for every instance at once  [2]
    3. importance_loss         the importance-weighted squared error                      [1]
    4. train                   the batched training loop (graded by the loss it reaches)  [3]
    5. interference            how much the other features leak into a feature            [1]
    6. feature_dimensionality  the share of a dimension each feature gets                 [2]
    7. dimensions_per_feature  D* = n_hidden / ||W||_F^2                                  [1]
    8. classify_phase          reading the 2-features-in-1-dimension phase diagram         [2]

Shapes follow ARENA: W is (n_instances, n_hidden, n_features); batches are (batch, n_instances, n_features).
"""

from dataclasses import dataclass

import torch
from torch import Tensor, nn


@dataclass
class ToyModelConfig:
    n_features: int = 5  # sparse input features
    n_hidden: int = 2  # width of the bottleneck
    n_instances: int = 8  # models trained side by side


def generate_batch(feature_probability: Tensor, n_features: int, batch_size: int) -> Tensor:
    """A batch of sparse features, (batch_size, n_instances, n_features).

    feature_probability: (n_instances,). Each feature of each example is active with its instance's
    probability; an active feature's value is uniform on [0, 1), an inactive one is 0.
    """
    # BEGIN SOLUTION hint: draw the values with torch.rand, draw a second torch.rand to decide who is active
    n_instances = feature_probability.shape[0]
    values = torch.rand(batch_size, n_instances, n_features)
    active = torch.rand(batch_size, n_instances, n_features) < feature_probability[None, :, None]
    return torch.where(active, values, torch.zeros(()))
    # END SOLUTION


class ToyModel(nn.Module):
    """n_instances toy models: W (n_instances, n_hidden, n_features), b_final (n_instances, n_features)."""

    def __init__(self, cfg: ToyModelConfig, feature_probability: Tensor | None = None, importance: Tensor | None = None):
        super().__init__()
        self.cfg = cfg
        self.W = nn.Parameter(nn.init.xavier_normal_(torch.empty(cfg.n_instances, cfg.n_hidden, cfg.n_features)))
        self.b_final = nn.Parameter(torch.zeros(cfg.n_instances, cfg.n_features))
        p = torch.ones(cfg.n_instances) if feature_probability is None else torch.as_tensor(feature_probability)
        imp = torch.ones(cfg.n_features) if importance is None else torch.as_tensor(importance)
        self.register_buffer("feature_probability", p.float())  # (n_instances,)
        self.register_buffer("importance", imp.float())  # (n_features,)

    def forward(self, features: Tensor) -> Tensor:
        """(batch, n_instances, n_features) -> (batch, n_instances, n_features): ReLU(W^T W x + b)."""
        # BEGIN SOLUTION hint: two einsums, "batch inst feat, inst hidden feat -> batch inst hidden" and back
        h = torch.einsum("bif,ihf->bih", features, self.W)
        out = torch.einsum("bih,ihf->bif", h, self.W) + self.b_final
        return torch.relu(out)
        # END SOLUTION


def importance_loss(out: Tensor, batch: Tensor, importance: Tensor) -> Tensor:
    """Importance-weighted squared error: mean over the batch and the features, summed over instances.

    out, batch: (batch, n_instances, n_features); importance: (n_features,). Returns a 0-d tensor.
    """
    # BEGIN SOLUTION hint: the importance multiplies each feature's squared error before you average
    err = importance * (batch - out) ** 2
    return err.mean(dim=(0, 2)).sum()
    # END SOLUTION


def dimensions_per_feature(W: Tensor) -> Tensor:
    """(n_instances,): D* = n_hidden / ||W||_F^2, the dimensions each represented feature gets on average."""
    # BEGIN SOLUTION
    return W.shape[1] / (W**2).sum(dim=(1, 2))
    # END SOLUTION


def interference(W: Tensor) -> Tensor:
    """(n_instances, n_features): for each feature i, the sum over j != i of (Ŵ_i . W_j)^2,
    where Ŵ_i is W_i (column i of W) scaled to unit length."""
    # BEGIN SOLUTION hint: normalise the columns, then one einsum gives every Ŵ_i . W_j; drop the diagonal
    unit = W / W.norm(dim=1, keepdim=True).clamp(min=1e-8)
    overlap = torch.einsum("nhi,nhj->nij", unit, W) ** 2
    return overlap.sum(-1) - torch.diagonal(overlap, dim1=-2, dim2=-1)
    # END SOLUTION


def feature_dimensionality(W: Tensor) -> Tensor:
    """(n_instances, n_features): D_i = ||W_i||^2 / sum over all j of (Ŵ_i . W_j)^2; 0 where ||W_i|| is 0."""
    # BEGIN SOLUTION hint: the sum in the denominator includes j = i, which contributes ||W_i||^2 itself
    norms2 = (W**2).sum(dim=1)
    unit = W / W.norm(dim=1, keepdim=True).clamp(min=1e-8)
    denom = (torch.einsum("nhi,nhj->nij", unit, W) ** 2).sum(-1)
    return torch.where(norms2 > 1e-6, norms2 / denom.clamp(min=1e-12), torch.zeros_like(norms2))
    # END SOLUTION


def classify_phase(W: Tensor, threshold: float = 0.5) -> Tensor:
    """Phases of 2-features-in-1-dimension models. W: (n_instances, 1, 2) -> (n_instances,) long:

    0 "not represented"      only feature 1 has |w| > threshold
    1 "dedicated dimension"  only feature 2 has |w| > threshold
    2 "superposition"        both do, with opposite signs (antipodal)
    3 anything else
    """
    # BEGIN SOLUTION hint: start from torch.full(..., 3) and overwrite with boolean masks
    w = W.reshape(-1, 2)
    on = w.abs() > threshold
    phase = torch.full((w.shape[0],), 3, dtype=torch.long)
    phase[on[:, 0] & ~on[:, 1]] = 0
    phase[~on[:, 0] & on[:, 1]] = 1
    phase[on[:, 0] & on[:, 1] & (w[:, 0] * w[:, 1] < 0)] = 2
    return phase
    # END SOLUTION


def train(model: ToyModel, steps: int = 2000, batch_size: int = 512, lr: float = 1e-2) -> ToyModel:
    """Train all instances of `model` at once with Adam on fresh batches; return the model.

    Use your generate_batch, model.forward and importance_loss.
    """
    # BEGIN SOLUTION hint: one Adam over model.parameters(); each step: batch, forward, loss, zero_grad, backward, step
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(steps):
        batch = generate_batch(model.feature_probability, model.cfg.n_features, batch_size)
        loss = importance_loss(model(batch), batch, model.importance)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model
    # END SOLUTION
