"""Toy-model training speed: batched instances vs a loop over instances, vs a common reference implementation,
and the time every reproduction of lesson 05 takes.

    python benchmarks/superposition.py [--steps 5000] [--skip-reproductions]

* batched vs loop: the same total work (N instances of the 5-features-in-2-dimensions model, S steps each),
  as one batched model or as N single-instance models trained one after the other, both with our trainer
  (the strict comparison: the loop gets our fast step too), and against a plain loop of the common
  implementation, one instance at a time (what batching replaces in practice).
* reference: the usual implementation (ARENA-style: `nn.Module` with einsum, two `torch.rand` calls per
  batch, autograd, `torch.optim.Adam`), 8 instances at batch 1024 for 5,000 steps, beside ours on the same job.
* reproductions: each experiment of tests/superposition/test_paper.py, timed.
Prints a Markdown table (paste it into the README).
"""

from __future__ import annotations

import argparse
import os
import time

import torch

from course.device import cpu_name
from course.superposition import ToyModel, ToyModelConfig, TrainConfig, train


def ours(n_instances: int, steps: int, batch: int = 1024) -> float:
    m = ToyModel(ToyModelConfig(5, 2, n_instances), feature_probability=0.1, importance=0.9 ** torch.arange(5.0),
                 device="cpu")
    t = time.perf_counter()
    train(m, TrainConfig(steps=steps, batch_size=batch, lr=1e-3, log_every=steps, threads=torch.get_num_threads()))
    return time.perf_counter() - t


def loop(n_instances: int, steps: int, batch: int = 1024) -> float:
    return sum(ours(1, steps, batch) for _ in range(n_instances))


def reference(n_instances: int, steps: int, batch: int = 1024) -> float:
    """The common implementation, for comparison (not used by the course)."""

    class Ref(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.W = torch.nn.Parameter(torch.nn.init.xavier_normal_(torch.empty(n_instances, 2, 5)))
            self.b_final = torch.nn.Parameter(torch.zeros(n_instances, 5))
            self.p = torch.full((n_instances, 5), 0.1)
            self.importance = 0.9 ** torch.arange(5.0)

        def forward(self, x):
            h = torch.einsum("bif,ihf->bih", x, self.W)
            return torch.relu(torch.einsum("bih,ihf->bif", h, self.W) + self.b_final)

        def batch(self):
            feat = torch.rand(batch, n_instances, 5)
            seeds = torch.rand(batch, n_instances, 5)
            return torch.where(seeds <= self.p, feat, torch.zeros(()))

    m = Ref()
    opt = torch.optim.Adam(m.parameters(), lr=1e-3)
    t = time.perf_counter()
    for _ in range(steps):
        x = m.batch()
        loss = (m.importance * (x - m(x)) ** 2).mean(dim=(0, 2)).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return time.perf_counter() - t


def reproductions() -> dict[str, float]:
    from course.superposition import experiments as X
    from course.superposition.phase import phase_diagram

    out = {}
    for name, fn in [("5 in 2, dense and sparse (16 instances)", X.five_two),
                     ("20 in 5, five sparsities x 2", X.twenty_five), ("20 in 5, linear baseline", X.linear_baseline),
                     ("200 in 20, sticky fractions", X.sticky), ("phase diagram, 9 x 9 x 4 restarts", phase_diagram)]:
        t = time.perf_counter()
        fn()
        out[name] = time.perf_counter() - t
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=5000)
    ap.add_argument("--skip-reproductions", action="store_true")
    ap.add_argument("--threads", type=int, default=1, help="torch threads for every job, ours and the comparisons")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    ours(8, 100)  # warm up
    print(f"Toy models on {cpu_name()}, {os.cpu_count()} CPUs, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads\n")
    print("| job | ours | comparison | ratio |")
    print("|---|---|---|---|")
    for n in (8, 32):
        b, lp = ours(n, args.steps), loop(n, args.steps)
        print(f"| {n} instances of 5-in-2, {args.steps} steps, batch 1024: batched vs a loop over instances "
              f"| {b:.1f} s | {lp:.1f} s | {lp / b:.1f}x |")
    b, r = ours(8, args.steps), reference(8, args.steps)
    print(f"| 8 instances of 5-in-2, {args.steps} steps, batch 1024: ours vs the common implementation "
          f"| {b:.1f} s | {r:.1f} s | {r / b:.1f}x |")
    r1 = sum(reference(1, args.steps) for _ in range(8))
    print(f"| 8 instances of 5-in-2, {args.steps} steps, batch 1024: ours batched vs a plain loop (the common "
          f"implementation, one instance at a time) | {b:.1f} s | {r1:.1f} s | {r1 / b:.1f}x |")
    if not args.skip_reproductions:
        times = reproductions()
        for name, s in times.items():
            print(f"| reproduction: {name} | {s:.1f} s | | |")
        print(f"| every reproduction, in total | {sum(times.values()):.0f} s | budget 300 s | |")


if __name__ == "__main__":
    main()
