"""Rule-based explanations and detection scoring (Paulo et al. 2024), against hand-counted oracles."""

from __future__ import annotations

import pytest
import torch

from course.sae.autointerp import (Explanation, contexts, detection_scores, explain_by_label, explain_by_tokens,
                                   rule_mask, score_explanation)


def test_detection_scores_by_hand():
    # 6 contexts of 3 tokens. Activating: 0 (peak 1.0), 1 (0.2), 2 (0.6); quiet: 3, 4, 5
    acts = torch.tensor([[0, 1.0, 0], [0.2, 0, 0], [0, 0, 0.6], [0, 0, 0], [0, 0, 0], [0, 0, 0]])
    rule = torch.tensor([[1, 0, 0], [0, 0, 0], [0, 0, 1], [0, 1, 0], [0, 0, 0], [0, 0, 0]], dtype=torch.bool)
    s = detection_scores(rule, acts, n_bins=2)  # slices (0, 0.5] and (0.5, 1]: context 1 | contexts 0, 2
    assert s["recall_by_bin"].tolist() == [0.0, 1.0]
    assert s["recall"] == pytest.approx(2 / 3) and s["false_positive_rate"] == pytest.approx(1 / 3)
    assert s["balanced_accuracy"] == pytest.approx((2 / 3 + 2 / 3) / 2)


def test_a_rule_that_always_fires_scores_one_half():
    acts = torch.rand(50, 8) * (torch.rand(50, 8) < 0.1)
    s = detection_scores(torch.ones(50, 8, dtype=torch.bool), acts)
    assert s["balanced_accuracy"] == pytest.approx(0.5) and s["false_positive_rate"] == 1.0


def test_bins_are_equal_slices_of_the_range_weakest_first():
    peaks = torch.tensor([0.1, 0.3, 0.5, 0.7, 0.9, 1.0])
    acts = torch.zeros(6, 2)
    acts[:, 0] = peaks
    rule = torch.zeros(6, 2, dtype=torch.bool)
    rule[4:, 1] = True  # catches only the two strongest
    s = detection_scores(rule, acts, n_bins=5)  # slices of width 0.2: 0.1 | 0.3 | 0.5 | 0.7 | 0.9, 1.0
    assert s["recall_by_bin"].tolist() == [0, 0, 0, 0, 1]


def test_explainers_find_the_planted_rule():
    g = torch.Generator().manual_seed(0)
    tokens = torch.randint(0, 50, (40, 32), generator=g)
    labels = torch.rand(40, 32, 3, generator=g) < 0.2
    acts = ((tokens == 7) | (tokens == 9)).float() * (1 + torch.rand(40, 32, generator=g))
    by_tokens = explain_by_tokens(acts, tokens, n_top=40)
    assert sorted(by_tokens.tokens) == [7, 9] and by_tokens.coverage == 1.0
    labels[..., 1] = acts > 0
    by_label = explain_by_label(acts, labels, ["a", "b", "c"])
    assert by_label.label == "b" and by_label.coverage == 1.0
    assert torch.equal(rule_mask(by_label, tokens, labels, ["a", "b", "c"]), acts > 0)
    assert torch.equal(rule_mask(by_tokens, tokens), acts > 0)
    s = score_explanation(by_tokens, acts, tokens, length=8)
    assert s["balanced_accuracy"] == 1.0


def test_contexts_cut_windows():
    x = torch.arange(2 * 10).view(2, 10)
    assert contexts(x, 4).tolist() == [[0, 1, 2, 3], [4, 5, 6, 7], [10, 11, 12, 13], [14, 15, 16, 17]]


def test_a_dead_latent_explains_nothing():
    e = explain_by_tokens(torch.zeros(3, 4), torch.zeros(3, 4, dtype=torch.long))
    assert e.text == "never fires" and isinstance(e, Explanation)
    assert not rule_mask(explain_by_label(torch.zeros(3, 4), torch.ones(3, 4, 2, dtype=torch.bool), ["a", "b"]),
                         torch.zeros(3, 4, dtype=torch.long)).any()
