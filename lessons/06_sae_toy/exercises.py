# Exercises for lesson 06: Sparse autoencoders on toy data. Fill in each `raise NotImplementedError`, then run `course check 06`.
# (Generated from solutions.py by `course sync`; edit your own copy, made by `course start 06`.)
"""Lesson 06: sparse autoencoders on toy data. Your exercises: fill in each `raise NotImplementedError`.

Exercises, easiest first (points in brackets; `course check 06` grades them):

     1. SAE.forward             subtract b_dec, encode, activate, decode                          [2]
     2. sae_loss                squared error + the L1 penalty weighted by decoder norms           [2]
     3. normalise_decoder       unit-norm decoder rows                                             [1]
     4. remove_parallel_grad    drop the part of each row's gradient along the row                 [1]
     5. topk_activation         keep each input's k largest latents                                [1]
     6. batch_topk_activation   keep the batch's k * batch_size largest latents                    [2]
     7. mean_max_cosine         how well the decoder rows match known features                     [1]
     8. train_step              one training step, in the right order (graded through `train`)     [2]
     9. train (given)           your SAE, trained by your train_step, recovers toy features        [3]
                                (mean max cosine >= 0.9 within 60 s)
    10. resample_dead           re-initialise dead latents towards badly reconstructed inputs      [2]
    11. JumpReLU.forward        z * H(z - threshold)                                               [1]
    12. JumpReLU.backward       the straight-through pseudo-gradient with a rectangle kernel       [2]

Names follow SAELens: W_enc (d_in, d_sae), b_enc (d_sae,), W_dec (d_sae, d_in), b_dec (d_in,). Batches of
activations are (batch, d_in); latent activations are (batch, d_sae).
"""

from dataclasses import dataclass

import torch
from torch import Tensor, nn


@dataclass
class SAEConfig:
    d_in: int  # width of the activations
    d_sae: int  # number of latents (the dictionary size)
    k: int = 0  # 0: a ReLU SAE (sparsity from the L1 penalty); k > 0: a TopK SAE keeping k latents per input


# ------------------------------------------------------------------------------------ 1. the SAE


class SAE(nn.Module):
    """A sparse autoencoder: pre = (x - b_dec) W_enc + b_enc, acts = f(pre), x̂ = acts W_dec + b_dec."""

    def __init__(self, cfg: SAEConfig):
        super().__init__()
        self.cfg = cfg
        W_dec = torch.randn(cfg.d_sae, cfg.d_in)
        W_dec = W_dec / W_dec.norm(dim=1, keepdim=True)
        self.W_dec = nn.Parameter(W_dec)  # (d_sae, d_in): one unit-norm direction per latent
        self.W_enc = nn.Parameter(W_dec.T.clone())  # (d_in, d_sae): tied to the decoder at the start
        self.b_enc = nn.Parameter(torch.zeros(cfg.d_sae))
        self.b_dec = nn.Parameter(torch.zeros(cfg.d_in))

    def activation(self, pre: Tensor) -> Tensor:
        """ReLU for a ReLU SAE, TopK (your exercise 5) when cfg.k > 0."""
        return topk_activation(pre, self.cfg.k) if self.cfg.k > 0 else torch.relu(pre)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """x (batch, d_in) -> (x_hat (batch, d_in), acts (batch, d_sae)).

        Subtract b_dec from x, multiply by W_enc, add b_enc (the pre-activations), apply self.activation, then
        decode: acts W_dec + b_dec.
        """
        # Hint: pre = (x - self.b_dec) @ self.W_enc + self.b_enc; acts = self.activation(pre)
        raise NotImplementedError("forward: your code here")


# ------------------------------------------------------------------------------------ 2. the loss


def sae_loss(x: Tensor, x_hat: Tensor, acts: Tensor, W_dec: Tensor, l1_coefficient: float) -> Tensor:
    """The SAE's training loss, a 0-d tensor:

        mean over the inputs of  ||x - x̂||²  +  l1_coefficient * Σ_i acts_i ||W_dec[i]||

    x, x_hat: (..., d_in); acts: (..., d_sae): any leading axes (a batch, or batch x positions) are inputs. The
    squared error is summed over the d_in dimensions, each latent's activation weighted by its decoder row's norm.
    """
    # Hint: W_dec.norm(dim=1) is each latent's decoder norm, (d_sae,); it multiplies acts
    raise NotImplementedError("sae_loss: your code here")


# ------------------------------------------------------------------------------------ 3-4. decoder upkeep


def normalise_decoder(W_dec: Tensor) -> Tensor:
    """W_dec (d_sae, d_in) with every row scaled to unit length."""
    # Hint: a row's norm is over d_in, the last axis; keepdim=True lets it divide
    raise NotImplementedError("normalise_decoder: your code here")


def remove_parallel_grad(W_dec: Tensor, grad: Tensor) -> Tensor:
    """The gradient `grad` (d_sae, d_in) of W_dec (unit-norm rows) without its component along each row:
    grad_i - (grad_i . W_i) W_i. What is left can only turn a row, not change its length."""
    # Hint: (grad * W_dec).sum(dim=1, keepdim=True) is each row's component along itself
    raise NotImplementedError("remove_parallel_grad: your code here")


# ------------------------------------------------------------------------------------ 5-6. TopK, BatchTopK


def topk_activation(pre: Tensor, k: int) -> Tensor:
    """(..., d_sae) -> (..., d_sae): for each input (the last axis holds its latents), keep the k largest
    ReLU(pre) values and zero the rest."""
    # Hint: torch.topk(..., dim=-1) gives values and indices; scatter them into zeros
    raise NotImplementedError("topk_activation: your code here")


