# Exercises for lesson 05: Toy models of superposition. Fill in each `raise NotImplementedError`, then run `course check 05`.
# (Generated from solutions.py by `course sync`; edit your own copy, made by `course start 05`.)
"""Lesson 05: toy models of superposition. Your exercises: fill in each `raise NotImplementedError`.

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
    # Hint: draw the values with torch.rand, draw a second torch.rand to decide who is active
    raise NotImplementedError("generate_batch: your code here")


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
        # Hint: two einsums, "batch inst feat, inst hidden feat -> batch inst hidden" and back
        raise NotImplementedError("forward: your code here")


def importance_loss(out: Tensor, batch: Tensor, importance: Tensor) -> Tensor:
    """Importance-weighted squared error: mean over the batch and the features, summed over instances.

    out, batch: (batch, n_instances, n_features); importance: (n_features,). Returns a 0-d tensor.
    """
    # Hint: the importance multiplies each feature's squared error before you average
    raise NotImplementedError("importance_loss: your code here")


def dimensions_per_feature(W: Tensor) -> Tensor:
    """(n_instances,): D* = n_hidden / ||W||_F^2, the dimensions each represented feature gets on average."""
    raise NotImplementedError("dimensions_per_feature: your code here")


def interference(W: Tensor) -> Tensor:
    """(n_instances, n_features): for each feature i, the sum over j != i of (Ŵ_i . W_j)^2,
    where Ŵ_i is W_i (column i of W) scaled to unit length."""
    # Hint: normalise the columns, then one einsum gives every Ŵ_i . W_j; drop the diagonal
    raise NotImplementedError("interference: your code here")


def feature_dimensionality(W: Tensor) -> Tensor:
    """(n_instances, n_features): D_i = ||W_i||^2 / sum over all j of (Ŵ_i . W_j)^2; 0 where ||W_i|| is 0."""
    # Hint: the sum in the denominator includes j = i, which contributes ||W_i||^2 itself
    raise NotImplementedError("feature_dimensionality: your code here")


def classify_phase(W: Tensor, threshold: float = 0.5) -> Tensor:
    """Phases of 2-features-in-1-dimension models. W: (n_instances, 1, 2) -> (n_instances,) long:

    0 "not represented"      only feature 1 has |w| > threshold
    1 "dedicated dimension"  only feature 2 has |w| > threshold
    2 "superposition"        both do, with opposite signs (antipodal)
    3 anything else
    """
    # Hint: start from torch.full(..., 3) and overwrite with boolean masks
    raise NotImplementedError("classify_phase: your code here")


def train(model: ToyModel, steps: int = 2000, batch_size: int = 512, lr: float = 1e-2) -> ToyModel:
    """Train all instances of `model` at once with Adam on fresh batches; return the model.

    Use your generate_batch, model.forward and importance_loss.
    """
    # Hint: one Adam over model.parameters(); each step: batch, forward, loss, zero_grad, backward, step
    raise NotImplementedError("train: your code here")
