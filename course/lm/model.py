"""A tiny GPT-style language model with TransformerLens's names and hook points.

Shaped like minGPT / TransformerLens's `HookedTransformer` (pre-LayerNorm blocks, learned positions, GELU MLP),
small enough to train on a laptop CPU. Parameter names are TransformerLens's (`embed.W_E`, `pos_embed.W_pos`,
`blocks.0.attn.W_Q` of shape (n_heads, d_model, d_head), `blocks.0.mlp.W_in`, `unembed.W_U`, ...), and so are
the hook points:

    hook_embed, hook_pos_embed
    blocks.{i}.hook_resid_pre, .ln1.hook_normalized, .attn.hook_q/.hook_k/.hook_v (batch, pos, head, d_head),
    .attn.hook_attn_scores/.hook_pattern (batch, head, query, key), .attn.hook_z, .hook_attn_out,
    .hook_resid_mid, .ln2.hook_normalized, .mlp.hook_pre/.hook_post (batch, pos, d_mlp), .hook_mlp_out,
    .hook_resid_post
    ln_final.hook_normalized

    logits, cache = model.run_with_cache(tokens, names_filter="blocks.0.mlp.hook_post")
    logits = model.run_with_hooks(tokens, fwd_hooks=[("blocks.0.mlp.hook_post", ablate)])
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from course.lm.hooks import ActivationCache, HookPoint, caching_hooks, hooks, name_hook_points


@dataclass
class LMConfig:
    d_vocab: int = 4096  # tokens in the vocabulary
    n_ctx: int = 128  # longest context
    d_model: int = 128  # width of the residual stream
    n_layers: int = 1  # transformer blocks
    n_heads: int = 4  # attention heads per block
    d_head: int = 32  # width of each head
    d_mlp: int = 512  # MLP neurons per block
    act_fn: str = "gelu"  # MLP nonlinearity: "gelu", "gelu_new" (GPT-2's tanh approximation) or "relu"


class LayerNorm(nn.Module):
    def __init__(self, d: int):
        super().__init__()
        self.w = nn.Parameter(torch.ones(d))
        self.b = nn.Parameter(torch.zeros(d))
        self.hook_scale = HookPoint()
        self.hook_normalized = HookPoint()

    def forward(self, x: Tensor) -> Tensor:
        x = x - x.mean(-1, keepdim=True)
        scale = self.hook_scale((x.pow(2).mean(-1, keepdim=True) + 1e-5).sqrt())
        return self.hook_normalized(x / scale) * self.w + self.b


class Attention(nn.Module):
    def __init__(self, cfg: LMConfig):
        super().__init__()
        H, D, M = cfg.n_heads, cfg.d_head, cfg.d_model
        self.W_Q, self.W_K, self.W_V = (nn.Parameter(torch.randn(H, M, D) / math.sqrt(M)) for _ in range(3))
        self.W_O = nn.Parameter(torch.randn(H, D, M) / math.sqrt(H * D))
        self.b_Q, self.b_K, self.b_V = (nn.Parameter(torch.zeros(H, D)) for _ in range(3))
        self.b_O = nn.Parameter(torch.zeros(M))
        self.register_buffer("mask", torch.tril(torch.ones(cfg.n_ctx, cfg.n_ctx, dtype=torch.bool)), persistent=False)
        for name in ("hook_q", "hook_k", "hook_v", "hook_attn_scores", "hook_pattern", "hook_z"):
            setattr(self, name, HookPoint())

    def forward(self, x: Tensor) -> Tensor:
        # x: (batch, pos, d_model)
        q = self.hook_q(torch.einsum("bpm,hmd->bphd", x, self.W_Q) + self.b_Q)
        k = self.hook_k(torch.einsum("bpm,hmd->bphd", x, self.W_K) + self.b_K)
        v = self.hook_v(torch.einsum("bpm,hmd->bphd", x, self.W_V) + self.b_V)
        n = x.shape[1]
        scores = torch.einsum("bqhd,bkhd->bhqk", q, k) / math.sqrt(q.shape[-1])
        scores = self.hook_attn_scores(scores.masked_fill(~self.mask[:n, :n], float("-inf")))
        pattern = self.hook_pattern(scores.softmax(-1))  # (batch, head, query, key)
        z = self.hook_z(torch.einsum("bhqk,bkhd->bqhd", pattern, v))
        return torch.einsum("bqhd,hdm->bqm", z, self.W_O) + self.b_O


class MLP(nn.Module):
    def __init__(self, cfg: LMConfig):
        super().__init__()
        self.W_in = nn.Parameter(torch.randn(cfg.d_model, cfg.d_mlp) / math.sqrt(cfg.d_model))
        self.b_in = nn.Parameter(torch.zeros(cfg.d_mlp))
        self.W_out = nn.Parameter(torch.randn(cfg.d_mlp, cfg.d_model) / math.sqrt(cfg.d_mlp))
        self.b_out = nn.Parameter(torch.zeros(cfg.d_model))
        self.act = {"gelu": F.gelu, "gelu_new": lambda x: F.gelu(x, approximate="tanh"), "relu": F.relu}[cfg.act_fn]
        self.hook_pre, self.hook_post = HookPoint(), HookPoint()

    def forward(self, x: Tensor) -> Tensor:
        post = self.hook_post(self.act(self.hook_pre(x @ self.W_in + self.b_in)))  # (batch, pos, d_mlp)
        return post @ self.W_out + self.b_out


class Block(nn.Module):
    def __init__(self, cfg: LMConfig):
        super().__init__()
        self.ln1, self.attn, self.ln2, self.mlp = LayerNorm(cfg.d_model), Attention(cfg), LayerNorm(cfg.d_model), MLP(cfg)
        for name in ("hook_resid_pre", "hook_attn_out", "hook_resid_mid", "hook_mlp_out", "hook_resid_post"):
            setattr(self, name, HookPoint())

    def forward(self, resid: Tensor) -> Tensor:
        resid = self.hook_resid_pre(resid)
        resid = self.hook_resid_mid(resid + self.hook_attn_out(self.attn(self.ln1(resid))))
        return self.hook_resid_post(resid + self.hook_mlp_out(self.mlp(self.ln2(resid))))


class Embed(nn.Module):
    def __init__(self, cfg: LMConfig):
        super().__init__()
        self.W_E = nn.Parameter(torch.randn(cfg.d_vocab, cfg.d_model) * 0.02)

    def forward(self, tokens: Tensor) -> Tensor:
        return self.W_E[tokens]


class PosEmbed(nn.Module):
    def __init__(self, cfg: LMConfig):
        super().__init__()
        self.W_pos = nn.Parameter(torch.randn(cfg.n_ctx, cfg.d_model) * 0.02)

    def forward(self, tokens: Tensor) -> Tensor:
        return self.W_pos[: tokens.shape[-1]].expand(*tokens.shape, -1)


class Unembed(nn.Module):
    def __init__(self, cfg: LMConfig):
        super().__init__()
        self.W_U = nn.Parameter(torch.randn(cfg.d_model, cfg.d_vocab) / math.sqrt(cfg.d_model))
        self.b_U = nn.Parameter(torch.zeros(cfg.d_vocab))

    def forward(self, x: Tensor) -> Tensor:
        return x @ self.W_U + self.b_U


class TinyLM(nn.Module):
    """tokens (batch, pos) long -> logits (batch, pos, d_vocab)."""

    def __init__(self, cfg: LMConfig):
        super().__init__()
        self.cfg = cfg
        self.embed, self.pos_embed = Embed(cfg), PosEmbed(cfg)
        self.hook_embed, self.hook_pos_embed = HookPoint(), HookPoint()
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
        self.ln_final, self.unembed = LayerNorm(cfg.d_model), Unembed(cfg)
        self.hook_dict = name_hook_points(self)

    def __repr__(self) -> str:
        c = self.cfg
        n = sum(p.numel() for p in self.parameters())
        return (f"TinyLM({c.n_layers} layer{'s' * (c.n_layers > 1)}, d_model={c.d_model}, {c.n_heads} heads, "
                f"d_mlp={c.d_mlp}, vocab {c.d_vocab}, n_ctx {c.n_ctx}; {n / 1e6:.2f}M parameters)")

    def forward(self, tokens: Tensor, return_type: str = "logits") -> Tensor:
        if tokens.shape[-1] > self.cfg.n_ctx:
            raise ValueError(f"at most {self.cfg.n_ctx} tokens fit in the context, got {tokens.shape[-1]}")
        resid = self.hook_embed(self.embed(tokens)) + self.hook_pos_embed(self.pos_embed(tokens))
        for block in self.blocks:
            resid = block(resid)
        logits = self.unembed(self.ln_final(resid))
        if return_type == "loss":
            return self.loss(logits, tokens)
        return logits

    @staticmethod
    def loss(logits: Tensor, tokens: Tensor, per_token: bool = False) -> Tensor:
        """Next-token cross-entropy: position i predicts token i + 1. (batch,) * (pos - 1) values if per_token."""
        nll = F.cross_entropy(logits[:, :-1].flatten(0, 1), tokens[:, 1:].flatten(), reduction="none")
        nll = nll.view(tokens.shape[0], -1)
        return nll if per_token else nll.mean()

    # -------------------------------------------------------------------------------------- TransformerLens API

    def run_with_hooks(self, tokens: Tensor, fwd_hooks=(), return_type: str = "logits") -> Tensor:
        with hooks(self.hook_dict, fwd_hooks):
            return self(tokens, return_type=return_type)

    def run_with_cache(self, tokens: Tensor, names_filter=None, fwd_hooks=(),
                       return_type: str = "logits") -> tuple[Tensor, ActivationCache]:
        cache = ActivationCache()
        with hooks(self.hook_dict, [*fwd_hooks, *caching_hooks(cache, names_filter, self.hook_dict)]):
            out = self(tokens, return_type=return_type)
        return out, cache

    @torch.no_grad()
    def generate(self, tokens: Tensor, max_new_tokens: int = 50, temperature: float = 1.0, top_k: int | None = None,
                 fwd_hooks=(), generator: torch.Generator | None = None, stop_token: int | None = None) -> Tensor:
        """Sample a continuation of tokens (batch, pos); temperature 0 is greedy. Hooks apply at every step."""
        out = tokens
        with hooks(self.hook_dict, fwd_hooks):
            for _ in range(max_new_tokens):
                logits = self(out[:, -self.cfg.n_ctx:])[:, -1]
                if temperature == 0:
                    nxt = logits.argmax(-1, keepdim=True)
                else:
                    logits = logits / temperature
                    if top_k:
                        kth = logits.topk(top_k, dim=-1).values[:, -1:]
                        logits = logits.masked_fill(logits < kth, float("-inf"))
                    nxt = torch.multinomial(logits.softmax(-1), 1, generator=generator)
                out = torch.cat([out, nxt], dim=1)
                if stop_token is not None and (nxt == stop_token).all():
                    break
        return out

    def config_dict(self) -> dict:
        return asdict(self.cfg)
