"""Lesson 07's interactive part: a feature browser and a steering playground on `pylm` and `pylm-sae`.

`explore(lesson)` has three sections:

* **Feature browser**: pick a latent by index or by the property that explains it (the census's best
  property, e.g. every latent that `string` explains, best F1 first); its dashboard shows the census line
  (precision, recall, F1, firing rate), the top contexts with the activations shaded, examples from every
  activation range, the activation histogram, its logit effects, and two rule-based explanations scored by
  detection on windows they were not made from. Beside it, a neuron's dashboard for contrast: by default the
  MLP neuron the latent's decoder direction weighs most.
* **Steering playground**: a prompt, a latent, clamp or add, a strength, temperature and seed; the steered and
  unsteered continuations side by side, the tokens Python's tokenizer puts inside strings marked, and the
  measured effect; one more button measures it over held-out prompts with a control latent.
* **Is it a good SAE?**: the census figures (FVU, L0, dead latents, CE loss recovered, explained latents vs
  neurons).

Everything a dashboard needs comes from `course.sae.features` (the census with every unit's firings kept
sparse), built once per machine and cached on disk, then shared by all sessions: a dashboard takes a fraction
of a second. Slow work goes through `cached_compute`; the models are `shared_resource`s and only ever see hooks
inside `run_with_hooks`/`generate`, which always remove them.
"""

from __future__ import annotations

import html
import time

import streamlit as st
import torch

from course.lessons import Lesson
from course.ui.compute import cached, cached_compute
from course.ui.resources import shared_resource

SAE_NAME = "pylm-sae"
STRING_LATENT = 1288  # the "string" latent the lesson steers (its figures: tests/sae/test_lesson07_figures.py)
CONTROL_LATENT = 2037  # one of the lesson's random control latents
DEFAULT_PROMPT = "def describe(user):\n    \"\"\"Return a line about the user.\"\"\"\n    if user.name:\n        return "


@shared_resource
def models():
    """(LM, tokenizer, SAE, SAE registry entry), loaded once and shared read-only by every session."""
    from course.lm.train import load
    from course.sae.shipped import load as load_sae

    sae, entry = load_sae(SAE_NAME)
    model, tok = load(entry.config["lm"])
    return model, tok, sae, entry


def feature_data(name: str = SAE_NAME, progress=None):
    """The browser's store (see course.sae.features), from the disk cache or built with progress."""
    from course.sae import features

    return features.cached(name, progress=progress)


def _data_ready(name: str = SAE_NAME) -> bool:
    from course.sae import features

    hit, _ = cached(feature_data, name)
    return hit or features.cache_path(name).is_file()


def explore(lesson: Lesson) -> None:
    section = st.radio("Section", ["Feature browser", "Steering playground", "Is it a good SAE?"], horizontal=True,
                       key="sl_section", label_visibility="collapsed")
    if section == "Steering playground":
        steering_playground()
        return
    if not _data_ready() and not st.session_state.get("sl_prepare"):
        st.info("The feature browser reads the census of pylm-sae on 250,000 held-out tokens, with every latent's and "
                "neuron's firings. It is computed once on this machine (about a minute on a laptop, with a progress "
                "bar) and then loads in a second.")
        if st.button("Prepare the feature browser", type="primary", key="sl_prepare_button"):
            st.session_state["sl_prepare"] = True
            st.rerun()
        return
    data = cached_compute(feature_data, SAE_NAME, label="Running the census of pylm-sae (once per machine)...")
    if section == "Feature browser":
        feature_browser(data)
    else:
        census_panel(data)


# ------------------------------------------------------------------------------------------ feature browser


def feature_browser(data) -> None:
    how = st.radio("Find a latent", ["by the property that explains it", "by index"], horizontal=True, key="sl_how")
    props = data.properties()
    if not props and how != "by index":
        st.caption("No latent is explained by a property on these windows: pick one by index.")
        how = "by index"
    if how == "by index":
        latent = int(st.number_input("latent", 0, data.n_latents - 1, _default_latent(data), key="sl_latent"))
    else:
        counts = {p: len(data.by_property(p)) for p in props}
        prop = st.selectbox("property (type to search)", props, index=props.index("string") if "string" in props else 0,
                            format_func=lambda p: f"{p} ({counts[p]} latent{'s' * (counts[p] != 1)})", key="sl_prop")
        rows = data.by_property(prop)
        options = [e["latent"] for e in rows]
        label = {e["latent"]: f"{e['latent']}: precision {e['precision']:.2f}, recall {e['recall']:.3f}, "
                              f"F1 {e['f1']:.3f}, {e['fires']} firings" for e in rows}
        latent = st.selectbox("latent (best F1 first)", options, format_func=lambda i: label[i], key="sl_latent_pick")
    model, tok, sae, _ = models()
    neuron_default = int(sae.W_dec[latent].argmax())
    neuron = int(st.number_input("neuron to compare (default: the one the latent's decoder direction weighs most)",
                                 0, data.n_neurons - 1, neuron_default, key=f"sl_neuron_{latent}"))
    t = time.perf_counter()
    left, right = st.columns(2, gap="large")
    with left:
        dash = latent_dashboard(data, latent)
        _show_dashboard(dash)
    with right:
        ndash = neuron_dashboard(data, neuron)
        _show_dashboard(ndash)
    st.pyplot(_histograms(dash, ndash), width="stretch", clear_figure=True)
    st.caption(f"Both dashboards drawn in {time.perf_counter() - t:.2f} s.")


