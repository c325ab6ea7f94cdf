"""The paper's results, reproduced on our models: these are the claims lesson 05 makes.

Each experiment trains in well under a minute on 2 CPU cores with a fixed seed (see course.superposition.
experiments). Where one seed can land in a local minimum, the experiment trains several instances and the test
asserts what holds across them.
"""

from __future__ import annotations

import pytest
import torch

from course.superposition import analysis as A
from course.superposition import experiments as X
from course.superposition.phase import phase_diagram


@pytest.fixture(scope="module")
def five_two():
    return X.five_two()


@pytest.fixture(scope="module")
def twenty_five():
    return X.twenty_five()


def test_five_two_dense_keeps_the_two_most_important(five_two):
    norms = A.feature_norms(five_two.model.W)[five_two.feature_probability == 1]
    assert ((norms[:, :2] - 1).abs() < 0.1).all(), norms
    assert (norms[:, 2:] < 0.1).all(), norms


def test_five_two_sparse_makes_a_pentagon(five_two):
    sparse = five_two.feature_probability < 0.05
    W = five_two.model.W[sparse]
    assert A.represented(W).all(), A.feature_norms(W)  # all five features, in every instance
    gaps = torch.tensor(A.angular_gaps(W))
    assert ((gaps - 72).abs() < 6).all(), gaps  # neighbours about 72 degrees apart


def test_twenty_five_dense_is_the_top_five(twenty_five):
    dense = twenty_five.feature_probability == 1
    W, b = twenty_five.model.W[dense], twenty_five.model.b_final.detach()[dense]
    rep = A.represented(W)
    assert rep[:, :5].all() and not rep[:, 5:].any()
    assert ((W**2).sum(dim=(1, 2)) - 5).abs().max() < 0.1  # ||W||_F^2 = 5: five orthogonal unit directions
    assert ((b[:, 5:] - 0.5).abs() < 0.05).all()  # a dropped feature is predicted by its mean, E[x_i] = 0.5


def test_twenty_five_more_features_as_sparsity_grows(twenty_five):
    counts = A.represented(twenty_five.model.W).sum(dim=1).float()
    per_p = counts.reshape(len(X.TWENTY_FIVE_P), -1).mean(dim=1)  # averaged over restarts
    assert per_p[0] == 5
    assert (per_p[1:] >= per_p[:-1]).all(), per_p  # never fewer as features get sparser
    assert per_p[-1] >= 10, per_p
    rep = A.represented(twenty_five.model.W)
    assert rep[:, :5].all()  # the most important five always make it
    sparsest = twenty_five.feature_probability == X.TWENTY_FIVE_P[-1]
    b = twenty_five.model.b_final.detach()[sparsest]
    assert b[rep[sparsest]].mean() < 0  # negative biases filter the interference


def test_linear_model_never_exceeds_its_dimensions():
    e = X.linear_baseline()
    assert (A.represented(e.model.W).sum(dim=1) <= 5).all(), A.feature_norms(e.model.W)


@pytest.mark.slow  # ~1 min: a 2-D sweep of trainings (the app's phase diagram is tested small in test_app_superposition)
def test_phase_diagram_regions():
    pd = phase_diagram()
    assert pd.at(0.1, 1.0) == "not represented" and pd.at(0.3, 1.0) == "not represented"
    assert pd.at(3.0, 1.0) == "dedicated dimension" and pd.at(10.0, 1.0) == "dedicated dimension"
    for r in (0.1, 0.3, 1.0, 3.0):
        assert pd.at(r, 0.01) == "superposition" and pd.at(r, 0.03) == "superposition", (r, pd)
    # the superposition region is where features are sparse: at each importance, density only leaves it
    sup = pd.phase == 2
    for row in sup:
        first_dense = int(torch.nonzero(~row)[0]) if (~row).any() else len(row)
        assert not row[first_dense:].any(), pd.phase


@pytest.mark.slow  # ~35 s of training
def test_dimensionality_sticks_at_the_papers_fractions():
    e = X.sticky()
    share = A.sticky_share(e.model.W, tolerance=0.05)
    assert share["share"] >= 0.8, share
    assert {"1/2", "2/5", "3/8"} <= {k for k, v in share["counts"].items() if v >= 10}, share
    d_star = A.dimensions_per_feature(e.model.W)
    assert (d_star[1:] <= d_star[:-1] + 0.02).all()  # D* falls as sparsity rises
