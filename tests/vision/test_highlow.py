"""course.vision.highlow on made-up weights: the halves of a kernel, the side score's sign and its flip under a
180-degree turn, rows/spatial maps round trip, and a planted HF-left / LF-right family that the factorisation
must recover (HF on the fine side for every unit)."""

from __future__ import annotations

import torch

from course.vision import highlow as hl


def test_halves_and_side_score():
    into, away = hl.halves(4, 0.0)  # orientation 0 points to +x: the right half
    assert into[:, 2:].all() and not into[:, :2].any() and away[:, :2].all()
    up, _ = hl.halves(4, 90.0)  # 90 points up: the top rows (y down)
    assert up[:2].all() and not up[2:].any()
    m = torch.zeros(6, 6)
    m[:, 3:] = 1.0
    assert hl.side_score(m, 0.0) == 1.0 and hl.side_score(m, 180.0) == -1.0 and abs(hl.side_score(m, 90.0)) < 1e-6


def test_rows_and_spatial_maps_round_trip():
    k = torch.randn(5, 3, 3)
    r = hl.rows(k)
    assert r.shape == (18, 5) and (r >= 0).all()
    # one factor per channel (H = identity): the spatial maps are the kernel itself
    maps = hl.spatial_maps(r, 3)
    assert torch.allclose(maps, k)


def test_planted_family_is_recovered():
    """Channels 0-3 are 'HF', 4-7 'LF'; each unit puts HF on its fine side and LF on the other."""
    torch.manual_seed(0)
    K, C = 6, 8
    hf_dir = torch.cat([torch.rand(4) + 0.5, torch.zeros(4)])
    lf_dir = torch.cat([torch.zeros(4), torch.rand(4) + 0.5])
    units = []
    for i, ori in enumerate(range(0, 360, 30)):
        fine, coarse = hl.halves(K, float(ori))
        side = fine.float() - coarse.float()  # +1 fine, -1 coarse
        w = hf_dir[:, None, None] * side + lf_dir[:, None, None] * -side + 0.05 * torch.randn(C, K, K)
        units.append(("conv9", i, float(ori), w))
    from course.vision import nmf

    X = torch.cat([hl.rows(w.double()) for *_, w in units])
    f = nmf.nmf(X, k=2, iters=2000)
    hf = int(torch.argmax(f.H[:, :4].sum(1)))  # the factor on the HF channels
    lf = 1 - hf
    assert f.H[hf, 4:].sum() < 0.2 * f.H[hf, :4].sum() and f.H[lf, :4].sum() < 0.2 * f.H[lf, 4:].sum()
    start = 0
    for _, _, ori, w in units:
        n = 2 * K * K
        S = hl.spatial_maps(f.W[start:start + n], K).float()
        start += n
        assert hl.side_score(S[hf] - S[lf], ori) > 0
        assert hl.side_score(S[hf] - S[lf], ori + 180) < 0