def _default_latent(data) -> int:
    rows = data.by_property("string")
    return rows[0]["latent"] if rows else 0


def latent_dashboard(data, latent: int) -> dict:
    """Everything the page shows for one latent, as plain data (the figures and HTML are drawn from it)."""
    from course.sae.dashboard import logit_effects, quantile_examples, top_contexts

    model, tok, sae, _ = models()
    acts = data.latent_acts(latent)
    entry = data.latent_entry(latent)
    return {
        "title": f"Latent {latent}",
        "census": entry,
        "density": data.density(latent),
        "top": top_contexts(acts, data.tokens, tok, k=8),
        "quantiles": quantile_examples(acts, data.tokens, tok, n_bins=4, per_bin=2),
        "logits": logit_effects(sae, model, latent, tok, k=8),
        "explanations": explanations(data, acts, tok),
        "values": acts[acts > 0],
    }


def neuron_dashboard(data, neuron: int) -> dict:
    from course.sae.dashboard import top_contexts

    _, tok, _, _ = models()
    acts = data.neuron_acts(neuron)
    return {
        "title": f"MLP neuron {neuron} (above its census threshold)",
        "census": data.neuron_entry(neuron),
        "density": data.density(neuron, neuron=True),
        "top": top_contexts(acts, data.tokens, tok, k=8),
        "quantiles": [],
        "logits": None,
        "explanations": explanations(data, (acts - data.neuron_threshold[neuron]).clamp(min=0) * (acts > 0), tok),
        "values": acts[acts > 0],
    }


def explanations(data, acts: torch.Tensor, tok) -> list[tuple[str, dict]]:
    """Two rule-based explanations made from the first half of the windows, scored by detection on the second."""
    from course.lm.labels import PROPERTIES
    from course.sae.autointerp import explain_by_label, explain_by_tokens, score_explanation

    half = len(data.tokens) // 2
    a_fit, a_test = acts[:half], acts[half:]
    out = []
    for exp in (explain_by_label(a_fit, data.labels[:half], list(PROPERTIES)),
                explain_by_tokens(a_fit, data.tokens[:half], tok)):
        score = score_explanation(exp, a_test, data.tokens[half:], data.labels[half:], list(PROPERTIES))
        out.append((exp.text, score))
    return out


def _show_dashboard(d: dict) -> None:
    st.markdown(f"#### {d['title']}")
    c = d["census"]
    if c is None:
        st.caption("This latent never fires on the held-out tokens (dead).")
        return
    ok = "explained" if c["explained"] else "not explained (needs precision >= 0.8 and 50 firings)"
    st.markdown(f"Census: best property **{html.escape(c['property'])}**, precision **{c['precision']:.2f}**, "
                f"recall {c['recall']:.3f}, F1 {c['f1']:.3f}; fires on {d['density']:.2%} of tokens: {ok}.")
    for text, s in d["explanations"]:
        st.markdown(f"Rule-based explanation *{html.escape(text)}*: detection balanced accuracy "
                    f"**{s['balanced_accuracy']:.2f}** (recall {s['recall']:.2f}, false positives "
                    f"{s['false_positive_rate']:.2f}; recall by activation, weakest first: "
                    f"{', '.join(f'{r:.2f}' for r in s['recall_by_bin'].tolist())})")
    st.markdown("**Top contexts** (shading: activation; underline: the top token)")
    st.markdown("".join(ctx.html() for ctx in d["top"]) or "(none)", unsafe_allow_html=True)
    if d["quantiles"]:
        with st.expander("Examples from every activation range"):
            for lo, hi, ctxs in d["quantiles"]:
                st.markdown(f"activation in ({lo:.2f}, {hi:.2f}]")
                st.markdown("".join(ctx.html() for ctx in ctxs), unsafe_allow_html=True)
    if d["logits"]:
        up = ", ".join(f"`{t!r}` {v:+.2f}" for t, v in d["logits"]["up"])
        down = ", ".join(f"`{t!r}` {v:+.2f}" for t, v in d["logits"]["down"])
        st.markdown(f"**Logit effects** (through W_out, ln_final.w and W_U): up {up}; down {down}")


