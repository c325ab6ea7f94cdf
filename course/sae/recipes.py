"""The shipped SAE: `course train pylm-sae` trains it on the shipped LM's MLP activations and records its census.

A TopK SAE (Gao et al. 2024) with 4x as many latents as the MLP has neurons, on `blocks.0.mlp.hook_post` of
`pylm` (the set-up of Anthropic's "Towards Monosemanticity", scaled to a laptop), trained on a stream of
activations from random windows of the training split. Its census (see `course.sae.census`) is computed at
the end and stored as the checkpoint's metrics, so `course models` shows the bar figures.
"""

from __future__ import annotations

from dataclasses import asdict

import torch

from course import registry
from course.sae.sae import SAE, SAEConfig
from course.sae.train import SAETrainConfig, train_sae

LM, HOOK = "pylm", "blocks.0.mlp.hook_post"
SAE_CFG = dict(d_sae=2048, architecture="topk", k=24)
TRAIN_CFG = SAETrainConfig(steps=8_000, batch_size=1024, lr=1e-3, warmup_steps=100, dead_after=500_000,
                           aux_k=256, log_every=100)


@registry.recipe("pylm-sae", kind="sae", minutes=25, seed=0,
                 description=f"TopK SAE (d_sae 2048, k 24) on {LM}'s {HOOK}")
def build_pylm_sae(seed: int, device, progress: bool, cfg: SAETrainConfig | None = None,
                   sae_kwargs: dict | None = None, lm: str = LM) -> registry.Trained:
    from course.lm.activations import ActivationStore
    from course.lm.data import token_data
    from course.lm.train import load as load_lm
    from course.sae.census import eval_tokens, measure

    cfg = cfg or SAETrainConfig(**{**asdict(TRAIN_CFG), "seed": seed})
    model, tok = load_lm(lm)
    lm_entry = registry.entry(lm)
    data = token_data(tok, "train", key=lm_entry.files["tokenizer"])
    store = ActivationStore(model, data, HOOK, batch_size=cfg.batch_size, seed=seed)
    sae = SAE(SAEConfig(d_in=model.cfg.d_mlp, **(sae_kwargs or SAE_CFG)), generator=torch.Generator().manual_seed(seed))
    log = train_sae(sae, iter(store), cfg, progress=progress)
    tokens, labels, names = eval_tokens(tok, model.cfg.n_ctx)
    record = measure(sae, model, tokens, labels, names, HOOK)
    metrics = {k: v for k, v in record.items() if k not in ("latents", "neurons")}
    metrics["explained_properties"] = len(record["explained_properties"])
    metrics["train_mse_last"] = round(log.mse[-1], 5)
    config = {"sae": asdict(sae.cfg), "lm": lm, "lm_sha256": lm_entry.sha256, "hook": HOOK, "train": asdict(cfg)}
    return registry.Trained(sae.state_dict(), config, metrics)
