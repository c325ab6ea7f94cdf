"""How fast lesson 07's feature browser draws a dashboard, against computing it from the model each time.

    python benchmarks/sae_dashboard.py [--threads 1] [--latents 1288 338 1503]

* store: building `course.sae.features` (the census with every unit's firings kept sparse; once per machine)
  and loading it from the disk cache (every later start of the app);
* ours: a latent's full dashboard from the store (`course.ui.sae_lm.latent_dashboard`: top contexts, quantile
  examples, logit effects, two rule-based explanations with detection scores) and a neuron's beside it;
* baseline: the same latent's activations recomputed from the LM and the SAE over the same held-out windows
  (`course.sae.dashboard.latent_activations`), which is what a dashboard costs without a store, before any
  of the work above.
Prints a Markdown table with the ratio.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import torch

from course.device import cpu_name


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--latents", type=int, nargs="+", default=[1288, 338, 1503])
    ap.add_argument("--build", action="store_true", help="also time building the store (a census: minutes)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    from course.sae import features
    from course.sae.dashboard import latent_activations
    from course.ui import sae_lm

    rows = []
    if args.build:
        with tempfile.TemporaryDirectory() as tmp:
            os.environ["COURSE_CACHE"] = tmp
            t = time.perf_counter()
            features.cached("pylm-sae")
            rows.append(("store: build (census + sparse firings), once per machine", f"{time.perf_counter() - t:.0f} s"))
            t = time.perf_counter()
            data = features.cached("pylm-sae")
            rows.append(("store: load from the disk cache", f"{time.perf_counter() - t:.2f} s"))
    else:
        t = time.perf_counter()
        data = features.cached("pylm-sae")
        rows.append(("store: load from the disk cache (or build it, the first time)", f"{time.perf_counter() - t:.2f} s"))
    model, tok, sae, entry = sae_lm.models()
    ours, base = [], []
    for latent in args.latents:
        neuron = int(sae.W_dec[latent].argmax())
        t = time.perf_counter()
        sae_lm.latent_dashboard(data, latent)
        sae_lm.neuron_dashboard(data, neuron)
        ours.append(time.perf_counter() - t)
        t = time.perf_counter()
        latent_activations(sae, model, data.tokens, entry.config["hook"], latents=[latent])
        base.append(time.perf_counter() - t)
    o, b = sum(ours) / len(ours), sum(base) / len(base)
    rows.append((f"ours: a latent's dashboard and a neuron's, from the store (mean of {len(ours)})", f"{o:.2f} s"))
    rows.append(("baseline: that latent's activations recomputed from the models (no dashboard yet)", f"{b:.1f} s"))
    rows.append(("ratio", f"{b / o:.0f}x"))
    print(f"Lesson 07 dashboards on {cpu_name()}, {os.cpu_count()} CPUs, {torch.get_num_threads()} threads, "
          f"torch {torch.__version__}, {tuple(data.tokens.shape)} held-out windows\n")
    print("| measure | time |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")


if __name__ == "__main__":
    main()