def _histograms(latent: dict, neuron: dict):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 3.4))
    for ax, d, colour in zip(axes, (latent, neuron), ("tab:orange", "tab:blue")):
        v = d["values"]
        if len(v):
            ax.hist(v.numpy(), bins=40, color=colour)
        ax.set_yscale("log")
        ax.set_title(f"{d['title']}: activations where it fires", fontsize=12)
        ax.set_xlabel("activation", fontsize=11)
        ax.set_ylabel("tokens", fontsize=11)
        ax.tick_params(labelsize=10)
    fig.tight_layout()
    return fig


# -------------------------------------------------------------------------------------- steering playground


def steering_playground() -> None:
    model, tok, sae, entry = models()
    from course.sae.steering import MODES

    prompt = st.text_area("prompt", DEFAULT_PROMPT, height=120, key="sl_prompt")
    c1, c2, c3 = st.columns(3)
    latent = int(c1.number_input("latent", 0, sae.cfg.d_sae - 1, STRING_LATENT, key="sl_steer_latent"))
    mode = c2.radio("mode", MODES, horizontal=True, key="sl_mode",
                    help="clamp: set the latent to the strength at every position (0 ablates it); add: add strength x "
                         "its decoder direction")
    value = c3.slider("strength", -10.0, 30.0, 20.0, 0.5, key="sl_value")
    c4, c5, c6 = st.columns(3)
    temperature = c4.slider("temperature", 0.0, 1.5, 1.0, 0.1, key="sl_temperature")
    seed = int(c5.number_input("seed", 0, 10_000, 0, key="sl_seed"))
    n_new = c6.slider("tokens to generate", 8, 80, 40, 8, key="sl_new")
    settings = (prompt, latent, mode, float(value), float(temperature), seed, n_new)
    if st.button("Generate, steered and unsteered", type="primary", key="sl_generate"):
        if not tok.encode(prompt).ids:
            st.warning("Write a prompt first: a few lines of Python.")
        else:
            st.session_state["sl_generation"] = (settings, cached_compute(
                generate_pair, *settings, label="Generating..."))
    if "sl_generation" in st.session_state:
        used, out = st.session_state["sl_generation"]
        if used != settings:
            st.caption("The settings changed since this generation: press Generate to update.")
        left, right = st.columns(2, gap="large")
        for col, key, title in ((left, "unsteered", "Unsteered"), (right, "steered", f"Steered: {out['label']}")):
            with col:
                st.markdown(f"**{title}**: {out[key]['share']:.0%} of the new tokens are inside strings "
                            f"(Python's tokenizer)")
                st.markdown(out[key]["html"], unsafe_allow_html=True)
        st.caption("Marked: generated tokens that Python's tokenizer places inside a string literal. One sample per "
                   "side, the same seed: measure over many prompts below before believing a difference.")
    st.markdown("---")
    n_prompts = st.select_slider("held-out prompts to measure over", [8, 16, 32, 64], 32, key="sl_n_prompts")
    control = int(st.number_input("control latent (steered the same way)", 0, sae.cfg.d_sae - 1, CONTROL_LATENT,
                                  key="sl_control"))
    exp_settings = (latent, mode, float(value), control, int(n_prompts), float(temperature), seed)
    if st.button("Measure the effect over held-out prompts", key="sl_measure"):
        st.session_state["sl_experiment"] = (exp_settings, cached_compute(
            measure_steering, *exp_settings, label="Generating from held-out prompts..."))
    if "sl_experiment" in st.session_state:
        used, rec = st.session_state["sl_experiment"]
        if used != exp_settings:
            st.caption("The settings changed since this measurement: press Measure to update.")
        st.pyplot(_shares_figure(rec), width="stretch", clear_figure=True)
        st.caption(f"Share of generated tokens inside string literals, mean ± standard error over {rec['prompts']} "
                   "held-out prompts (32 new tokens each, the same sampling seed in every condition).")


def generate_pair(prompt: str, latent: int, mode: str, value: float, temperature: float, seed: int, n_new: int,
                  progress=None) -> dict:
    """Unsteered and steered continuations of one prompt, each with its tokens marked and its string share."""
    from course.sae.steering import generate, steering_hook, string_shares

    model, tok, sae, entry = models()
    ids = torch.tensor([tok.encode(prompt).ids[-(model.cfg.n_ctx - n_new):]])
    out = {"label": f"latent {latent} {'clamped to' if mode == 'clamp' else 'plus'} {value:g}"}
    for i, (key, hooks) in enumerate((("unsteered", []),
                                      ("steered", [(entry.config["hook"], steering_hook(sae, latent, value, mode))]))):
        if progress:
            progress(i / 2, f"generating: {key}")
        gen = generate(model, ids, hooks, n_new, temperature, seed)
        out[key] = {"share": string_shares(tok, ids, gen)[0].nan_to_num(0).item(), "html": _marked(tok, ids, gen)}
    return out


