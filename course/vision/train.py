"""The recipe that grows the course's vision model: SceneNet trained on dead-leaves scenes, seeded, on the CPU.

`course train scenenet` runs `build` (with a progress bar) and saves `course/checkpoints/scenenet.{safetensors,
json}`; the JSON's metrics hold the held-out accuracies and the detector census's bar figures, measured on the
weights being saved. It takes about 13 minutes on 2 free CPU cores (19 on a busy one): one core trains (torch
on one thread, which also makes the run bit-for-bit repeatable), a background process makes the scenes on the
fly. Batch b is scenes b * batch ... (b + 1) * batch - 1, used for `reuse` steps, each time turned or mirrored
differently; held-out scenes start at `EVAL_OFFSET`. So a run is a pure function of the seed.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from course.registry import Trained, recipe
from course.vision.models import NetConfig, SceneNet
from course.vision.scenes import CLASSES, SceneConfig, Scenes

EVAL_OFFSET = 10_000_000  # held-out scenes: indices from here on are never trained on


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 6000  # optimiser steps
    batch: int = 64  # scenes per step
    reuse: int = 2  # each batch of scenes is used for this many steps, turned or mirrored differently each time
    lr: float = 2e-3  # AdamW peak learning rate (linear warm-up, then cosine decay to zero)
    weight_decay: float = 1e-4
    warmup: float = 0.05  # fraction of steps spent warming up
    eval_scenes: int = 1024  # held-out scenes for the final accuracies
    threads: int = 1  # torch threads for the model (one core; a second core makes the scenes)
    workers: int = 1  # processes making scenes in the background (0: make them between steps)


class SceneStream(torch.utils.data.IterableDataset):
    """Training batches in order: batch b holds scenes b * size ... (b + 1) * size - 1."""

    def __init__(self, scenes: Scenes, size: int, batches: int):
        self.scenes, self.size, self.batches = scenes, size, batches

    def __iter__(self):
        for b in range(self.batches):
            yield self.scenes.batch(range(b * self.size, (b + 1) * self.size))


def dihedral(x: torch.Tensor, y: torch.Tensor, d: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The d-th of the 8 rotations and mirror images (0: as is) of images (N, 3, S, S) and their labels (N, s, s).

    Exact for the labels: they are the classes at the cells' centres, which the same turn maps onto each other.
    """
    x, y = torch.rot90(x, d % 4, (2, 3)), torch.rot90(y, d % 4, (1, 2))
    return (x.flip(3), y.flip(2)) if d >= 4 else (x, y)


def evaluate(model: SceneNet, scenes: Scenes, n: int, device) -> dict:
    """Per-cell accuracy and mean per-class accuracy (recall) on `n` held-out scenes."""
    was_training = model.training
    model.eval()
    correct = torch.zeros(len(CLASSES))
    total = torch.zeros(len(CLASSES))
    with torch.no_grad():
        for start in range(0, n, 256):
            x, y = scenes.batch(range(EVAL_OFFSET + start, EVAL_OFFSET + min(n, start + 256)), device)
            pred = model(x).argmax(1)
            total += torch.bincount(y.flatten().cpu(), minlength=len(CLASSES)).float()
            correct += torch.bincount(y[pred == y].cpu(), minlength=len(CLASSES)).float()
    model.train(was_training)
    return {"cell_accuracy": round(float(correct.sum() / total.sum()), 4),
            "class_accuracy": round(float((correct / total.clamp_min(1)).mean()), 4),
            **{f"recall_{c}": round(float(correct[i] / max(total[i], 1)), 4) for i, c in enumerate(CLASSES)}}


def fit(net: NetConfig, data: SceneConfig, cfg: TrainConfig, seed: int, device,
        progress: bool = True) -> tuple[SceneNet, dict]:
    """Train a SceneNet from seed `seed`; returns it (eval mode) and its metrics."""
    threads = torch.get_num_threads()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    try:
        return _fit(net, data, cfg, seed, device, progress)
    finally:
        torch.set_num_threads(threads)


def _fit(net: NetConfig, data: SceneConfig, cfg: TrainConfig, seed: int, device, progress: bool):
    torch.manual_seed(seed)
    model = SceneNet(net).to(device)
    scenes = Scenes(data)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    warm = max(1, int(cfg.warmup * cfg.steps))
    decay = max(1, cfg.steps - warm)
    sched = torch.optim.lr_scheduler.LambdaLR(  # linear warm-up, then a cosine down to zero
        opt, lambda s: (s + 1) / warm if s < warm else 0.5 * (1 + math.cos(math.pi * (s - warm) / decay)))
    start, running = time.perf_counter(), None
    batches = -(-cfg.steps // cfg.reuse)
    stream = torch.utils.data.DataLoader(SceneStream(scenes, cfg.batch, batches), batch_size=None,
                                         num_workers=cfg.workers, prefetch_factor=4 if cfg.workers else None)
    bar = tqdm(total=cfg.steps, desc="training scenenet", disable=not progress, unit="step")
    step = 0
    for b, (xb, yb) in enumerate(stream):
        xb, yb = xb.to(device), yb.to(device)  # (B, 3, S, S), (B, S/8, S/8)
        for use in range(min(cfg.reuse, cfg.steps - step)):
            x, y = dihedral(xb, yb, (b + 3 * use) % 8)
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            running = float(loss.detach()) if running is None else 0.98 * running + 0.02 * float(loss.detach())
            step += 1
            bar.update()
            if step % 20 == 0:
                bar.set_postfix(loss=f"{running:.3f}")
    bar.close()
    seconds = time.perf_counter() - start
    model.eval()
    metrics = {**evaluate(model, scenes, cfg.eval_scenes, device), "train_loss": round(running, 4),
               "train_seconds": round(seconds, 1), "train_images_per_second": round(cfg.steps * cfg.batch / seconds, 1)}
    return model, metrics


NAME = "scenenet"
NET = NetConfig()
DATA = SceneConfig()
TRAIN = TrainConfig()


def config_json(net: NetConfig, data: SceneConfig, cfg: TrainConfig) -> dict:
    return {"net": net.to_json(), "scenes": asdict(data), "train": asdict(cfg), "census_size": [data.size, data.size]}


@recipe(NAME, kind="vision", minutes=15, seed=0,
        description="SceneNet: 5 conv layers trained to label dead-leaves scenes; curve and high-low detectors")
def build(seed: int, device, progress: bool = True) -> Trained:
    from course.vision.census import measure, summary

    model, metrics = fit(NET, DATA, TRAIN, seed, device, progress)
    record = measure(model, model.layers, (DATA.size, DATA.size))
    metrics.update(summary(record))
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    return Trained(state, config_json(NET, DATA, TRAIN), metrics)
