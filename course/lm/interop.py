"""TransformerLens interop: run a TransformerLens model (e.g. GPT-2 small, or the 1-layer `gelu-1l`) in
the course's TinyLM, with the same hooks, SAEs, census and dashboards.

    model = load_transformer_lens("gelu-1l")   # online, or with the weights in the Hugging Face cache
    model = from_hooked_transformer(tl_model)  # a HookedTransformer you already have
    model = from_tl_state_dict(state, cfg)     # its state_dict and cfg (a HookedTransformerConfig or a dict)

TinyLM's parameter names are TransformerLens's, so the conversion checks the architecture is one TinyLM can
run (LayerNorm or folded "LNPre" norms, learned absolute positions, GELU/ReLU MLPs, attention plus MLP in
every block) and copies the tensors; TransformerLens's buffers (`attn.mask`, `attn.IGNORE`) are dropped.
`transformer_lens` is an optional dependency: `pip install -e ".[tl]"` (transformer-lens below 4.0: version 4
replaced HookedTransformer with TransformerBridge; tested with 3.9.0). Offline, the conversion is
tested on state dicts built locally (tests/lm/test_interop.py).
"""

from __future__ import annotations

import torch

from course.errors import CourseError
from course.lm.model import LMConfig, TinyLM

ACT_FNS = {"gelu": "gelu", "gelu_new": "gelu_new", "gelu_pytorch_tanh": "gelu_new", "relu": "relu"}


def _get(cfg, name: str, default=None):
    return cfg.get(name, default) if isinstance(cfg, dict) else getattr(cfg, name, default)


def config_from_tl(cfg) -> LMConfig:
    """An LMConfig from a HookedTransformerConfig (or a dict of its fields); a clear error if TinyLM can't run it."""
    problems = []
    if _get(cfg, "attn_only", False):
        problems.append("attention-only blocks (no MLP)")
    if _get(cfg, "positional_embedding_type", "standard") != "standard":
        problems.append(f"{_get(cfg, 'positional_embedding_type')} positions (TinyLM has learned absolute ones)")
    if _get(cfg, "normalization_type", "LN") not in ("LN", "LNPre"):
        problems.append(f"normalization_type {_get(cfg, 'normalization_type')!r} (TinyLM has LayerNorm)")
    act = _get(cfg, "act_fn", "gelu")
    if act not in ACT_FNS:
        problems.append(f"activation {act!r} (TinyLM has {', '.join(sorted(ACT_FNS))})")
    if _get(cfg, "n_key_value_heads") not in (None, _get(cfg, "n_heads")):
        problems.append("grouped-query attention")
    if problems:
        raise CourseError("This TransformerLens model can't run as a TinyLM: it has " + "; ".join(problems) +
                          ". Use it in TransformerLens directly, or pick a GPT-2-style model (gelu-1l, gelu-2l, "
                          "gpt2-small).")
    return LMConfig(d_vocab=_get(cfg, "d_vocab"), n_ctx=_get(cfg, "n_ctx"), d_model=_get(cfg, "d_model"),
                    n_heads=_get(cfg, "n_heads"), d_head=_get(cfg, "d_head"), d_mlp=_get(cfg, "d_mlp"),
                    n_layers=_get(cfg, "n_layers"), act_fn=ACT_FNS[act])


def from_tl_state_dict(state: dict, cfg) -> TinyLM:
    """A TinyLM (eval mode) holding a TransformerLens state dict."""
    model = TinyLM(config_from_tl(cfg))
    ours = model.state_dict()
    state = {k: v for k, v in state.items() if not k.endswith((".mask", ".IGNORE"))}
    if _get(cfg, "normalization_type", "LN") == "LNPre":  # folded LayerNorm: no affine part left
        for k in ours:
            if k.endswith((".w", ".b")) and ("ln" in k.split(".")[-2]):
                state.setdefault(k, torch.ones_like(ours[k]) if k.endswith(".w") else torch.zeros_like(ours[k]))
    if "unembed.b_U" not in state:
        state["unembed.b_U"] = torch.zeros_like(ours["unembed.b_U"])
    missing, unexpected = sorted(set(ours) - set(state)), sorted(set(state) - set(ours))
    wrong = [f"{k} {tuple(state[k].shape)} (TinyLM: {tuple(ours[k].shape)})" for k in ours
             if k in state and state[k].shape != ours[k].shape]
    if missing or unexpected or wrong:
        raise CourseError("This state dict doesn't fit a TinyLM: " + "; ".join(
            part for part in (f"missing {', '.join(missing[:5])}" if missing else "",
                              f"unexpected {', '.join(unexpected[:5])}" if unexpected else "",
                              f"wrong shapes {', '.join(wrong[:5])}" if wrong else "") if part) +
                          ". Pass a HookedTransformer's own state_dict() and cfg.")
    model.load_state_dict({k: v.detach().float().cpu() for k, v in state.items()})
    return model.eval()


def from_hooked_transformer(tl_model) -> TinyLM:
    return from_tl_state_dict(tl_model.state_dict(), tl_model.cfg)


def load_transformer_lens(name: str) -> TinyLM:
    """A TransformerLens pretrained model as a TinyLM (needs `transformer-lens` and internet or a cache)."""
    try:
        from transformer_lens import HookedTransformer
    except ImportError as e:
        raise CourseError("Loading a TransformerLens model needs the optional package with its HookedTransformer: "
                          "`pip install \"transformer-lens<4\"` (version 4 replaced it with TransformerBridge), and "
                          "internet or the model in your Hugging Face cache. The course's own LM needs neither: "
                          "`course.lm.train.load('pylm')`.") from e
    try:
        tl_model = HookedTransformer.from_pretrained_no_processing(name, device="cpu")
    except Exception as e:  # offline, unknown name, ...
        raise CourseError(f"TransformerLens couldn't load {name!r} ({type(e).__name__}: {str(e)[:200]}). It needs "
                          "internet or the weights in your Hugging Face cache; the course's own LM is "
                          "`course.lm.train.load('pylm')`.") from e
    return from_hooked_transformer(tl_model)