def _marked(tok, prompt: torch.Tensor, gen: torch.Tensor) -> str:
    from course.lm.measure import tokens_in_string

    p, g = prompt[0].tolist(), gen[0].tolist()
    pieces = [tok.decode([t]) for t in p + g]
    flags = tokens_in_string(pieces)
    spans = []
    for i, (piece, inside) in enumerate(zip(pieces, flags)):
        text = html.escape(piece).replace(" ", "&nbsp;").replace("\n", "⏎<br>")
        if i < len(p):
            spans.append(f'<span style="color:#888">{text}</span>')
        elif inside:
            spans.append(f'<span style="background:rgba(255,120,0,0.45)">{text}</span>')
        else:
            spans.append(f"<span>{text}</span>")
    return f'<div style="font-family:monospace;font-size:0.9em;line-height:1.5">{"".join(spans)}</div>'


def measure_steering(latent: int, mode: str, value: float, control: int, n_prompts: int, temperature: float,
                     seed: int, progress=None) -> dict:
    from course.sae.steering import experiment

    model, tok, sae, entry = models()
    rec = experiment(model, sae, tok, entry.config["hook"], latent, value, mode, control=control, n_prompts=n_prompts,
                     temperature=temperature, seed=seed, progress=progress)
    return {k: (vars(v) if hasattr(v, "share") else v) for k, v in rec.items()}


def _shares_figure(rec: dict):
    import matplotlib.pyplot as plt

    conds = [rec[k] for k in ("unsteered", "steered", "control") if rec.get(k)]
    fig, ax = plt.subplots(figsize=(12, 3.2))
    y = range(len(conds))
    ax.barh(list(y), [c["share"] for c in conds], xerr=[c["stderr"] for c in conds],
            color=["tab:gray", "tab:orange", "tab:blue"][:len(conds)])
    ax.set_yticks(list(y), [c["name"] for c in conds], fontsize=11)
    ax.set_xlabel("share of generated tokens inside string literals", fontsize=11)
    ax.set_xlim(0, 1)
    ax.tick_params(labelsize=10)
    ax.invert_yaxis()
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------------------------- census panel


def census_panel(data) -> None:
    r = data.record
    st.markdown(
        f"On {r['eval_tokens']:,} held-out tokens: **FVU {r['fvu']:.3f}**, **L0 {r['l0']:.1f}**, dead latents "
        f"**{r['dead_fraction']:.1%}**, **CE loss recovered {r['ce_loss_recovered']:.1%}** (clean "
        f"{r['ce_loss_clean']:.3f} nats, SAE spliced in {r['ce_loss_with_sae']:.3f}, MLP zero-ablated "
        f"{r['ce_loss_zero_ablated']:.3f}).")
    st.markdown(f"Live latents explained by one property (precision >= 0.8, >= 50 firings): "
                f"**{r['explained_fraction']:.1%}**; MLP neurons, binarised at the SAE's firing rate: "
                f"**{r['neuron_explained_fraction']:.1%}**.")
    st.pyplot(_explained_figure(r), width="stretch", clear_figure=True)


def _explained_figure(r: dict):
    import matplotlib.pyplot as plt
    from collections import Counter

    lat = Counter(e["property"] for e in r["latents"] if e["explained"] and not e["property"].startswith("token:"))
    neu = Counter(e["property"] for e in r["neurons"] if e["explained"] and not e["property"].startswith("token:"))
    props = [p for p, _ in lat.most_common(16)]
    fig, ax = plt.subplots(figsize=(12, 4.2))
    x = torch.arange(len(props)).float()
    ax.bar((x - 0.2).tolist(), [lat[p] for p in props], 0.4, label="SAE latents", color="tab:orange")
    ax.bar((x + 0.2).tolist(), [neu[p] for p in props], 0.4, label="MLP neurons", color="tab:blue")
    ax.set_xticks(x.tolist(), props, rotation=35, ha="right", fontsize=10)
    ax.set_ylabel("units it explains", fontsize=11)
    ax.set_title("Units explained by each property (precision >= 0.8)", fontsize=12)
    ax.legend(fontsize=10)
    ax.tick_params(labelsize=10)
    fig.tight_layout()
    return fig
