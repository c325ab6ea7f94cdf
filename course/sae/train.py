"""Training sparse autoencoders on a stream of activations.

    sae = SAE(SAEConfig(d_in=64, d_sae=512, architecture="topk", k=8))
    log = train_sae(sae, source, SAETrainConfig(steps=3000, batch_size=1024), progress=True)

`source` is anything that yields (batch, d_in) activation tensors: a tensor (batches are sampled from it), an
iterator (a stream larger than memory, e.g. `course.lm.activations.ActivationStore`) or a callable taking the
batch size. The trainer does what current recipes do (Anthropic's "Towards Monosemanticity" and its updates;
Gao et al. 2024; SAELens):

* Adam with a linear learning-rate warm-up and a linear decay over the last `decay_fraction` of training;
* for the ReLU SAE, the L1 coefficient warms up from 0 over `l1_warmup_fraction` of training;
* activation normalisation: inputs are scaled so that E||x||² = d_in (measured on the first batches);
* b_dec starts at the geometric median's cheap cousin, the mean of the first batches;
* dead latents (no activation for `dead_after` inputs) are counted all along, and revived: TopK/BatchTopK get
  the auxiliary loss of Gao et al. (the dead latents' top `aux_k` reconstruct the residual), the ReLU SAE gets
  them resampled towards badly reconstructed inputs;
* unit-norm decoder rows, with the gradient's parallel part removed before each step;
* optional checkpoints every `checkpoint_every` steps (safetensors).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import torch
from torch import Tensor

from course.sae.sae import SAE


@dataclass
class SAETrainConfig:
    steps: int = 3_000  # optimiser steps
    batch_size: int = 1024  # inputs per step
    lr: float = 4e-4  # Adam's peak learning rate
    warmup_steps: int = 100  # linear learning-rate warm-up
    decay_fraction: float = 0.2  # linear decay to zero over this final fraction of training
    l1_warmup_fraction: float = 0.05  # relu: the L1 coefficient ramps up over this first fraction
    dead_after: int = 200_000  # a latent that has not fired for this many inputs counts as dead
    aux_k: int = 256  # topk/batchtopk: dead latents used by the auxiliary loss
    aux_coefficient: float = 1 / 32  # weight of the auxiliary loss
    resample_every: int = 1_000  # relu: resample dead latents every this many steps (0: never)
    checkpoint_every: int = 0  # save every this many steps (0: never)
    checkpoint_dir: str | None = None  # where checkpoints go
    log_every: int = 50  # record metrics every this many steps
    seed: int = 0
    threads: int | None = None  # torch intra-op threads while training (None: torch's); 1 suits small SAEs on a
    #                             busy machine, where a second thread mostly waits for the core


@dataclass
class TrainLog:
    step: list[int] = field(default_factory=list)
    mse: list[float] = field(default_factory=list)  # on the normalised inputs
    l0: list[float] = field(default_factory=list)
    dead_fraction: list[float] = field(default_factory=list)

    def __repr__(self) -> str:
        if not self.step:
            return "TrainLog(empty)"
        return (f"TrainLog({len(self.step)} entries; last: step {self.step[-1]}, mse {self.mse[-1]:.4g}, "
                f"l0 {self.l0[-1]:.1f}, dead {self.dead_fraction[-1]:.1%})")


def batches(source, batch_size: int, generator: torch.Generator | None = None) -> Iterator[Tensor]:
    """An endless stream of (batch_size, d_in) batches from a tensor, an iterable or a callable."""
    if isinstance(source, Tensor):
        while True:
            idx = torch.randint(0, source.shape[0], (batch_size,), generator=generator)
            yield source[idx]
    elif callable(source):
        while True:
            yield source(batch_size)
    else:
        buffer: list[Tensor] = []
        n = 0
        for chunk in itertools.cycle(source) if isinstance(source, (list, tuple)) else source:
            buffer.append(chunk.reshape(-1, chunk.shape[-1]))
            n += buffer[-1].shape[0]
            while n >= batch_size:
                flat = torch.cat(buffer)
                yield flat[:batch_size]
                buffer, n = [flat[batch_size:]], flat.shape[0] - batch_size


def lr_at(step: int, cfg: SAETrainConfig) -> float:
    warm = min(1.0, (step + 1) / max(cfg.warmup_steps, 1))
    decay_start = cfg.steps * (1 - cfg.decay_fraction)
    decay = 1.0 if step < decay_start else max(0.0, (cfg.steps - step) / max(cfg.steps - decay_start, 1))
    return cfg.lr * warm * decay


def aux_loss(sae: SAE, x: Tensor, x_hat: Tensor, pre: Tensor, dead: Tensor, aux_k: int) -> Tensor:
    """Gao et al.'s AuxK: the top `aux_k` dead latents try to reconstruct the residual x - x̂ (normalised)."""
    n_dead = int(dead.sum())
    if n_dead == 0:
        return x.new_zeros(())
    residual = x - x_hat
    masked = torch.where(dead, torch.relu(pre), torch.zeros((), device=pre.device))
    vals, idx = masked.topk(min(aux_k, n_dead), dim=-1)
    acts = torch.zeros_like(pre).scatter_(-1, idx, vals)
    recon = acts @ sae.W_dec
    denom = (residual - residual.mean(0)).pow(2).sum(-1).mean().clamp(min=1e-8)
    return (recon - residual).pow(2).sum(-1).mean() / denom


