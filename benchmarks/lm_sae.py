"""Throughput of the tiny LM and the SAE trainer on this machine.

    python benchmarks/lm_sae.py [--steps 20]

* LM training: tokens per second of `course train pylm`'s step (the shipped model's shape, batch 32 x 128);
* activation caching: tokens per second through the LM to `blocks.0.mlp.hook_post` (no gradients);
* SAE training: inputs (tokens) per second of one optimiser step, for each variant (ReLU + L1, TopK,
  BatchTopK), d_in 512, d_sae 2048, batch 1024.
Prints a Markdown table (paste it into the README).
"""

from __future__ import annotations

import argparse
import os
import time

import torch

from course.device import cpu_name
from course.lm.model import LMConfig, TinyLM
from course.sae import SAE, SAEConfig
from course.sae.metrics import mean_max_cosine
from course.sae.toy import SparseFeatures, SparseFeaturesConfig
from course.sae.train import SAETrainConfig, train_sae


def timed(fn, steps: int) -> float:
    fn()  # warm up
    t = time.perf_counter()
    for _ in range(steps):
        fn()
    return (time.perf_counter() - t) / steps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=20)
    args = ap.parse_args()
    torch.manual_seed(0)
    model = TinyLM(LMConfig())
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    x = torch.randint(0, 4096, (32, 128))

    def lm_step():
        loss = model(x, return_type="loss")
        opt.zero_grad()
        loss.backward()
        opt.step()

    lm = timed(lm_step, args.steps)
    model.eval()
    xs = torch.randint(0, 4096, (64, 128))
    with torch.no_grad():
        cache = timed(lambda: model.run_with_cache(xs, names_filter="blocks.0.mlp.hook_post"), args.steps)
    print(f"LM and SAE throughput on {cpu_name()}, {os.cpu_count()} CPUs, {torch.get_num_threads()} threads, "
          f"torch {torch.__version__}\n")
    print("| job | tokens per second |")
    print("|---|---|")
    print(f"| LM training step (1 layer, d_model 128, d_mlp 512, vocab 4096; batch 32 x 128) | {32 * 128 / lm:,.0f} |")
    print(f"| activation caching to blocks.0.mlp.hook_post (batch 64 x 128) | {64 * 128 / cache:,.0f} |")
    acts = torch.relu(torch.randn(20_000, 512))
    for arch in ("relu", "topk", "batchtopk"):
        sae = SAE(SAEConfig(512, 2048, arch, k=24, l1_coefficient=1.0))
        t = time.perf_counter()
        train_sae(sae, acts, SAETrainConfig(steps=args.steps, batch_size=1024, log_every=10**9))
        per_step = (time.perf_counter() - t) / args.steps
        print(f"| SAE training step, {arch} (512 -> 2048, batch 1024) | {1024 / per_step:,.0f} |")
    # the toy bar of tests/sae/test_sae.py: 256 sparse features in 64 dimensions, TopK k=6, 1,500 steps
    data = SparseFeatures(SparseFeaturesConfig(n_features=256, d=64, p=0.02))
    g = torch.Generator().manual_seed(1)
    sae = SAE(SAEConfig(d_in=64, d_sae=512, architecture="topk", k=6), generator=g)
    t = time.perf_counter()
    train_sae(sae, lambda n: data.sample(n, g), SAETrainConfig(steps=1500, batch_size=1024, lr=1e-3, dead_after=50_000))
    seconds = time.perf_counter() - t
    print(f"\nToy bar (256 features in 64 dimensions, TopK k=6, 1,500 steps of 1,024): {seconds:.1f} s, "
          f"mean max cosine {mean_max_cosine(sae.W_dec, data.features):.3f}")


if __name__ == "__main__":
    main()