def batch_topk_activation(pre: Tensor, k: int) -> Tensor:
    """(batch, d_sae) -> (batch, d_sae): keep the k * batch largest ReLU(pre) values of the whole batch, zero
    the rest. Inputs may use more or fewer than k latents; on average they use exactly k (when the batch has
    that many positive values)."""
    # Hint: flatten, topk over everything, scatter, reshape back
    raise NotImplementedError("batch_topk_activation: your code here")


# ------------------------------------------------------------------------------------ 7. ground truth


def mean_max_cosine(W_dec: Tensor, features: Tensor) -> Tensor:
    """For each true feature (rows of features, (n_features, d_in)), its best cosine similarity with any
    decoder row (rows of W_dec, (d_sae, d_in)), averaged over the features. A 0-d tensor; 1 means every true
    feature has a latent pointing exactly its way."""
    # Hint: normalise both sets of rows; (n_features, d_sae) cosines; max over the latents
    raise NotImplementedError("mean_max_cosine: your code here")


# ------------------------------------------------------------------------------------ 8-9. training


def train_step(sae: SAE, x: Tensor, optimizer: torch.optim.Optimizer, l1_coefficient: float) -> float:
    """One training step on the batch x; returns the loss (a float). In this order:

    forward; sae_loss; zero the gradients; backward; replace W_dec's gradient by remove_parallel_grad of it;
    the optimiser's step; then set W_dec to normalise_decoder(W_dec) (without tracking gradients).
    """
    # Hint: sae.W_dec.grad = remove_parallel_grad(sae.W_dec.data, sae.W_dec.grad), then later under torch.no_grad(): sae.W_dec.copy_(...)
    raise NotImplementedError("train_step: your code here")


def train(sae: SAE, data: Tensor, steps: int = 1000, batch_size: int = 256, lr: float = 3e-3,
          l1_coefficient: float = 0.0, seed: int = 0) -> SAE:
    """Train `sae` on random batches of `data` (n, d_in) with Adam and your train_step; returns the SAE.
    (Given: b_dec starts at the data's mean, as in Anthropic's and OpenAI's recipes.)"""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        sae.b_dec.copy_(data.mean(0))
    optimizer = torch.optim.Adam(sae.parameters(), lr=lr)
    for _ in range(steps):
        x = data[torch.randint(0, data.shape[0], (batch_size,), generator=g)]
        train_step(sae, x, optimizer, l1_coefficient)
    return sae


# ------------------------------------------------------------------------------------ 10. dead latents


def resample_dead(sae: SAE, x: Tensor, dead: Tensor) -> SAE:
    """Re-initialise the dead latents (dead: (d_sae,) bool) towards the inputs of x (batch, d_in) that the SAE
    reconstructs worst; returns the SAE (changed in place). With n_dead = dead.sum() (at most the batch size):

    * take the n_dead inputs with the largest squared error ||x - x̂||², worst first;
    * their directions from b_dec, (x - b_dec) scaled to unit length, become the dead latents' decoder rows
      (the first dead latent gets the worst input, and so on);
    * the same directions, times 0.2 times the mean encoder-column norm of the live latents, become their
      encoder columns;
    * their encoder biases become 0. Live latents stay exactly as they were.
    """
    # Hint: err.argsort(descending=True)[:n_dead]; assign with sae.W_dec[dead] = ... under torch.no_grad()
    raise NotImplementedError("resample_dead: your code here")


# ------------------------------------------------------------------------------------ 11-12. JumpReLU


class JumpReLU(torch.autograd.Function):
    """JumpReLU(z) = z * H(z - threshold), per latent, with a straight-through pseudo-gradient for the threshold.

    Call it as JumpReLU.apply(z, threshold, bandwidth): z (batch, d_sae), threshold (d_sae,), bandwidth ε > 0.
    """

    @staticmethod
    def forward(ctx, z: Tensor, threshold: Tensor, bandwidth: float) -> Tensor:
        ctx.save_for_backward(z, threshold)
        ctx.bandwidth = bandwidth
        # Hint: (z > threshold) broadcasts the (d_sae,) threshold over the batch
        raise NotImplementedError("forward: your code here")

    @staticmethod
    def backward(ctx, grad_output: Tensor):
        """Returns (grad for z, grad for threshold, None for the bandwidth):

            dL/dz  = grad_output where z > threshold, else 0
            dL/dθ  = Σ over the batch of  -(θ/ε) · rect((z - θ)/ε) · grad_output,   rect(u) = 1 if |u| < 1/2 else 0
        """
        z, threshold = ctx.saved_tensors
        eps = ctx.bandwidth
        # Hint: rect((z - θ)/ε) is ((z - threshold).abs() < eps / 2); sum over the batch (dim 0)
        raise NotImplementedError("backward: your code here")


def jumprelu_forward(z: Tensor, threshold: Tensor, bandwidth: float) -> Tensor:
    """(Given.) Your JumpReLU's output."""
    with torch.no_grad():
        return JumpReLU.apply(z, threshold, bandwidth)


def jumprelu_grads(z: Tensor, threshold: Tensor, bandwidth: float, grad_output: Tensor) -> tuple[Tensor, Tensor]:
    """(Given.) Your JumpReLU's gradients (dL/dz, dL/dθ) when the gradient arriving from above is grad_output."""
    z = z.clone().requires_grad_(True)
    threshold = threshold.clone().requires_grad_(True)
    JumpReLU.apply(z, threshold, bandwidth).backward(grad_output)
    return z.grad, threshold.grad
