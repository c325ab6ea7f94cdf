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


@pytest.fixture(scope="session")
def shipped_features():
    """The census of the shipped pylm-sae with every latent's and neuron's firings kept (course.sae.features):
    computed once per test session (about a minute on 2 idle cores) for test_shipped.py and the lesson 07 figures.

    For local iteration only, COURSE_TEST_FEATURES=<folder> reuses a store cached there (`features.cached`);
    a cache is keyed by the models, not by the census code, so CI always builds it fresh."""
    import os

    from course.sae import features

    folder = os.environ.get("COURSE_TEST_FEATURES")
    if folder:
        old = os.environ.get("COURSE_CACHE")
        os.environ["COURSE_CACHE"] = folder
        try:
            return features.cached("pylm-sae")
        finally:
            os.environ.pop("COURSE_CACHE") if old is None else os.environ.__setitem__("COURSE_CACHE", old)
    return features.build("pylm-sae")
