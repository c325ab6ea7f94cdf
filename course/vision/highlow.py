"""How the high-low family is built: expanded weights to an earlier layer, factorised into an HF and an LF factor.

Schubert et al. ("High-Low Frequency Detectors", Distill 2021) found that all fifteen of InceptionV1's mixed3a
high-low detectors draw on the *same* two groups of conv2d2 units, one that likes high-frequency texture and one
that likes low-frequency texture, placed on opposite sides: NMF of the weights gives an HF-factor and an
LF-factor. We do the same for scenenet:

1. For every high-low unit (the census's) of `layers`, take its expanded weights back to `base`
   (`course.vision.expanded`: ReLUs in between as the identity), (C_base, K, K); scale each unit's to unit norm
   so that every unit counts the same.
2. Split each into its excitatory and inhibitory parts and stack every (unit, sign, position) as a row: a
   non-negative matrix (rows, C_base). NMF with k = 2 gives H (2, C_base), two directions in base's channel
   space, and W, how much each position of each unit uses each (`course.vision.nmf`).
3. Measure what the factors respond to: H @ the base layer's texture tuning curves (C_base, F) gives each
   factor's frequency tuning; the factor with the higher preferred frequency is the HF-factor.
4. For each unit, its spatial map for each factor is the excitatory rows minus the inhibitory rows (K, K). The
   unit is "HF on the fine side" when HF - LF is larger on the half of the kernel its census orientation points
   into (the fine side of its preferred boundary) than on the other half (`side_score` > 0).

Turning a unit's orientation by 180 degrees flips the sign of its side score, so a unit whose factors ignore
its orientation passes step 4 half the time: a coin flip is the baseline.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from course.vision import expanded
from course.vision.frequency import SweepConfig, preferred_frequency, texture_sweep
from course.vision.nmf import NMFConfig, nmf


@dataclass(frozen=True)
class FactorConfig:
    base: str = "conv2"  # factorise the connections from this layer's channels
    layers: tuple[str, ...] = ("conv3", "conv4")  # the high-low units of these layers (conv5: see the lesson)
    k: int = 2  # factors
    iters: int = 1000  # multiplicative updates (the errors agree with 3,000 to 3 decimals for k <= 3)
    seed: int = 0  # NMF initialisation
    normalise: bool = True  # every unit's expanded weights scaled to unit norm


@dataclass
class UnitFactors:
    layer: str
    unit: int
    orientation: float  # the census's preferred boundary orientation: points into the fine side
    weights: torch.Tensor  # (C_base, K, K) expanded weights (as factorised: normalised if the config says so)
    spatial: torch.Tensor  # (k, K, K) signed spatial map of each factor (excitatory minus inhibitory)
    side: float  # side_score of HF - LF: > 0 when the HF-factor sits on the fine side

    def __repr__(self) -> str:
        return f"UnitFactors({self.layer}:{self.unit}, {self.orientation:.0f} deg, side score {self.side:+.3f})"


@dataclass
class HighLowFactors:
    config: FactorConfig
    H: torch.Tensor  # (k, C_base) channel factors, unit rows, non-negative
    hf: int  # which row of H is the HF-factor (the LF-factor is the other one when k = 2)
    lf: int
    tuning: torch.Tensor  # (k, F) each factor's response to uniform texture at `frequencies`
    frequencies: torch.Tensor  # (F,)
    preferred: torch.Tensor  # (k,) preferred frequency of each factor
    error: float  # relative reconstruction error ||X - WH|| / ||X|| of the joint factorisation
    units: list[UnitFactors]

    def __repr__(self) -> str:
        ok = sum(u.side > 0 for u in self.units)
        return (f"HighLowFactors({self.config.base} <- {'+'.join(self.config.layers)}: {len(self.units)} units, "
                f"k={self.H.shape[0]}, error {self.error:.3f}, HF prefers {self.preferred[self.hf]:.3f} and LF "
                f"{self.preferred[self.lf]:.3f} cycles/px, HF on the fine side for {ok})")

    def passing(self, layer: str | None = None) -> list[UnitFactors]:
        return [u for u in self.units if u.side > 0 and (layer is None or u.layer == layer)]


def halves(size: int, orientation: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(K, K) bool masks of a kernel's two halves: the one `orientation` points into (y down), and the other."""
    c = (size - 1) / 2
    ys, xs = torch.meshgrid(torch.arange(size) - c, torch.arange(size) - c, indexing="ij")
    t = math.radians(orientation)
    along = xs * math.cos(t) - ys * math.sin(t)
    return along > 0, along < 0


