"""A tiny tokenizer, LM and SAE for the SAE tests (random weights: the tests check bookkeeping, not quality)."""

import pytest
import torch

from course.lm.corpus import read_texts, stdlib_files
from course.lm.model import LMConfig, TinyLM
from course.lm.tokenizer import train_tokenizer
from course.sae import SAE, SAEConfig


@pytest.fixture(scope="session")
def tiny():
    """(tokenizer with 300 tokens, 1-layer LM with n_ctx 32 and d_mlp 32, TopK SAE 32 -> 64 with k 4)."""
    torch.manual_seed(0)
    tok = train_tokenizer(read_texts(stdlib_files()[:20]), vocab_size=300)
    model = TinyLM(LMConfig(d_vocab=300, n_ctx=32, d_model=16, n_heads=2, d_head=8, d_mlp=32)).eval()
    sae = SAE(SAEConfig(d_in=32, d_sae=64, architecture="topk", k=4)).eval()
    return tok, model, sae
