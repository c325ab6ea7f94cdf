"""Training the tiny LM on the standard library, and loading the shipped one.

    course train pylm          # the recipe below: tokenizer, then the model, with a progress bar
    model, tok = load("pylm")  # the shipped model (eval mode) and its tokenizer, both verified by sha256

Recipe: a 4,096-token byte-level BPE trained on the train split, then a 1-layer TinyLM (d_model 128, d_mlp
512: the shape of Anthropic's one-layer "Towards Monosemanticity" models, scaled down) trained with AdamW on
random 128-token windows, a linear warm-up and a cosine decay. Seeded; sized to take under 30 minutes on a
2-core laptop CPU (see `benchmarks/lm_sae.py` for tokens per second).
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import asdict, dataclass

import torch

from course import registry
from course.lm.corpus import read_texts, split_files
from course.lm.data import TokenData, encode_texts, token_data
from course.lm.model import LMConfig, TinyLM
from course.lm.tokenizer import load_tokenizer, tokenizer_bytes, train_tokenizer


@dataclass
class LMTrainConfig:
    steps: int = 4_000  # optimiser steps (16M tokens: about 25 minutes on 2 idle cores)
    batch_size: int = 32  # windows per step (each n_ctx tokens)
    lr: float = 3e-3  # peak learning rate
    warmup_steps: int = 200  # linear warm-up
    min_lr_fraction: float = 0.1  # the cosine decays to this fraction of the peak
    weight_decay: float = 0.1  # AdamW, on matrices only
    eval_every: int = 500  # evaluate on held-out windows every this many steps
    eval_windows: int = 256  # held-out windows per evaluation
    vocab_size: int = 4096  # BPE vocabulary


def lr_at(step: int, cfg: LMTrainConfig) -> float:
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    t = (step - cfg.warmup_steps) / max(cfg.steps - cfg.warmup_steps, 1)
    return cfg.lr * (cfg.min_lr_fraction + (1 - cfg.min_lr_fraction) * 0.5 * (1 + math.cos(math.pi * t)))


@torch.no_grad()
def evaluate(model: TinyLM, data: TokenData, n_windows: int = 256, batch_size: int = 64) -> float:
    """Mean next-token loss on the first `n_windows` consecutive held-out windows."""
    model.eval()
    windows = data.sequential(model.cfg.n_ctx, n_windows)
    losses = [model(w, return_type="loss").item() * len(w) for w in windows.split(batch_size)]
    model.train()
    return sum(losses) / len(windows)


def train_lm(model: TinyLM, train: TokenData, val: TokenData, cfg: LMTrainConfig, seed: int = 0,
             progress: bool = True) -> dict:
    """Train in place; returns metrics (final train and val loss, tokens seen, seconds)."""
    gen = torch.Generator().manual_seed(seed)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2 and "W_pos" not in n]
    no_decay = [p for n, p in model.named_parameters() if not (p.dim() >= 2 and "W_pos" not in n)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=cfg.lr, betas=(0.9, 0.95))
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=cfg.steps, desc="training the LM", unit="step")
    model.train()
    t0, val_loss, loss = time.perf_counter(), float("nan"), torch.tensor(float("nan"))
    try:
        for step in range(cfg.steps):
            for g in opt.param_groups:
                g["lr"] = lr_at(step, cfg)
            x = train.windows(cfg.batch_size, model.cfg.n_ctx, gen)
            loss = model(x, return_type="loss")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            if (step + 1) % cfg.eval_every == 0 or step == cfg.steps - 1:
                val_loss = evaluate(model, val, cfg.eval_windows)
            if bar is not None:
                bar.update(1)
                if step % 20 == 0:
                    bar.set_postfix(loss=f"{loss.item():.3f}", val=f"{val_loss:.3f}")
    finally:
        if bar is not None:
            bar.close()
    model.eval()
    seconds = time.perf_counter() - t0
    return {"train_loss": round(loss.item(), 4), "val_loss": round(val_loss, 4),
            "tokens_seen": cfg.steps * cfg.batch_size * model.cfg.n_ctx, "train_seconds": round(seconds, 1),
            "tokens_per_second": round(cfg.steps * cfg.batch_size * model.cfg.n_ctx / seconds)}


@registry.recipe("pylm", kind="lm", minutes=25, seed=0,
                 description="1-layer TinyLM on the Python standard library, with its BPE tokenizer")
def build_pylm(seed: int, device, progress: bool, cfg: LMTrainConfig | None = None,
               model_cfg: LMConfig | None = None) -> registry.Trained:
    cfg = cfg or LMTrainConfig()
    model_cfg = model_cfg or LMConfig(d_vocab=cfg.vocab_size)
    t0 = time.perf_counter()
    texts = list(read_texts(split_files("train")))  # read once: the tokenizer learns from them, then encodes them
    tok = train_tokenizer(texts, cfg.vocab_size)
    train, val = TokenData(encode_texts(tok, texts), "train"), token_data(tok, "val")
    torch.manual_seed(seed)
    model = TinyLM(model_cfg)
    metrics = train_lm(model, train, val, cfg, seed, progress)
    metrics.update(train_tokens=len(train.tokens), val_tokens=len(val.tokens),
                   total_seconds=round(time.perf_counter() - t0, 1),
                   python=f"{sys.version_info.major}.{sys.version_info.minor}.{sys.version_info.micro}")
    return registry.Trained(model.state_dict(), {"model": asdict(model_cfg), "train": asdict(cfg)}, metrics,
                            files={"tokenizer": tokenizer_bytes(tok)})


def load(name: str = "pylm", device: str = "cpu"):
    """(model in eval mode, tokenizer) of a shipped LM, verified by sha256."""
    state, entry = registry.load_state(name, device=device)
    model = TinyLM(LMConfig(**entry.config["model"])).to(device)
    model.load_state_dict(state)
    return model.eval(), load_tokenizer(entry.file("tokenizer"))


def load_model(name: str = "pylm", device: str = "cpu") -> TinyLM:
    """Just the model of `load` (eval mode); what a graded check builds with `Build("course.lm.train:load_model")`."""
    return load(name, device)[0]
