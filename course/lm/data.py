"""Token streams from the corpus: tokenize once, then sample training windows.

`TokenData` holds one split as a flat int32 tensor of token ids (documents joined by `<|endoftext|>`) and
hands out random windows of `n_ctx` tokens, or fixed, non-overlapping ones for evaluation. Tokenizing the
standard library (about 8.5M tokens) takes half a minute; the result is cached per tokenizer and split in
memory for the process.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from course.lm.corpus import read_texts, split_files
from course.lm.tokenizer import EOT


@dataclass
class TokenData:
    tokens: Tensor  # (n,) int32 token ids
    split: str

    def __repr__(self) -> str:
        return f"TokenData({self.split}, {len(self.tokens) / 1e6:.2f}M tokens)"

    def windows(self, batch_size: int, n_ctx: int, generator: torch.Generator | None = None) -> Tensor:
        """(batch_size, n_ctx) long: random windows."""
        starts = torch.randint(0, len(self.tokens) - n_ctx, (batch_size,), generator=generator)
        return self.tokens[starts[:, None] + torch.arange(n_ctx)].long()

    def sequential(self, n_ctx: int, limit: int | None = None) -> Tensor:
        """(n_windows, n_ctx) long: consecutive, non-overlapping windows from the start (for evaluation)."""
        n = (len(self.tokens) // n_ctx) if limit is None else min(limit, len(self.tokens) // n_ctx)
        return self.tokens[: n * n_ctx].view(n, n_ctx).long()


def encode_texts(tokenizer, texts: list[str]) -> Tensor:
    eot = tokenizer.token_to_id(EOT)
    ids: list[int] = []
    for enc in tokenizer.encode_batch(texts):
        ids.extend(enc.ids)
        ids.append(eot)
    return torch.tensor(ids, dtype=torch.int32)


_CACHE: dict[tuple[str, str], TokenData] = {}


def token_data(tokenizer, split: str = "train", key: str | None = None) -> TokenData:
    """The split tokenized with `tokenizer` (cached for the process under `key`, e.g. the tokenizer's sha256)."""
    if key is not None and (key, split) in _CACHE:
        return _CACHE[(key, split)]
    data = TokenData(encode_texts(tokenizer, list(read_texts(split_files(split)))), split)
    if key is not None:
        _CACHE[(key, split)] = data
    return data
