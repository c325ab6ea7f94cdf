"""Vision speed: stimuli and scenes made per second, training throughput, and the census of the shipped model.

    python benchmarks/vision.py [--repeats 3] [--threads 2] [--model scenenet]

Each figure is the median of `--repeats` timed runs after a warm-up, on this machine's CPU (torch threads as
given). Training throughput is SceneNet's optimiser steps on ready-made scenes (batch 64), and the recipe's
real rate with scenes made on the fly in a background process. Prints a Markdown table (paste it into the README).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F


def timed(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--model", default="scenenet")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    from course import zoo
    from course.device import cpu_name
    from course.vision import stimuli
    from course.vision.census import census
    from course.vision.models import SceneNet
    from course.vision.probe import Probes, StimulusSet
    from course.vision.scenes import Scenes
    from course.vision.train import TrainConfig, fit, DATA, NET

    rows = []
    n = 1024
    theta = torch.rand(n) * 360
    for name, fn in [
        ("curves, 64x64", lambda: stimuli.curve(theta, 8.0)),
        ("lines, 64x64", lambda: stimuli.line(theta)),
        ("high-low boundaries, 64x64 (24 waves per texture)", lambda: stimuli.high_low(theta, seed=torch.arange(n))),
    ]:
        rows.append((f"stimuli: {name}", f"{n / timed(fn, args.repeats):,.0f} images/s"))
    sset = lambda: StimulusSet(Probes(), (64, 64), (36.0, 36.0))  # noqa: E731
    rows.append(("stimuli: the census's set (%d images)" % len(sset()), f"{timed(sset, args.repeats) * 1000:.0f} ms"))

    scenes = Scenes()
    for b in (64, 256):
        t = timed(lambda: scenes.batch(range(b)), args.repeats)
        rows.append((f"scenes: batch of {b}, 64x64, {args.threads} threads", f"{b / t:,.0f} images/s"))

    model = SceneNet(NET)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    x, y = scenes.batch(range(64))

    def step():
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    rows.append((f"training: SceneNet step on ready scenes, batch 64, {args.threads} threads",
                 f"{64 / timed(step, args.repeats):,.0f} images/s"))
    cfg = TrainConfig(steps=60, eval_scenes=64)
    _, metrics = fit(NET, DATA, cfg, 0, torch.device("cpu"), progress=False)
    rows.append((f"training: the recipe's loop, {cfg.steps} steps (scenes made on the fly)",
                 f"{metrics['train_images_per_second']:,.0f} images/s"))

    try:
        zoo.load(args.model)
        t = timed(lambda: census(args.model), max(1, args.repeats - 1))
        rows.append((f"census of {args.model} (every unit of 5 layers)", f"{t:.1f} s"))
    except Exception as e:  # no shipped model yet
        rows.append((f"census of {args.model}", f"n/a ({e})"))

    print(f"Vision benchmarks on {cpu_name()}, torch {torch.__version__}, {args.threads} threads\n")
    print("| measure | figure |\n|---|---|")
    for what, figure in rows:
        print(f"| {what} | {figure} |")


if __name__ == "__main__":
    main()
