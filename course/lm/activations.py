"""Streams of LM activations, for training SAEs on more activations than memory holds.

    store = ActivationStore(model, data, hook="blocks.0.mlp.hook_post")
    for batch in store:            # endless (n_batch, d) tensors, shuffled across contexts
        ...

The store runs the model on random windows of the corpus, keeps `buffer_contexts` contexts' worth of
activations, shuffles them, and hands out half the buffer before refilling, so consecutive batches mix many
documents (as SAELens's ActivationsStore does). Nothing is kept beyond the buffer.
"""

from __future__ import annotations

from typing import Iterator

import torch
from torch import Tensor

from course.lm.data import TokenData
from course.lm.model import TinyLM


@torch.no_grad()
def activations(model: TinyLM, tokens: Tensor, hook: str, batch_size: int = 64) -> Tensor:
    """(n_windows, n_ctx, d) activations at `hook` for token windows (n_windows, n_ctx)."""
    out = []
    for chunk in tokens.split(batch_size):
        _, cache = model.run_with_cache(chunk, names_filter=hook)
        out.append(cache[hook])
    return torch.cat(out)


class ActivationStore:
    def __init__(self, model: TinyLM, data: TokenData, hook: str, batch_size: int = 1024,
                 buffer_contexts: int = 256, contexts_per_run: int = 32, seed: int = 0, skip_first: int = 1):
        self.model, self.data, self.hook = model, data, hook
        self.batch_size, self.buffer_contexts, self.contexts_per_run = batch_size, buffer_contexts, contexts_per_run
        self.skip_first = skip_first  # positions at the start of a window see almost no context: leave them out
        self.gen = torch.Generator().manual_seed(seed)

    def __repr__(self) -> str:
        return f"ActivationStore({self.hook}, {self.data!r}, batches of {self.batch_size})"

    def _fill(self, n_contexts: int) -> Tensor:
        chunks = []
        for _ in range(0, n_contexts, self.contexts_per_run):
            windows = self.data.windows(self.contexts_per_run, self.model.cfg.n_ctx, self.gen)
            acts = activations(self.model, windows, self.hook)[:, self.skip_first:]
            chunks.append(acts.reshape(-1, acts.shape[-1]))
        return torch.cat(chunks)

    def __iter__(self) -> Iterator[Tensor]:
        buffer = self._fill(self.buffer_contexts)
        while True:
            buffer = buffer[torch.randperm(len(buffer), generator=self.gen)]
            half = len(buffer) // 2
            for i in range(0, half - self.batch_size + 1, self.batch_size):
                yield buffer[i:i + self.batch_size]
            buffer = torch.cat([buffer[half:], self._fill(self.buffer_contexts // 2)])