@torch.no_grad()
def resample(sae: SAE, x: Tensor, dead: Tensor, generator: torch.Generator | None = None) -> int:
    """Point dead latents at inputs the SAE reconstructs badly (Anthropic, "Towards Monosemanticity")."""
    n_dead = int(dead.sum())
    if n_dead == 0:
        return 0
    xn = x * sae.norm_scale
    err = (xn - (sae.activate(sae.pre_acts(x), batch_topk=True) @ sae.W_dec + sae.b_dec)).pow(2).sum(-1)
    pick = torch.multinomial(err + 1e-12, n_dead, replacement=n_dead > len(err), generator=generator)
    directions = xn[pick] - sae.b_dec
    directions /= directions.norm(dim=-1, keepdim=True).clamp(min=1e-8)
    alive_norm = sae.W_enc[:, ~dead].norm(dim=0).mean() if (~dead).any() else torch.tensor(1.0)
    sae.W_dec[dead] = directions
    sae.W_enc[:, dead] = directions.T * alive_norm * 0.2
    sae.b_enc[dead] = 0.0
    return n_dead


def train_sae(sae: SAE, source, cfg: SAETrainConfig | None = None,
              progress: bool | Callable[[float], None] = False,
              callback: Callable[[int, SAE], bool | None] | None = None) -> TrainLog:
    """Train `sae` in place on batches from `source`; returns the logged metrics.

    An SAE that defines `extra_loss(xn, pre, acts, fraction)` (JumpReLU's L0 penalty, Matryoshka's prefix
    losses) has it added to the loss. `callback(step, sae)` runs at every log point (in eval mode, without
    gradients); returning True stops training there (the benchmark's "time to a target").
    """
    cfg = cfg or SAETrainConfig()
    gen = torch.Generator().manual_seed(cfg.seed)
    stream = batches(source, cfg.batch_size, gen)
    device = sae.W_dec.device
    arch = sae.cfg.architecture

    # normalisation and b_dec from the first few batches
    first = torch.cat([next(stream) for _ in range(4)]).to(device).float()
    with torch.no_grad():
        sae.norm_scale.fill_(math.sqrt(sae.cfg.d_in / first.pow(2).sum(-1).mean().clamp(min=1e-12).item()))
        sae.b_dec.copy_((first * sae.norm_scale).mean(0))

    opt = torch.optim.Adam(sae.parameters(), lr=cfg.lr, betas=(0.9, 0.999))
    since_fired = torch.zeros(sae.cfg.d_sae, dtype=torch.long, device=device)
    log = TrainLog()
    bar = None
    if progress is True:
        from tqdm import tqdm

        bar = tqdm(total=cfg.steps, desc=f"training {sae!r}", leave=False)
    sae.train()
    threshold_sum, threshold_n = 0.0, 0
    old_threads = torch.get_num_threads()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    try:
        for step in range(cfg.steps):
            x = next(stream).to(device).float()
            for group in opt.param_groups:
                group["lr"] = lr_at(step, cfg)
            pre = sae.pre_acts(x)
            acts = sae.activate(pre, batch_topk=True)
            xn = x * sae.norm_scale
            recon = acts @ sae.W_dec + sae.b_dec
            mse = (recon - xn).pow(2).sum(-1).mean()
            loss = mse
            dead = since_fired >= cfg.dead_after
            extra = getattr(sae, "extra_loss", None)
            if extra is not None:
                loss = loss + extra(xn, pre, acts, step / cfg.steps)
            if arch == "relu":
                l1 = (acts * sae.W_dec.norm(dim=1)).sum(-1).mean()
                loss = loss + sae.cfg.l1_coefficient * min(1.0, step / max(cfg.l1_warmup_fraction * cfg.steps, 1)) * l1
            elif cfg.aux_coefficient > 0 and dead.any():
                loss = loss + cfg.aux_coefficient * aux_loss(sae, xn, recon.detach(), pre, dead, cfg.aux_k)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            sae.remove_parallel_grads()
            opt.step()
            sae.normalise_decoder()

            with torch.no_grad():
                fired = (acts > 0).any(0)
                since_fired += x.shape[0]
                since_fired[fired] = 0
                if arch == "batchtopk" and step >= cfg.steps // 2:  # the inference threshold: late batches only
                    pos = acts[acts > 0]
                    if pos.numel():
                        threshold_sum += pos.min().item()
                        threshold_n += 1
                if arch == "relu" and cfg.resample_every and (step + 1) % cfg.resample_every == 0 \
                        and step < cfg.steps * (1 - cfg.decay_fraction):
                    if resample(sae, x, since_fired >= cfg.dead_after, gen):
                        since_fired[since_fired >= cfg.dead_after] = 0
                        opt.state.clear()  # Adam's moments for the revived latents are stale
            if step % cfg.log_every == 0 or step == cfg.steps - 1:
                log.step.append(step)
                log.mse.append(mse.item())
                log.l0.append((acts > 0).float().sum(-1).mean().item())
                log.dead_fraction.append((since_fired >= cfg.dead_after).float().mean().item())
                if bar is not None:
                    bar.set_postfix(mse=f"{log.mse[-1]:.3g}", l0=f"{log.l0[-1]:.1f}", dead=f"{log.dead_fraction[-1]:.0%}")
                elif callable(progress):
                    progress((step + 1) / cfg.steps)
                if callback is not None:
                    sae.eval()
                    with torch.no_grad():
                        stop = callback(step, sae)
                    sae.train()
                    if stop:
                        break
            if bar is not None:
                bar.update(1)
            if cfg.checkpoint_every and (step + 1) % cfg.checkpoint_every == 0 and cfg.checkpoint_dir:
                save_checkpoint(sae, Path(cfg.checkpoint_dir) / f"sae_step{step + 1}.safetensors")
    finally:
        torch.set_num_threads(old_threads)
        if bar is not None:
            bar.close()
        sae.eval()
    if arch == "batchtopk" and threshold_n:
        sae.threshold.fill_(threshold_sum / threshold_n)
    return log


def save_checkpoint(sae: SAE, path: Path) -> None:
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.detach().cpu().contiguous() for k, v in sae.state_dict().items()}, str(path))

