"""A small byte-level BPE tokenizer, trained on the corpus with the `tokenizers` library and shipped.

Byte-level (as GPT-2's): any text encodes, nothing is ever unknown. `<|endoftext|>` separates documents.
The shipped tokenizer sits beside its model as course/checkpoints/<name>.tokenizer (JSON), and the model's
registry entry records its sha256, so a model is never paired with a tokenizer it wasn't trained with.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

EOT = "<|endoftext|>"


def train_tokenizer(texts: Iterable[str], vocab_size: int = 4096):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[EOT], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(texts, trainer=trainer)
    return tok


def load_tokenizer(path: Path):
    """A tokenizer from its JSON file (for a shipped model, `registry.entry(NAME).file("tokenizer")`, which
    checks the file's sha256 first)."""
    from tokenizers import Tokenizer

    return Tokenizer.from_file(str(path))


def tokenizer_bytes(tok) -> bytes:
    return tok.to_str().encode()


def token_strings(tok) -> list[str]:
    """Each token id's text, decoded (byte-level pieces shown as the characters they stand for)."""
    return [tok.decode([i]) for i in range(tok.get_vocab_size())]
