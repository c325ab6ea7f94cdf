"""Feature visualisation speed: 32 units of scenenet conv4 (64 px, 256 steps, lucent's standard transforms,
FFT parameterisation with decorrelated colour, Adam lr 0.05), rendered three ways in one run:

  1. lucent, one `render_vis` call per unit (the common way; lucent upsamples images under 224 px to 224);
  2. lucent, one `render_vis` call with a batch parameterisation (image b scored by unit b);
  3. `course.vision.featurevis.render`: one batched optimisation, hooks on the visualised layer only, the forward
     pass stopped there, no upsampling.

Lucent is also run with `fixed_image_size` set to the padded size (88 px), so that it does not upsample: the
same optimisation as ours, which isolates what batching and hooking only one layer buy. Every image is scored
the same way: the unit's mean activation on its image padded by 12 px of grey (the view without the random
transforms), at the size each method optimised for. Times are wall-clock and the process's CPU time; on a
shared machine compare CPU times (one thread each, so other jobs barely change them).

    python benchmarks/featurevis.py [--units 32] [--steps 256] [--threads 1] [--singles 8] [--skip-singles]
"""

from __future__ import annotations

import argparse
import copy
import os
import time
import warnings

import numpy as np
import torch
import torch.nn.functional as F


def score(model, images: torch.Tensor, units: list[int], view: int | None) -> float:
    """Mean over images of unit b's mean activation on image b, padded by 12 px grey (upsampled to `view`)."""
    x = F.pad(images, (12, 12, 12, 12), value=0.5)
    if view:
        x = F.interpolate(x, size=view, mode="bilinear", align_corners=True)
    with torch.no_grad():
        act = model.features(x)["conv4"]
    return act[torch.arange(len(units)), units].mean((1, 2)).mean().item()


def lucent_singles(model, units, steps, size, fixed):
    from lucent.optvis import param, render

    out = []
    for u in units:
        torch.manual_seed(u)
        np.random.seed(u)
        img = render.render_vis(copy.deepcopy(model), f"conv4:{u}", lambda: param.image(size), thresholds=(steps,),
                                preprocess=False, progress=False, show_image=False, fixed_image_size=fixed)[0]
        out.append(torch.from_numpy(img).permute(0, 3, 1, 2))
    return torch.cat(out)


def lucent_batch(model, units, steps, size, fixed):
    from lucent.optvis import objectives, param, render

    torch.manual_seed(0)
    np.random.seed(0)
    obj = objectives.Objective.sum([objectives.channel("conv4", u, batch=b) for b, u in enumerate(units)])
    img = render.render_vis(copy.deepcopy(model), obj, lambda: param.image(size, batch=len(units)), thresholds=(steps,),
                            preprocess=False, progress=False, show_image=False, fixed_image_size=fixed)[0]
    return torch.from_numpy(img).permute(0, 3, 1, 2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--units", type=int, default=32)
    ap.add_argument("--steps", type=int, default=256)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--skip-singles", action="store_true", help="skip the slowest way (one lucent call per unit)")
    ap.add_argument("--singles", type=int, help="time only this many of the per-unit lucent calls and scale the time "
                                                 "up to --units (reported as an extrapolation)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    warnings.simplefilter("ignore")
    from course import zoo
    from course.device import cpu_name
    from course.vision.featurevis import render

    model = zoo.load("scenenet", device="cpu")
    units = list(range(args.units))
    padded = args.size + 24
    print(f"# {args.units} units of scenenet conv4, {args.size} px, {args.steps} steps, standard transforms; "
          f"{cpu_name()}, {args.threads} thread(s), torch {torch.__version__}; load before: {os.getloadavg()}")
    rows = []

    def run(name, fn, view, some=None):
        """Wall-clock and CPU seconds (the process's; one thread, so CPU time hardly depends on other jobs)."""
        t, c = time.perf_counter(), time.process_time()
        images = fn()
        scale = len(units) / len(some) if some else 1
        wall, cpu = (time.perf_counter() - t) * scale, (time.process_time() - c) * scale
        who = some or units
        acts = [score(model, images[[i]], [u], view) for i, u in enumerate(who)]
        rows.append((name, wall, cpu, dict(zip(who, acts))))
        print(f"{name:<62} {wall:7.1f} s wall {cpu:7.1f} s CPU   activation {np.mean(acts):.3f} (as optimised)",
              flush=True)

    run("course.vision.featurevis.render (one batched call)",
        lambda: render(model, "conv4", units, steps=args.steps, size=args.size), None)
    run("lucent render_vis, one batch call (upsampled to 224)",
        lambda: lucent_batch(model, units, args.steps, args.size, None), 224)
    run(f"lucent render_vis, one batch call, fixed_image_size={padded}",
        lambda: lucent_batch(model, units, args.steps, args.size, padded), padded)
    if not args.skip_singles:
        some = units[:: max(1, len(units) // args.singles)][: args.singles] if args.singles else None
        name = f"lucent render_vis, {args.units} calls (upsampled to 224)"
        if some:
            name += f" [{len(some)} timed, x{len(units) / len(some):g}]"
        run(name, lambda: lucent_singles(model, some or units, args.steps, args.size, None), 224, some)
    _, wall, cpu, ours = rows[0]
    print(f"# load after: {os.getloadavg()}")
    for name, w, c, theirs in rows[1:]:
        mine = np.mean([ours[u] for u in theirs])  # the same units
        print(f"ours vs {name}: {c / cpu:.2f}x less CPU time ({w / wall:.2f}x wall); final activation "
              f"{mine / np.mean(list(theirs.values())):.2f}x theirs on the same units")


if __name__ == "__main__":
    main()