def side_score(spatial: torch.Tensor, orientation: float) -> float:
    """Mean of a (K, K) map over the half `orientation` points into, minus its mean over the other half."""
    into, away = halves(spatial.shape[-1], orientation)
    return float(spatial[into].mean() - spatial[away].mean())


def rows(kernel: torch.Tensor) -> torch.Tensor:
    """(C, K, K) signed -> (2 K K, C) non-negative: excitatory then inhibitory part, one row per position."""
    c = kernel.shape[0]
    return expanded.split_signs(kernel).permute(0, 2, 3, 1).reshape(-1, c)


def spatial_maps(W: torch.Tensor, size: int) -> torch.Tensor:
    """A unit's rows of W (2 K K, k) -> signed spatial maps (k, K, K): excitatory minus inhibitory."""
    w = W.reshape(2, size, size, -1)
    return (w[0] - w[1]).permute(2, 0, 1)


def factorise(model: nn.Module, record: dict, config: FactorConfig | None = None,
              sweep: SweepConfig | None = None) -> HighLowFactors:
    """Factorise the expanded weights of the census `record`'s high-low units in `config.layers` (see the top)."""
    cfg = config or FactorConfig()
    units, blocks = [], []
    for layer in cfg.layers:
        E = expanded.expanded_weights(model, cfg.base, layer, dtype=torch.float64)  # (C_layer, C_base, K, K)
        for d in record["layers"][layer]["high_low"]:
            e = E[d["unit"]]
            if cfg.normalise:
                e = e / e.norm().clamp_min(1e-30)
            units.append((layer, d["unit"], d["orientation"], e))
            blocks.append(rows(e))
    X = torch.cat(blocks)  # (rows, C_base)
    fit = nmf(X, NMFConfig(k=cfg.k, iters=cfg.iters, seed=cfg.seed))
    tex = texture_sweep(model, cfg.base, sweep)
    tuning = fit.H.float() @ tex.responses.mean(dim=2)  # (k, F)
    preferred = preferred_frequency(tuning, tex.axes["frequency"])
    hf = int(preferred.argmax())
    lf = int(preferred.argmin())
    out, start = [], 0
    for (layer, unit, orientation, e), block in zip(units, blocks):
        S = spatial_maps(fit.W[start:start + len(block)], e.shape[-1]).float()
        start += len(block)
        out.append(UnitFactors(layer, unit, orientation, e.float(), S, side_score(S[hf] - S[lf], orientation)))
    return HighLowFactors(cfg, fit.H.float(), hf, lf, tuning, tex.axes["frequency"], preferred, fit.error, out)


def project(model: nn.Module, layer: str, unit: int, factors: HighLowFactors, orientation: float | None = None
            ) -> UnitFactors:
    """Any unit's expanded weights to the factors' base layer, fitted onto the known factors (H fixed)."""
    cfg = factors.config
    e = expanded.expanded_weights(model, cfg.base, layer, dtype=torch.float64)[unit]
    if cfg.normalise:
        e = e / e.norm().clamp_min(1e-30)
    fit = nmf(rows(e), NMFConfig(iters=cfg.iters, seed=cfg.seed), H=factors.H.double())
    S = spatial_maps(fit.W, e.shape[-1]).float()
    side = side_score(S[factors.hf] - S[factors.lf], orientation) if orientation is not None else float("nan")
    return UnitFactors(layer, unit, float("nan") if orientation is None else orientation, e.float(), S, side)
